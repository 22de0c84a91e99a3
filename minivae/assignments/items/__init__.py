"""What each graded item runs: its inputs, the functions under test on them, and for a gradient
check, the forward at the points the grader picks.

A ``Task`` has

* ``inputs(rng)``: random float64 inputs from a fixed seed (made by the grader);
* ``run(inputs)``: calls the functions under test and returns named arrays (forward values,
  gradients). The grader runs it with its own minivae, the solution, for the reference
  values; the child process runs it with the student's;
* for a gradient check, ``forward(inputs)``: the outputs ``o`` the gradients are of (the loss is
  sum_o <d{o}, o>, the upstream gradient ``d{o}`` being an input), and ``wrt``: the inputs
  checked, ``run`` returning ``d{name}`` for each. The child evaluates ``forward`` at the points
  x +- h e_i the grader sends; the grader takes the differences;
* ``explain(inputs, outputs)``: optional, run by the grader on the returned arrays alone: a
  precise message for a known mistake (a padded step that changed the state).

The functions under test are reached through ``minivae`` inside the functions, so the same
code means the solution in the grader and the student's code in the child. Judging is not
here: it is ``minivae.assignments.judge``, run by the grader.

This package imports only NumPy and itself (relative imports): the grader copies it next to
the child process's script, which imports it under another name.
"""

from __future__ import annotations

import importlib
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class WrongResult(Exception):
    """A function under test returned something that does not fit (a wrong count of values)."""


@dataclass(frozen=True)
class Task:
    inputs: Callable[[np.random.Generator], dict]
    run: Callable[[dict], dict]
    forward: Callable[[dict], dict] | None = None  # gradient check: the outputs differentiated
    wrt: tuple[str, ...] = ()  # gradient check: the inputs whose gradients run() returns
    explain: Callable[[dict, dict], str | None] | None = None
    tol: float = 1e-6  # relative error allowed (against the reference and finite differences)


def load_task(ref: str) -> Task:
    """``"lstm:step_forward"`` -> the ``Task`` named step_forward in this package's lstm.py."""
    module, _, name = ref.partition(":")
    task = getattr(importlib.import_module(f"{__name__}.{module}"), name, None)
    if not isinstance(task, Task):
        raise LookupError(f"no task {name!r} in {__name__}.{module}")
    return task


# --- the request the grader sends and the arrays the child returns (.npz, no pickles) ------


def make_request(task_ref: str, inputs: dict, points: dict) -> dict:
    """The arrays of a request: the task's name, its inputs, the points of a gradient check."""
    arrays = {"task": np.array(task_ref)}
    arrays.update({f"in.{k}": np.asarray(v) for k, v in inputs.items()})
    arrays.update({f"pt.{k}": np.asarray(v) for k, v in points.items()})
    return arrays


def parse_request(arrays: dict) -> tuple[str, dict, dict]:
    """-> (task_ref, inputs, points), the inverse of ``make_request``."""
    inputs = {k[3:]: v for k, v in arrays.items() if k.startswith("in.")}
    points = {k[3:]: v for k, v in arrays.items() if k.startswith("pt.")}
    return str(arrays["task"]), inputs, points


def evaluate(task: Task, inputs: dict, points: dict | None = None) -> dict:
    """Run the task: ``out.NAME`` for each array of ``run``; with points, ``fwd.o`` for each
    output ``o`` of the forward at the inputs, and for each input ``k`` with points,
    ``fd.k.o``: the forward's output ``o`` at every point, stacked.

    Every call gets fresh copies of the inputs, so a function that writes into its arguments
    changes nothing for the next call.
    """
    arrays = {f"out.{k}": _float64(k, v) for k, v in task.run(_copies(inputs)).items()}
    if points:
        forward = task.forward(_copies(inputs))
        arrays.update({f"fwd.{k}": _float64(k, v) for k, v in forward.items()})
    for name, stack in (points or {}).items():
        for i, point in enumerate(stack):
            args = _copies(inputs)
            args[name] = np.array(point)
            for output, value in task.forward(args).items():
                value = _float64(output, value)
                key = f"fd.{name}.{output}"
                if key not in arrays:
                    arrays[key] = np.empty((len(stack), *value.shape))
                if value.shape != arrays[key].shape[1:]:
                    raise WrongResult(f"{output} changes shape from one call to the next")
                arrays[key][i] = value
    return arrays


def _copies(inputs: dict) -> dict:
    return {k: np.array(v) for k, v in inputs.items()}


def _float64(name: str, value) -> np.ndarray:
    if value is None:
        raise WrongResult(f"{name} is None: is the function finished?")
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongResult(f"{name} is not an array of numbers ({type(value).__name__})") from None


def describe_error(error: BaseException, student_dir: str) -> str:
    """The message for the student when their code raised ``error``."""
    if isinstance(error, NotImplementedError):
        return f"not implemented yet ({error})"
    if isinstance(error, WrongResult):
        return str(error)
    where = _where(error, student_dir)
    if isinstance(error, MemoryError):
        return f"ran out of memory{where}"
    text = f"{type(error).__name__}: {error}".strip()
    return f"raised {text if len(text) <= 300 else text[:297] + '...'}{where}"


def _where(error: BaseException, student_dir: str) -> str:
    """' (at minivae/ops/lstm.py:42)': the innermost frame in the student's folder."""
    folder = os.path.realpath(student_dir) + os.sep
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if os.path.realpath(f.filename).startswith(folder)
    ]
    if not frames:
        return ""
    return f" (at {os.path.relpath(frames[-1].filename, folder)}:{frames[-1].lineno})"


# --- helpers for the tasks ------------------------------------------------------------------


def randn(rng, *shape, scale=1.0):
    return scale * rng.standard_normal(shape)


def prefix_mask(rng, N: int, T: int):
    """(N, T) bool mask of real tokens: row 0 full, row 1 a single token, the rest random."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0], lengths[1] = T, 1
    return np.arange(T)[None, :] < lengths[:, None]


def named(function: str, names: tuple[str, ...], result) -> dict:
    """Name the arrays a function returned; a wrong count is the student's mistake."""
    if len(names) == 1:
        result = (result,)
    if not isinstance(result, tuple) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, tuple) else type(result).__name__
        raise WrongResult(
            f"{function} must return {len(names)} values ({', '.join(names)}), got {got}"
        )
    return dict(zip(names, result))


def forward_cache(function: str, result, n_outputs: int):
    """Split (out_1, ..., out_n, cache) as returned by a forward."""
    if not isinstance(result, tuple) or len(result) != n_outputs + 1:
        raise WrongResult(f"{function} must return {n_outputs} output(s) and a cache")
    return result[:-1], result[-1]


def rnn_weights(rng, D: int, H: int, gates: int, biases: tuple[str, ...]) -> dict:
    """Wx (D, gH), Wh (H, gH) and one (gH,) bias per name, for a cell of ``gates`` gates."""
    weights = {"Wx": randn(rng, D, gates * H, scale=0.5), "Wh": randn(rng, H, gates * H, scale=0.5)}
    return {**weights, **{name: randn(rng, gates * H) for name in biases}}


def sequence_inputs(shape: tuple, weights, masked: bool, c0: bool = False):
    """-> inputs(rng) of a recurrent sequence: x (N, T, D), h0, ``weights(rng)``, with
    ``masked`` a padding mask (and with ``c0`` an initial cell state), and the upstream dh."""
    N, T, D, H = shape

    def inputs(rng):
        args = {"x": randn(rng, N, T, D), "h0": randn(rng, N, H), **weights(rng)}
        if masked:
            args["mask"] = prefix_mask(rng, N, T)
            if c0:
                args["c0"] = randn(rng, N, H)
        return {**args, "dh": randn(rng, N, T, H)}

    return inputs


def without(inputs: dict, *names: str) -> dict:
    """The inputs but ``names`` (the upstream gradients): a forward's arguments."""
    return {k: v for k, v in inputs.items() if k not in names}


def padding_carries_state(inputs: dict, outputs: dict) -> str | None:
    """h (N, T, H) and mask (N, T): a padded step must repeat the state before it."""
    h, mask = outputs["h"], inputs["mask"]
    for n, t in zip(*np.nonzero(~mask[:, 1:])):
        if not np.array_equal(h[n, t + 1], h[n, t]):
            return (
                f"h[{n}, {t + 1}] is a padded step (mask False) but differs from h[{n}, {t}]: "
                "a padded step must carry the state over unchanged"
            )
    return None


def zero_where_padded(name: str, values, mask) -> str | None:
    """``values`` (N, S, ...) must be exactly zero where ``mask`` (N, S) is False."""
    if np.any(np.asarray(values)[~np.asarray(mask)] != 0):
        return f"{name} is not exactly zero at padded positions (mask False)"
    return None

"""The code each graded item runs.

A ``Check`` has three parts:

* ``inputs(rng)``: random float64 inputs from a fixed seed (run by the grader);
* ``compute(inputs)``: calls the functions under test and returns named outputs. The
  grader runs it with its own minivae (the solution) to get the reference values, and
  the child process runs it again with the student's minivae;
* ``verify(inputs)``: optional checks that need no reference, run in the child:
  gradients against central finite differences of the student's own forward,
  masking properties. It raises ``CheckFailed`` with a message for the student.

Checks import ``minivae.ops`` inside their functions, so the same code means "the
solution" in the grader's process and "the student's code" in the child.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class CheckFailed(Exception):
    """A check's verdict, with the message shown to the student."""


@dataclass(frozen=True)
class Check:
    inputs: Callable[[np.random.Generator], dict]
    compute: Callable[[dict], dict]
    verify: Callable[[dict], None] | None = None
    tol: float = 1e-6  # relative error allowed against the reference values


def load_check(ref: str) -> Check:
    """``"lstm:step_forward"`` -> the ``Check`` named step_forward in checks/lstm.py."""
    module, _, name = ref.partition(":")
    check = getattr(importlib.import_module(f"{__name__}.{module}"), name, None)
    if not isinstance(check, Check):
        raise LookupError(f"no check {name!r} in {__name__}.{module}")
    return check


# --- helpers shared by the checks ---------------------------------------------------


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
        raise CheckFailed(
            f"{function} must return {len(names)} values ({', '.join(names)}), got {got}"
        )
    return dict(zip(names, result))


def forward_cache(function: str, result, n_outputs: int):
    """Split (out_1, ..., out_n, cache) as returned by a forward."""
    if not isinstance(result, tuple) or len(result) != n_outputs + 1:
        raise CheckFailed(f"{function} must return {n_outputs} output(s) and a cache")
    return result[:-1], result[-1]


def gradcheck(forward, backward, inputs: dict, wrt=None, name: str = "") -> None:
    """Finite differences of the student's forward against the student's backward."""
    from minivae.gradcheck import DEFAULT_TOL, check_op

    inputs = {k: np.array(v) for k, v in inputs.items()}
    try:
        rows = check_op(forward, backward, inputs, wrt=wrt, name=name, tol=DEFAULT_TOL)
    except ValueError as e:  # a wrong number or shape of gradients
        raise CheckFailed(str(e)) from None
    bad = [r for r in rows if not r.passed]
    if bad:
        worst = ", ".join(f"d{r.input} (rel error {r.error:.1e})" for r in bad)
        raise CheckFailed(f"{name}: gradients disagree with finite differences: {worst}")


def sequence_args(inputs: dict) -> dict:
    """A sequence check's inputs without the upstream gradient ``dh``: the forward's args."""
    return {k: v for k, v in inputs.items() if k != "dh"}


def check_padding_carries_state(h, mask) -> None:
    """h: (N, T, H) hidden states, mask: (N, T): a padded step must repeat the state before it."""
    h = np.asarray(h)
    for n, t in zip(*np.nonzero(~mask[:, 1:])):
        if not np.array_equal(h[n, t + 1], h[n, t]):
            raise CheckFailed(
                f"h[{n}, {t + 1}] is a padded step (mask False) but differs from h[{n}, {t}]: "
                "a padded step must carry the state over unchanged"
            )

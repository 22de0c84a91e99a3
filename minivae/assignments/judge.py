"""Judging one item: the arrays a child returned against the reference, and the student's
gradients against finite differences of the student's own forward.

Runs in the grader, never in a child (and in a student's notebook, to check their own work).
The child only evaluates the functions; every comparison, tolerance and difference is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from minivae.assignments.items import Task, evaluate
from minivae.gradcheck import gradient_error, rel_error

H = 1e-5  # the step of the central differences (float64)
MAX_FORWARD_CALLS = 2000  # points of a gradient check: small shapes keep grading fast


@dataclass(frozen=True)
class Reference:
    """The solution's arrays for an item: ``run``'s outputs and ``forward``'s, unperturbed."""

    outputs: dict
    forward: dict


def reference(task: Task, inputs: dict) -> Reference:
    """Run the task with the minivae imported here (the grader's: the solution)."""
    outputs = {k[4:]: v for k, v in evaluate(task, inputs).items()}
    forward = {}
    if task.wrt:
        forward = {
            k: np.asarray(v, dtype=np.float64) for k, v in task.forward(dict(inputs)).items()
        }
    return Reference(outputs, forward)


def gradient_points(task: Task, inputs: dict) -> dict:
    """For each input x checked: (2n, *x.shape), x + h e_i for i < n, then x - h e_i."""
    points = {}
    for name in task.wrt:
        x = np.asarray(inputs[name], dtype=np.float64)
        steps = H * np.eye(x.size).reshape(x.size, *x.shape)
        points[name] = np.concatenate([x + steps, x - steps])
    calls = sum(len(p) for p in points.values())
    if calls > MAX_FORWARD_CALLS:
        raise ValueError(f"a gradient check of {calls} forward calls: make the inputs smaller")
    return points


def expected_arrays(task: Task, inputs: dict, ref: Reference) -> dict:
    """name -> shape of every array the child must return."""
    shapes = {f"out.{k}": v.shape for k, v in ref.outputs.items()}
    if task.wrt:
        shapes.update({f"fwd.{o}": v.shape for o, v in ref.forward.items()})
    for name in task.wrt:
        n = 2 * np.size(inputs[name])
        shapes.update({f"fd.{name}.{o}": (n, *v.shape) for o, v in ref.forward.items()})
    return shapes


def check_arrays(arrays: dict, expected: dict) -> str | None:
    """Names, shapes, dtypes and finiteness of the returned arrays: a message, or None."""
    for name, shape in expected.items():
        label = name.split(".")[-1]
        value = arrays.get(name)
        if value is None:
            return f"{label} is missing from what the functions returned"
        if value.dtype != np.float64:
            return f"{label} has dtype {value.dtype}, expected float64"
        if value.shape != tuple(shape):
            return f"{label} has shape {value.shape}, expected {tuple(shape)}"
        if not np.all(np.isfinite(value)):
            return f"{label} has non-finite values"
    unexpected = sorted(set(arrays) - set(expected))
    if unexpected:
        return f"unexpected arrays were returned: {', '.join(unexpected)[:200]}"
    return None


class Verdict(NamedTuple):
    problem: str | None  # None: the item passes; else the message for the student
    reference_error: float = float("nan")  # largest relative error against the reference
    gradient_error: float = float("nan")  # ... and against finite differences (gradients)

    def summary(self) -> str:
        """'max rel error 2e-16 against the reference, 3e-09 against finite differences'"""
        text = f"max rel error {self.reference_error:.0e} against the reference"
        if self.gradient_error == self.gradient_error:  # not nan: a gradient check
            text += f", {self.gradient_error:.0e} against finite differences"
        return text


def judge(task: Task, inputs: dict, ref: Reference, arrays: dict) -> Verdict:
    """Judge what a child returned for ``task`` on ``inputs``.

    ``arrays``: ``out.NAME`` and ``fd.INPUT.OUTPUT``, already read as plain arrays; nothing in
    them is trusted. Checked in this order: names, shapes, dtypes, finite values; the task's
    own explanation of known mistakes; for a gradient check, the forward's values against the
    reference, then the gradients against finite differences of the student's forward; every
    output against the reference values.
    """
    problem = check_arrays(arrays, expected_arrays(task, inputs, ref))
    if problem:
        return Verdict(problem)
    outputs = {k[4:]: v for k, v in arrays.items() if k.startswith("out.")}
    if task.explain is not None:
        problem = task.explain(inputs, outputs)
        if problem:
            return Verdict(problem)
    worst = 0.0
    for name, want in ref.forward.items():
        error = rel_error(arrays[f"fwd.{name}"], want)
        worst = max(worst, error)
        if not error <= task.tol:
            problem = f"{name}, from your forward, differs from the reference values"
            return Verdict(f"{problem} (max rel error {error:.1e})")
    worst_gradient = float("nan") if not task.wrt else 0.0
    for name in task.wrt:
        numeric = finite_differences(inputs, ref, arrays, name)
        error = gradient_error(numeric, outputs["d" + name].reshape(-1))
        worst_gradient = max(worst_gradient, error)
        if not error <= task.tol:
            problem = f"d{name} disagrees with finite differences of your forward"
            return Verdict(f"{problem} (max rel error {error:.1e})")
    for name, want in ref.outputs.items():
        error = rel_error(outputs[name], want)
        worst = max(worst, error)
        if not error <= task.tol:
            problem = f"{name} differs from the reference values"
            return Verdict(f"{problem} (max rel error {error:.1e})")
    return Verdict(None, worst, worst_gradient)


def finite_differences(inputs: dict, ref: Reference, arrays: dict, name: str) -> np.ndarray:
    """d/dx_i of sum_o <d{o}, o(x)> by central differences, from the forward at the points."""
    loss = 0.0
    for output in ref.forward:
        values = arrays[f"fd.{name}.{output}"]
        upstream = np.asarray(inputs["d" + output], dtype=np.float64)
        loss = loss + (values * upstream).reshape(len(values), -1).sum(axis=1)
    n = len(loss) // 2
    return (loss[:n] - loss[n:]) / (2 * H)

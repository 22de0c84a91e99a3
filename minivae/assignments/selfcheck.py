"""The check cells of an assignment's notebook: your functions against stored values.

``check("lstm", "lstm_step forward values")`` runs that graded item's task in this process, with
your functions, on inputs stored in your copy (``selfcheck_NAME.npz``, from other seeds
than the grader's), and judges the result as the grader does: against the stored
reference values, and for a gradient, also against finite differences of your own
forward. It prints one line and returns whether the item passed; an unwritten function is
"not implemented yet", never a crash. The modules you edit are reloaded first, so a check
cell sees your latest code without restarting the notebook.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

import minivae
from minivae.assignments.items import describe_error, evaluate, load_task
from minivae.assignments.judge import Reference, gradient_points, judge
from minivae.assignments.make import self_check_name
from minivae.assignments.spec import get_assignment

COPY = Path(minivae.__file__).resolve().parent.parent  # the student's copy


def _stored(arrays: dict, index: int, prefix: str) -> dict:
    start = f"{index}.{prefix}."
    return {k[len(start) :]: v for k, v in arrays.items() if k.startswith(start)}


def check(assignment: str, item_name: str) -> bool:
    """Run the graded item ``item_name`` on the stored inputs; print how it went."""
    assignment = get_assignment(assignment)
    names = [item.name for item in assignment.items]
    if item_name not in names:
        raise ValueError(f"no item {item_name!r}; the items are: {', '.join(names)}")
    index = names.index(item_name)
    for module in sorted({blank.module for blank in assignment.blanks}):
        importlib.reload(importlib.import_module(module))
    with np.load(COPY / self_check_name(assignment), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    inputs = _stored(arrays, index, "in")
    ref = Reference(_stored(arrays, index, "out"), _stored(arrays, index, "fwd"))
    task = load_task(assignment.items[index].task)
    try:
        returned = evaluate(task, inputs, gradient_points(task, inputs))
    except Exception as e:  # noqa: BLE001 - whatever your code raised, said in one line
        message = describe_error(e, str(COPY))
        passed = False
    else:
        verdict = judge(task, inputs, ref, returned)
        passed = verdict.problem is None
        if passed:
            message = f"ok: {verdict.summary()} (the grader allows {task.tol:.0e})"
        else:
            message = f"FAIL: {verdict.problem} (the grader allows {task.tol:.0e})"
    print(f"{item_name}: {message}")
    return passed


def check_all(assignment: str) -> int:
    """Check every item of ``assignment``; print and return how many pass."""
    items = get_assignment(assignment).items
    passed = sum(check(assignment, item.name) for item in items)
    print(f"\n{passed} of {len(items)} items pass")
    return passed

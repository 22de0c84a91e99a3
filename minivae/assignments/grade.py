"""``minivae assignment grade``: run an assignment's checks against a student's copy.

The grader (this process) never runs student code. For each item, in the order of the
spec, it

1. computes the reference values with its own minivae, the solution, from the item's
   fixed seed, and saves inputs and outputs to an ``.npz``;
2. runs ``child.py`` in a fresh Python with ``PYTHONPATH=DIR`` (so ``import minivae``
   is the student's copy), a time limit and a memory limit;
3. reads the child's verdict from a JSON file and validates it strictly: anything
   else (a crash, a hang, an early exit, a wrong token) scores 0 for that item.

It prints a table and writes Gradescope's ``results.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import minivae
from minivae.assignments.checks import load_check
from minivae.assignments.make import MARKER
from minivae.assignments.spec import Assignment, Item, get_assignment

CHILD = Path(__file__).with_name("child.py")
DEFAULT_TIMEOUT = 60.0  # seconds per item
DEFAULT_MEMORY_MB = 2048  # address-space limit of each child


@dataclass(frozen=True)
class ItemResult:
    item: Item
    score: float
    message: str

    @property
    def passed(self) -> bool:
        return self.score == self.item.points


@dataclass(frozen=True)
class Report:
    assignment: Assignment
    results: list[ItemResult]

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.item.points for r in self.results)

    def table(self) -> str:
        rows = [(r.item.name, f"{r.score:g} / {r.item.points:g}", r.message) for r in self.results]
        rows.append(("total", f"{self.score:g} / {self.max_score:g}", ""))
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        lines = [f"{'item':<{w0}}  {'points':>{w1}}  message", "-" * (w0 + w1 + 12)]
        for i, (name, points, message) in enumerate(rows):
            if i == len(rows) - 1:
                lines.append("-" * (w0 + w1 + 12))
            lines.append(f"{name:<{w0}}  {points:>{w1}}  {message}".rstrip())
        return "\n".join(lines)

    def gradescope(self) -> dict:
        """Gradescope's autograder results format."""
        return {
            "score": self.score,
            "max_score": self.max_score,
            "tests": [
                {
                    "name": r.item.name,
                    "score": r.score,
                    "max_score": r.item.points,
                    "output": r.message,
                }
                for r in self.results
            ],
        }


def read_marker(student_dir: Path) -> Assignment:
    path = student_dir / MARKER
    try:
        name = json.loads(path.read_text())["assignment"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f"{path} is missing or unreadable ({e}): is {student_dir} a copy made by "
            "'minivae assignment make'?"
        ) from None
    return get_assignment(name)


def _inside(path: Path, folder: Path) -> bool:
    return folder == path or folder in path.parents


def write_reference(item: Item, path: Path) -> None:
    """The item's inputs (fixed seed) and the solution's outputs, as ``in.*`` / ``out.*``."""
    check = load_check(item.check)
    inputs = check.inputs(np.random.default_rng(item.seed))
    outputs = check.compute({k: np.array(v) for k, v in inputs.items()})
    arrays = {f"in.{k}": np.asarray(v) for k, v in inputs.items()}
    arrays.update({f"out.{k}": np.asarray(v) for k, v in outputs.items()})
    np.savez(path, **arrays)


def parse_verdict(path: Path, item: Item, token: str) -> tuple[bool, str]:
    """The child's verdict, validated strictly; any doubt is a failure with a reason."""
    try:
        text = path.read_text()
    except OSError:
        return False, None
    try:
        verdict = json.loads(text)
    except ValueError:
        return False, "the result file is not valid JSON"
    expected_keys = {"token", "item", "passed", "message"}
    if not isinstance(verdict, dict) or set(verdict) != expected_keys:
        return False, "the result file has the wrong fields"
    if verdict["token"] != token or verdict["item"] != item.name:
        return False, "the result file was not written by the grader's check"
    if not isinstance(verdict["passed"], bool) or not isinstance(verdict["message"], str):
        return False, "the result file has fields of the wrong type"
    return verdict["passed"], verdict["message"][:500]


def run_item(
    item: Item,
    student_dir: Path,
    workdir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> tuple[bool, str]:
    """Run one item in a child process; -> (passed, message)."""
    reference = workdir / "reference.npz"
    result = workdir / "result.json"
    write_reference(item, reference)
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(
        PYTHONPATH=str(student_dir),
        PYTHONDONTWRITEBYTECODE="1",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    args = [sys.executable, str(CHILD), item.name, item.check, str(reference), str(result)]
    args += [str(student_dir), str(memory_mb)]
    try:
        proc = subprocess.run(
            args,
            input=token + "\n",
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            cwd=workdir,
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:g} s (an endless loop?)"
    passed, message = parse_verdict(result, item, token)
    if message is None:  # no result file at all
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
        why = f"exited with code {proc.returncode} before the check finished"
        if proc.returncode < 0:
            why = f"was killed (signal {-proc.returncode})"
        return False, f"{why}{': ' + tail if tail else ''}"
    return passed, message


def grade(
    student_dir,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    only=None,
) -> Report:
    """Grade the copy in ``student_dir`` (whose ``.assignment.json`` names the assignment).

    ``only``: names of the items to grade (default all), e.g. to regrade one quickly.
    """
    student_dir = Path(student_dir).resolve()
    assignment = read_marker(student_dir)
    items = list(assignment.items)
    if only is not None:
        unknown = set(only) - {item.name for item in items}
        if unknown:
            raise ValueError(f"{assignment.name} has no item(s) {', '.join(sorted(unknown))}")
        items = [item for item in items if item.name in set(only)]
    solution = Path(minivae.__file__).resolve()
    if _inside(solution, student_dir):
        raise RuntimeError(
            f"the grader imported minivae from {solution}, inside the student's copy: run it "
            "from another folder, with the full minivae installed"
        )
    results: list[ItemResult] = []
    with tempfile.TemporaryDirectory(prefix="minivae-grade-") as tmp:
        for index, item in enumerate(items):
            workdir = Path(tmp) / str(index)
            workdir.mkdir()
            passed, message = run_item(item, student_dir, workdir, timeout, memory_mb)
            if not passed:
                failed = {r.item.name for r in results if not r.passed}
                before = [p for p in assignment.prerequisites(item) if p.name in failed]
                # Name only the latest: drop those that are prerequisites of another one.
                implied = {q.name for p in before for q in assignment.prerequisites(p)}
                latest = [p.name for p in before if p.name not in implied]
                if latest:
                    message += f" [builds on {' and '.join(latest)}, which failed: fix that first]"
            results.append(ItemResult(item, item.points if passed else 0.0, message))
    return Report(assignment, results)


def write_results(report: Report, path) -> None:
    Path(path).write_text(json.dumps(report.gradescope(), indent=2) + "\n")

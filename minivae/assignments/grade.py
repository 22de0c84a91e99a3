"""``minivae assignment grade``: grade a student's copy, item by item.

The grader (this process) never runs the student's code, and the student's code never
judges. For each item, in the order of the spec, the grader

1. makes the item's inputs from its fixed seed and computes the reference values with its
   own minivae, the solution, which it keeps to itself;
2. sends the inputs, and for a gradient check the points at which to evaluate the forward,
   to a child process (``sandbox``, ``child.py``) that runs the student's functions on them
   and returns plain arrays;
3. judges those arrays with its own code (``judge``): names, shapes, finite values, the
   reference values, and the student's gradients against finite differences it takes
   itself of the student's forward.

It prints a table and writes Gradescope's ``results.json``: atomically, and never through
a symlink. The assignment is named by the instructor, never read from the student's folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import minivae
from minivae.assignments import judge, sandbox
from minivae.assignments.items import load_task, make_request
from minivae.assignments.make import MARKER, module_file, package_root
from minivae.assignments.spec import ASSIGNMENTS, Assignment, Item, get_assignment

DEFAULT_TIMEOUT = 60.0  # seconds per item
DEFAULT_MEMORY_MB = 2048  # the child and all it starts (cgroup or confined), else each process
TIMEOUT_RANGE = (1.0, 3600.0)
# Python and NumPy alone take ~150 MB of address space; a confined child's processes share
# the limit (without a cgroup v2: sandbox.SANDBOX_PROCESSES of them, a quarter each).
MEMORY_RANGE = (1024, 1_048_576)
MARKER_BYTES = 64 * 1024  # .assignment.json is a few lines
UNCONFINED_WARNING = (
    "UNCONFINED GRADING: the students' code ran without the grader's sandbox (--unconfined): "
    "it could read and write whatever the grader's child user can, the solution included"
)


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
    warnings: list[str] = field(default_factory=list)
    sandbox: dict = field(default_factory=dict)  # how the children were confined and limited

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
        """Gradescope's autograder results format: the warnings in ``output`` (shown with the
        results), how the children ran in ``extra_data``."""
        return {
            "score": self.score,
            "max_score": self.max_score,
            "output": "\n".join(f"warning: {w}" for w in self.warnings),
            "extra_data": {"sandbox": self.sandbox},
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


def check_limits(timeout: float, memory_mb: int) -> None:
    """A time or memory limit outside sane bounds is the instructor's mistake: refuse it, rather
    than give every student 0."""
    low, high = TIMEOUT_RANGE
    if not (isinstance(timeout, int | float) and low <= timeout <= high):
        raise ValueError(f"--timeout must be between {low:g} and {high:g} seconds, got {timeout}")
    low, high = MEMORY_RANGE
    if not (isinstance(memory_mb, int) and low <= memory_mb <= high):
        raise ValueError(f"--memory-mb must be between {low} and {high}, got {memory_mb}")


def marker_warning(student_dir: Path, assignment: Assignment) -> str | None:
    """The copy's ``.assignment.json`` is the student's to edit: read only to warn, as any
    file of the student's (``sandbox.read_untrusted``: no link, no FIFO, bounded, with a
    timeout), and never quoted: only a known assignment's name is repeated."""
    try:
        data = sandbox.read_untrusted(student_dir / MARKER, MARKER_BYTES, timeout=5.0)
        named = json.loads(data)["assignment"]
    except (sandbox.ExchangeError, ValueError, KeyError, TypeError):
        return None  # nothing to compare with
    if named != assignment.name:
        known = isinstance(named, str) and named in ASSIGNMENTS
        which = f"assignment {named!r}" if known else "another assignment"
        return (
            f"{student_dir / MARKER} names {which}; graded as {assignment.name!r}, the "
            "assignment named on the command line"
        )
    return None


def _student_copy(student_dir) -> Path:
    student_dir = Path(student_dir).resolve()
    if not (student_dir / "minivae" / "__init__.py").is_file():
        raise ValueError(
            f"{student_dir} holds no minivae/: is it a copy made by 'minivae assignment make'?"
        )
    solution = Path(minivae.__file__).resolve()
    if student_dir == solution.parent.parent or student_dir in solution.parents:
        raise ValueError(
            f"the grader imported minivae from {solution}, inside the student's copy: run it "
            "from another folder, with the full minivae installed"
        )
    return student_dir


def grade(
    student_dir,
    assignment,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    only=None,
    python: str | None = None,
    user: str | None = None,
    unconfined: bool = False,
) -> Report:
    """Grade the copy in ``student_dir`` as ``assignment`` (a name or an ``Assignment``).

    ``only``: names of the items to grade (default all). ``python``: the interpreter of the
    children (default this one's base). ``user``: who the children run as when the grader is
    root (default nobody). ``unconfined``: run the children without the sandbox
    (``confine``), only where it cannot run; the report then carries a warning. Raises
    ValueError (``sandbox.SetupError`` included) for a mistake
    of the instructor's: an unknown assignment or item, bad limits, children that cannot run.
    """
    if isinstance(assignment, str):
        assignment = get_assignment(assignment)
    check_limits(timeout, memory_mb)
    student_dir = _student_copy(student_dir)
    items = list(assignment.items)
    if only is not None:
        unknown = set(only) - {item.name for item in items}
        if unknown:
            raise ValueError(f"{assignment.name} has no item(s) {', '.join(sorted(unknown))}")
        items = [item for item in items if item.name in set(only)]
    warnings = [w for w in [marker_warning(student_dir, assignment)] if w]
    child_user = sandbox.child_user(user)
    results: list[ItemResult] = []
    with tempfile.TemporaryDirectory(prefix="minivae-grade-") as tmp:
        box = sandbox.Sandbox(
            Path(tmp),
            python or sandbox.default_python(),
            child_user,
            timeout,
            memory_mb,
            confined=not unconfined,
        )
        warnings += _probe(box, student_dir, assignment)
        if unconfined:
            warnings.insert(0, UNCONFINED_WARNING)
        for item in items:
            problem = grade_item(box, item, student_dir)
            if problem is None:
                results.append(ItemResult(item, item.points, "ok"))
            else:
                message = (problem or "failed") + _builds_on(assignment, item, results)
                results.append(ItemResult(item, 0.0, message))
    sandbox_facts = {
        "confined": box.confined,
        "mechanism": "bubblewrap: user, mount, pid, network, IPC and UTS namespaces"
        if box.confined
        else "none (--unconfined): a child process"
        + (" as another user" if child_user else " as the grader's own user"),
        # which limits: cgroup v2 (counted together) or rlimits with a process count
        "cgroup_v2": f"used ({box.limits.cgroup.folder})"
        if box.limits.cgroup
        else f"not used: {box.limits.no_cgroup}",
        "limits": box.limits.describe(),
    }
    return Report(assignment, results, warnings, sandbox_facts)


def _probe(box: sandbox.Sandbox, student_dir: Path, assignment: Assignment) -> list[str]:
    """Check that children can run and read the student's copy, and that they cannot read
    the solution: confined, a solution in view is a broken sandbox (refused); unconfined
    as another user, a warning; unconfined as the grader's own user, they always can."""
    student = [student_dir / "minivae" / "__init__.py"]
    student += [
        p for p in (module_file(student_dir, b.module) for b in assignment.blanks) if p.exists()
    ]
    solution = [str(module_file(package_root(), b.module)) for b in assignment.blanks]
    paths = [box.inside(p, student_dir) for p in student] + solution
    readable = list(box.probe(paths, student_dir)["readable"])
    if not all(readable[: len(student)]):
        raise sandbox.SetupError(
            f"the students' code runs as another user, who cannot read {student_dir}: make the "
            "copy readable to every user (it holds no solution)"
        )
    if any(readable[len(student) :]):
        if box.confined:
            raise sandbox.SetupError(
                f"the sandbox shows the solution in {package_root()} to the students' code: "
                "install the grader's minivae outside the Python runtime's own folders"
            )
        if box.user:
            return [
                f"the students' code can read the solution in {package_root()}: install the "
                "grader's minivae where only root can read it (see docs/assignments.md)"
            ]
    return []


def grade_item(box: sandbox.Sandbox, item: Item, student_dir: Path) -> str | None:
    """Run one item in a child and judge what it returned: None if it passed, else why not."""
    task = load_task(item.task)
    inputs = task.inputs(np.random.default_rng(item.seed))
    ref = judge.reference(task, inputs)
    points = judge.gradient_points(task, inputs)
    run = box.run(make_request(item.task, inputs, points), student_dir)
    problem = _problem(task, inputs, ref, run)
    if problem is not None and run.events:  # what the cgroup refused: likely why
        return f"{problem} [{run.events}]"
    return problem


def _problem(task, inputs, ref, run: sandbox.ChildRun) -> str | None:
    if run.arrays is None:
        return run.failure
    error = run.arrays.pop("error", None)
    if error is not None:
        if error.dtype.kind != "U" or error.ndim != 0:
            return "the child returned a malformed error"
        return sandbox.printable(str(error), 500)
    return judge.judge(task, inputs, ref, run.arrays).problem


def _builds_on(assignment: Assignment, item: Item, results: list[ItemResult]) -> str:
    """' [builds on X, which failed: fix that first]', naming the latest failed prerequisites."""
    failed = {r.item.name for r in results if not r.passed}
    before = [p for p in assignment.prerequisites(item) if p.name in failed]
    implied = {q.name for p in before for q in assignment.prerequisites(p)}
    latest = [p.name for p in before if p.name not in implied]
    return f" [builds on {' and '.join(latest)}, which failed: fix that first]" if latest else ""


def write_results(report: Report, path) -> None:
    """Write ``results.json`` atomically: a new file renamed over ``path``, so a symlink at
    ``path`` is replaced, never written through, and no reader sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(report.gradescope(), f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

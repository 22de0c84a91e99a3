"""Assignments: the library scores full marks, a blank copy 0, and every planted mistake
costs exactly the items that use the function it is in; the command line and its errors.
(Hostile submissions: test_assignment_hostile.py; the copies themselves:
test_assignment_copies.py.)"""

from __future__ import annotations

import ast
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from assignment_helpers import MISTAKES, cli, plant

from minivae.assignments.grade import grade
from minivae.assignments.make import blank_source, make_assignment, module_file
from minivae.assignments.spec import ASSIGNMENTS

ROOT = Path(__file__).resolve().parents[2]


def scores(report) -> dict[str, float]:
    return {r.item.name: r.score for r in report.results}


def test_every_item_has_a_planted_mistake():
    planted = {(m[0], m[1]) for m in MISTAKES}
    for a in ASSIGNMENTS.values():
        for item in a.items:
            assert (a.name, item.name) in planted, f"no planted mistake for {item.name}"


def test_items_list_every_function_they_reach():
    """uses of an item is closed under calls between the blanked functions (found with ast)."""
    for a in ASSIGNMENTS.values():
        blanked = {b.function for b in a.blanks}
        calls = {}
        for module in {b.module for b in a.blanks}:
            tree = ast.parse(module_file(ROOT, module).read_text())
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name in blanked:
                    calls[node.name] = {
                        c.func.id
                        for c in ast.walk(node)
                        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                    } & blanked
        for item in a.items:
            reached = {f for u in item.uses for f in calls[u]}
            assert reached <= set(item.uses), f"{item.name} also reaches {reached - set(item.uses)}"


def test_solution_full_marks_twice_and_blank_copy_zero(solutions, grader, readable_tmp):
    names = list(ASSIGNMENTS)
    blanks = [make_assignment(n, readable_tmp / n) for n in names]
    with ThreadPoolExecutor(2) as pool:
        full = list(pool.map(grader, [solutions[n] for n in names], names))
        again = list(pool.map(grader, [solutions[n] for n in names], names))
        zero = list(pool.map(grader, blanks, names))
    for name, first, second in zip(names, full, again):
        assert first.score == ASSIGNMENTS[name].max_score, first.table()
        assert [(r.score, r.message) for r in first.results] == [
            (r.score, r.message) for r in second.results
        ], "grading twice must give the same result"
    for report in zero:
        assert report.score == 0, report.table()
        assert all("not implemented" in r.message for r in report.results), report.table()
    # The README of the copy has the instructions and the points; the marker names it.
    readme = (blanks[0] / "README.md").read_text()
    assert "lstm_step backward gradcheck" in readme and "notebook_lstm.py" in readme
    assert json.loads((blanks[0] / ".assignment.json").read_text())["assignment"] == names[0]


def test_each_planted_mistake_costs_its_item_and_only_items_using_that_function(
    solutions, grader, readable_tmp
):
    copies = [
        plant(solutions[a], readable_tmp / f"m{i}", module, old, new)
        for i, (a, _, module, _, old, new) in enumerate(MISTAKES)
    ]
    # Graded: the target, and every item that must keep its points (to save time, not the
    # other items that use the function: those may fail too).
    graded = [
        [i.name for i in ASSIGNMENTS[a].items if i.name == target or function not in i.uses]
        for a, target, _, function, _, _ in MISTAKES
    ]
    names = [m[0] for m in MISTAKES]
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda c, n, g: grader(c, n, only=g), copies, names, graded))
    for (a, target, _, function, old, _), report in zip(MISTAKES, reports):
        got = scores(report)
        assert got[target] == 0, f"{old!r} was not caught by {target}:\n{report.table()}"
        for item in ASSIGNMENTS[a].items:
            if function not in item.uses:
                assert got[item.name] == item.points, f"{old!r} cost {item.name}\n{report.table()}"


def test_command_line_and_gradescope_json(solutions, grade_options, tmp_path):
    results = tmp_path / "results.json"
    python = grade_options
    proc = cli(
        "grade", str(solutions["gru"]), "--assignment", "gru", "--results", str(results), *python
    )
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stdout and "14 / 14" in proc.stdout
    data = json.loads(results.read_text())
    assert set(data) == {"score", "max_score", "tests", "output", "extra_data"}
    # No warning when confined (the solution out of view); unconfined, the results say so.
    assert ("UNCONFINED GRADING" in data["output"]) == ("--unconfined" in grade_options)
    # Which limits were used: cgroup v2, or rlimits with a process count (and why not v2).
    sandbox = data["extra_data"]["sandbox"]
    assert sandbox["cgroup_v2"].startswith(("used (", "not used: ")), sandbox
    assert sandbox["limits"].startswith("cgroup v2 (") == sandbox["cgroup_v2"].startswith("used")
    assert data["score"] == data["max_score"] == 14
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "output"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
    listing = cli("list")
    assert all(name in listing.stdout for name in ASSIGNMENTS)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--timeout", "-1"], "--timeout must be between"),
        (["--timeout", "0"], "--timeout must be between"),
        (["--timeout", "nan"], "--timeout must be between"),
        (["--timeout", "1e9"], "--timeout must be between"),
        (["--memory-mb", "1"], "--memory-mb must be between"),
        (["--memory-mb", "-5"], "--memory-mb must be between"),
        (["--item", "no such item"], "has no item"),
        (["--results", "/no/such/folder/results.json"], "no folder"),
        (["--results", "/tmp"], "is a folder"),
        (["--user", "no-such-user-here"], "user"),
    ],
)
def test_instructor_mistakes_are_clear_errors_with_exit_2_and_no_results(
    solutions, readable_tmp, args, message
):
    copy = shutil.copytree(solutions["vae_pieces"], readable_tmp / "copy")
    proc = cli("grade", str(copy), "--assignment", "vae_pieces", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("minivae assignment grade: error:"), proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (copy / "results.json").exists(), "a refused grading must not write results"


def test_the_assignment_must_be_named_and_exist(solutions):
    proc = cli("grade", str(solutions["gru"]))
    assert proc.returncode == 2 and "--assignment" in proc.stderr
    proc = cli("grade", str(solutions["gru"]), "--assignment", "nope")
    assert proc.returncode == 2 and "no assignment named 'nope'" in proc.stderr


def test_grading_refuses_a_folder_that_is_not_a_copy(tmp_path):
    with pytest.raises(ValueError, match="assignment make"):
        grade(tmp_path, "lstm")


def test_blank_source_keeps_signature_docstring_decorators_and_other_comments():
    source = (
        "import functools\n\n\n"
        "# a comment before\n"
        "@functools.lru_cache\n"
        "def f(x,\n      y=1):\n"
        '    """Add.\n\n    Hint: use +.\n    """\n'
        "    # the solution's own comment\n"
        "    return x + y  # trailing\n\n\n"
        "# a comment after\n"
        "def g(x):\n    return f(x)\n"
    )
    out = blank_source(source, "f", "f: your code here")
    assert "# a comment before" in out and "# a comment after" in out
    assert "@functools.lru_cache\ndef f(x,\n      y=1):\n" in out and "Hint: use +." in out
    assert "solution's own comment" not in out and "return x + y" not in out
    assert "    raise NotImplementedError('f: your code here')\n" in out
    assert blank_source(out, "g", "no").endswith("def g(x):\n    raise NotImplementedError('no')\n")
    with pytest.raises(LookupError):
        blank_source(source, "h", "no")

"""Assignments: the library scores full marks, a blank copy 0, and every planted mistake
costs exactly the items that use the function it is in; the grader survives hostile code."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from minivae.assignments.grade import grade
from minivae.assignments.make import blank_source, make_assignment, module_file
from minivae.assignments.spec import ASSIGNMENTS

ROOT = Path(__file__).resolve().parent.parent

# (assignment, item it targets, module, function, old text, new text): one mistake per item.
MISTAKES = [
    ("lstm", "lstm_pointwise forward values", "minivae.ops.lstm", "lstm_pointwise_forward",
     "next_c = f * prev_c + i * g", "next_c = prev_c + i * g"),  # forgot the forget gate
    ("lstm", "lstm_pointwise backward gradcheck", "minivae.ops.lstm", "lstm_pointwise_backward",
     "da[:, H : 2 * H] = dc * prev_c * f * (1.0 - f)", "da[:, H : 2 * H] = dc * f * (1.0 - f)"),
    ("lstm", "lstm_step forward values", "minivae.ops.lstm", "lstm_step_forward",
     "a = x @ Wx + prev_h @ Wh + b\n", "a = x @ Wx + prev_h @ Wh\n"),
    ("lstm", "lstm_step backward gradcheck", "minivae.ops.lstm", "lstm_step_backward",
     "prev_h.T @ da, da.sum(axis=0)", "prev_h.T @ da, da.mean(axis=0)"),
    ("lstm", "lstm_forward values", "minivae.ops.lstm", "lstm_forward",
     "a_all += b\n", "a_all += 0 * b\n"),
    ("lstm", "lstm_forward masking", "minivae.ops.lstm", "lstm_forward",
     "m = mask[:, t, None]\n            h[t + 1]",
     "m = mask[:, t - 1, None]\n            h[t + 1]"),
    ("lstm", "lstm_backward gradcheck", "minivae.ops.lstm", "lstm_backward",
     "dnext_h = dnext_h + dh[:, t]", "dnext_h = dh[:, t]"),
    ("lstm", "lstm_backward masking and c0", "minivae.ops.lstm", "lstm_backward",
     "xp.where(m, (Wh @ da[t].T).T, dnext_h)", "xp.where(m, (Wh @ da[t].T).T, 0.0 * dnext_h)"),
    ("vae_pieces", "reparameterize forward", "minivae.ops.reparameterize",
     "reparameterize_forward", "std = get_array_module(mu).exp(0.5 * logvar)",
     "std = 0.5 * logvar"),  # dropped the exp
    ("vae_pieces", "reparameterize backward", "minivae.ops.reparameterize",
     "reparameterize_backward", "0.5 * dz * eps * std", "dz * eps * std"),
    ("vae_pieces", "kl forward", "minivae.ops.gaussian_kl", "gaussian_kl_forward",
     "prior_logvar - logvar + (", "prior_logvar + logvar + ("),
    ("vae_pieces", "kl forward with prior", "minivae.ops.gaussian_kl", "gaussian_kl_forward",
     "xp.exp(-prior_logvar)", "xp.exp(prior_logvar)"),
    ("vae_pieces", "kl backward", "minivae.ops.gaussian_kl", "gaussian_kl_backward",
     "0.5 * (var * inv_prior_var - 1.0)", "0.5 * (1.0 - var * inv_prior_var)"),  # wrong sign
    ("vae_pieces", "kl backward with prior", "minivae.ops.gaussian_kl", "gaussian_kl_backward",
     "return dmu, dlogvar, -dmu,", "return dmu, dlogvar, dmu,"),
    ("vae_pieces", "cross-entropy forward", "minivae.ops.softmax_cross_entropy",
     "softmax_cross_entropy_forward", "loss = -(picked * weight).sum() / N",
     "loss = -(picked * weight).sum() / (N * T)"),
    ("vae_pieces", "cross-entropy backward", "minivae.ops.softmax_cross_entropy",
     "softmax_cross_entropy_backward", "scale = weight * (dloss / N)", "scale = weight * dloss"),
    ("vae_pieces", "cross-entropy masking", "minivae.ops.softmax_cross_entropy",
     "softmax_cross_entropy_forward", "if mask is None else mask.astype(logits.dtype)",
     "if mask is None else xp.ones((N, T), dtype=logits.dtype)"),
    ("gru", "gru_step forward values", "minivae.ops.gru", "gru_step_forward",
     "ah = prev_h @ Wh + bh", "ah = prev_h @ Wh"),
    ("gru", "gru_step backward gradcheck", "minivae.ops.gru", "gru_step_backward",
     "dprev_h = dprev_h + dah @ Wh.T", "dprev_h = dah @ Wh.T"),
    ("gru", "gru_forward values", "minivae.ops.gru", "gru_forward",
     "ah_all[:, t] = h @ Wh + bh", "ah_all[:, t] = h @ Wh"),
    ("gru", "gru_forward masking", "minivae.ops.gru", "gru_forward",
     "xp.where(mask[:, t, None], next_h, h)", "xp.where(mask[:, t - 1, None], next_h, h)"),
    ("gru", "gru_backward gradcheck", "minivae.ops.gru", "gru_backward",
     "dnext_h = dprev_h + dah @ Wh.T", "dnext_h = dprev_h"),
    ("gru", "gru_backward masking", "minivae.ops.gru", "gru_backward",
     "dprev_h = xp.where(m, dprev_h, dnext_h)", "dprev_h = xp.where(m, dprev_h, 0.0 * dnext_h)"),
]  # fmt: skip


@pytest.fixture(scope="module")
def solutions(tmp_path_factory):
    """One solution copy per assignment (made with --solution), to plant mistakes in."""
    base = tmp_path_factory.mktemp("solutions")
    return {name: make_assignment(name, base / name, solution=True) for name in ASSIGNMENTS}


def plant(solution: Path, out: Path, module: str, old: str, new: str) -> Path:
    """A copy of ``solution`` with ``old`` replaced by ``new`` (which must match exactly once)."""
    shutil.copytree(solution, out)
    path = module_file(out, module)
    source = path.read_text()
    assert source.count(old) == 1, f"planted mistake {old!r} matches {source.count(old)} times"
    path.write_text(source.replace(old, new))
    return out


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


def test_solution_full_marks_and_blank_copy_zero(solutions, tmp_path):
    names = list(ASSIGNMENTS)
    blanks = [make_assignment(n, tmp_path / n) for n in names]
    with ThreadPoolExecutor(4) as pool:
        full = list(pool.map(grade, [solutions[n] for n in names]))
        zero = list(pool.map(grade, blanks))
    for name, report in zip(names, full):
        assert report.score == ASSIGNMENTS[name].max_score, report.table()
    for report in zero:
        assert report.score == 0, report.table()
        assert all("not implemented" in r.message for r in report.results), report.table()
    # The README of the copy has the instructions and the points; the marker names it.
    readme = (blanks[0] / "README.md").read_text()
    assert "lstm_step backward gradcheck" in readme and "minivae assignment grade" in readme
    assert json.loads((blanks[0] / ".assignment.json").read_text())["assignment"] == names[0]


def test_each_planted_mistake_costs_its_item_and_only_items_using_that_function(
    solutions, tmp_path
):
    copies = [
        plant(solutions[a], tmp_path / f"m{i}", module, old, new)
        for i, (a, _, module, _, old, new) in enumerate(MISTAKES)
    ]
    # Graded: the target, and every item that must keep its points (to save time, not the
    # other items that use the function: those may fail too).
    graded = [
        [i.name for i in ASSIGNMENTS[a].items if i.name == target or function not in i.uses]
        for a, target, _, function, _, _ in MISTAKES
    ]
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda c, g: grade(c, only=g), copies, graded))
    for (a, target, _, function, old, _), report in zip(MISTAKES, reports):
        got = scores(report)
        assert got[target] == 0, f"{old!r} was not caught by {target}:\n{report.table()}"
        for item in ASSIGNMENTS[a].items:
            if function not in item.uses:
                assert got[item.name] == item.points, f"{old!r} cost {item.name}\n{report.table()}"
    # Grading is deterministic: the same copy twice gives the same scores and messages.
    again = grade(copies[1], only=graded[1])
    assert [(r.score, r.message) for r in again.results] == [
        (r.score, r.message) for r in reports[1].results
    ]


HOSTILE_GRADED = [
    "reparameterize forward",
    "reparameterize backward",
    "kl forward",
    "cross-entropy masking",
]
HOSTILE = {
    "hang": "while True:\n        pass",
    "exit": "import os\n    os._exit(0)",
    "forged verdict": 'import os, sys\n    print(\'{"passed": true, "message": "ok"}\')\n'
    "    sys.stdout.flush()\n    os._exit(0)",
    "garbage": "print('\\x00garbage' * 1000)\n    return 'garbage'",
    "sys.exit": "import sys\n    sys.exit(0)",
    "memory": "import numpy\n    return numpy.ones(10**11)",
}


def test_hostile_student_code_scores_zero_and_the_grader_finishes(solutions, tmp_path):
    """Each hostile body replaces reparameterize_forward; the other functions are correct."""
    copies = []
    for i, body in enumerate(HOSTILE.values()):
        out = shutil.copytree(solutions["vae_pieces"], tmp_path / f"h{i}")
        path = module_file(out, "minivae.ops.reparameterize")
        source = blank_source(path.read_text(), "reparameterize_forward", "x")
        path.write_text(source.replace("raise NotImplementedError('x')", body))
        copies.append(out)
    with ThreadPoolExecutor(3) as pool:
        reports = list(pool.map(lambda d: grade(d, 4.0, 1024, only=HOSTILE_GRADED), copies))
    for kind, report in zip(HOSTILE, reports):
        got = scores(report)
        assert got["reparameterize forward"] == 0, f"{kind}\n{report.table()}"
        assert got["reparameterize backward"] == 0, f"{kind}\n{report.table()}"
        assert got["kl forward"] == 1 and got["cross-entropy masking"] == 1, kind
    messages = {k: r.results[0].message for k, r in zip(HOSTILE, reports)}
    assert "timed out" in messages["hang"]
    assert "exited with code 0" in messages["exit"]
    assert "exited with code 0" in messages["forged verdict"]
    assert "SystemExit" in messages["sys.exit"]


def test_command_line_and_gradescope_json(solutions, tmp_path):
    results = tmp_path / "results.json"
    cmd = [sys.executable, "-m", "minivae", "assignment", "grade", str(solutions["gru"])]
    proc = subprocess.run(
        cmd + ["--results", str(results)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stdout and "14 / 14" in proc.stdout
    data = json.loads(results.read_text())
    assert set(data) == {"score", "max_score", "tests"}
    assert data["score"] == data["max_score"] == 14
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "output"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
    listing = subprocess.run(
        [sys.executable, "-m", "minivae", "assignment", "list"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert all(name in listing.stdout for name in ASSIGNMENTS)


def test_grading_refuses_a_folder_that_is_not_a_copy(tmp_path):
    with pytest.raises(ValueError, match="assignment make"):
        grade(tmp_path)


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

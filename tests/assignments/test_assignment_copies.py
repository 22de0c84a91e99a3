"""Student copies: no file holds the solution of a blanked function, the fused kernels are not
shipped (and the library runs without them), the notebooks' check cells pass on a solution
copy and say "not implemented" on a blank one, and ``minivae gradcheck`` runs in a copy."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minivae.assignments.make import (
    make_assignment,
    module_file,
    notebook_name,
    package_root,
    self_check_name,
)
from minivae.assignments.sandbox import site_folder
from minivae.assignments.spec import ASSIGNMENTS, Assignment

SOLUTION = package_root() / "minivae"


def _body(node: ast.FunctionDef) -> list[ast.stmt]:
    """The statements of a function, its docstring aside."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def _statements(nodes) -> set[str]:
    """ast.dump of every statement in ``nodes``, nested ones included (positions ignored)."""
    return {ast.dump(s) for node in nodes for s in ast.walk(node) if isinstance(s, ast.stmt)}


def solution_statements(assignment: Assignment) -> set[str]:
    """Every statement of the blanked functions' bodies that occurs nowhere else in the
    package: what a copy must not contain."""
    blanks = {(b.module, b.function) for b in assignment.blanks}
    blanked, elsewhere = set(), set()
    for path in SOLUTION.rglob("*.py"):
        module = ".".join(path.relative_to(SOLUTION.parent).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and (module, node.name) in blanks:
                blanked |= _statements(_body(node))
            else:
                elsewhere |= _statements([node])
    return blanked - elsewhere


def leaks(copy: Path, assignment: Assignment) -> list[str]:
    """Files of ``copy`` holding a statement of the solution (Python) or a line of it (text)."""
    secret = solution_statements(assignment)
    lines: set[str] = set()  # the same statements as source text, for the files not in Python
    for blank in assignment.blanks:
        tree = ast.parse(module_file(package_root(), blank.module).read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == blank.function:
                lines |= {ast.unparse(s) for s in _body(node) if ast.dump(s) in secret}
    found = []
    for path in sorted(p for p in copy.rglob("*") if p.is_file()):
        if path.suffix == ".py":
            if _statements([ast.parse(path.read_text())]) & secret:
                found.append(str(path.relative_to(copy)))
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                assert all(data[k].dtype.kind in "biuf" for k in data.files), path
        else:
            text = path.read_text()
            found += [
                str(path.relative_to(copy)) for line in lines if len(line) > 20 and line in text
            ]
    return found


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_no_file_of_a_student_copy_holds_the_solution_of_a_blanked_function(name, tmp_path):
    assignment = ASSIGNMENTS[name]
    blank = make_assignment(name, tmp_path / "blank")
    assert solution_statements(assignment), "nothing to look for: the test tests nothing"
    assert leaks(blank, assignment) == []
    assert not (blank / "kernels").exists(), "the fused kernels compute blanked functions"
    assert (blank / notebook_name(assignment)).is_file()
    assert (blank / self_check_name(assignment)).is_file()
    # The detector finds the solution where it is: in a --solution copy.
    solution = make_assignment(name, tmp_path / "solution", solution=True)
    files = {module_file(solution, b.module).relative_to(solution) for b in assignment.blanks}
    assert {str(f) for f in files} <= set(leaks(solution, assignment))


def _run_in_copy(copy: Path, code: str) -> subprocess.CompletedProcess:
    """Python code with the copy's minivae, NumPy and threadpoolctl (the command line's thread
    policy) alone: no site-packages (where a developer's own minivae and its kernels may be
    installed)."""
    import threadpoolctl

    extra = copy.parent / "extra-site"
    extra.mkdir(exist_ok=True)
    shutil.copy(threadpoolctl.__file__, extra)
    path = os.pathsep.join([str(copy), str(site_folder()), str(extra)])
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        cwd=copy,
        env=env,
        timeout=120,
    )


def test_a_student_copy_runs_the_array_code_and_refuses_the_fused_kernels(tmp_path):
    copy = make_assignment("lstm", tmp_path / "copy", solution=True)
    code = """
import numpy as np
from minivae.ops import fused, lstm, softmax_cross_entropy_forward, embedding_forward
from minivae.training.optim import Adam
assert not fused.kernels_installed()
rng = np.random.default_rng(0)
x, h, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
Wx, Wh, b = rng.standard_normal((4, 8)), rng.standard_normal((2, 8)), rng.standard_normal(8)
auto = lstm.lstm_step_forward(x, h, c, Wx, Wh, b)[0]
array = lstm.lstm_step_forward(x, h, c, Wx, Wh, b, kernel="array")[0]
assert np.array_equal(auto, array)
params, grads = {"p": np.ones(3)}, {"p": np.ones(3)}
Adam().step(params, grads)
logits, targets = rng.standard_normal((2, 3, 5)), np.zeros((2, 3), dtype=int)
softmax_cross_entropy_forward(logits, targets)
for call in (
    lambda: lstm.lstm_step_forward(x, h, c, Wx, Wh, b, kernel="fused"),
    lambda: softmax_cross_entropy_forward(logits, targets, kernel="fused"),
    lambda: embedding_forward(targets, logits[0], kernel="fused"),
):
    try:
        call()
    except RuntimeError as e:
        assert "the fused kernels are not installed" in str(e), e
    else:
        raise AssertionError("kernel='fused' ran without the kernels")
print("ok")
"""
    proc = _run_in_copy(copy, code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_gradcheck_in_a_blank_copy_reports_the_unwritten_functions(tmp_path):
    copy = make_assignment("lstm", tmp_path / "copy")
    proc = _run_in_copy(copy, "from minivae.cli import main; raise SystemExit(main(['gradcheck']))")
    assert proc.returncode == 1, proc.stderr
    rows = {line.split("  ")[0]: line for line in proc.stdout.splitlines()}
    for op in ("lstm_step", "lstm (masked, c0)", "model (lstm)", "cvae (sequence, lstm)"):
        assert "not implemented: " in rows[op], proc.stdout
    assert rows["affine"].rstrip().endswith("pass") and rows["model (gru)"].rstrip().endswith(
        "pass"
    )
    assert "Traceback" not in proc.stderr


nbclient = pytest.importorskip("nbclient", reason="the notebooks need the [test] extra")
jupytext = pytest.importorskip("jupytext", reason="the notebooks need the [test] extra")


def run_notebook(copy: Path, assignment: Assignment, monkeypatch) -> str:
    """Execute the copy's notebook with the copy's minivae; -> everything it printed."""
    notebook = jupytext.read(copy / notebook_name(assignment))
    monkeypatch.setenv("PYTHONPATH", str(copy))  # the kernel imports the copy's minivae
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(copy)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return "".join(o.get("text", "") for o in outputs)


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_the_notebook_passes_on_the_solution_and_says_not_implemented_on_a_blank_copy(
    name, tmp_path, monkeypatch
):
    assignment = ASSIGNMENTS[name]
    n = len(assignment.items)
    solution = make_assignment(name, tmp_path / "s", solution=True)
    solved = run_notebook(solution, assignment, monkeypatch)
    assert solved.count(": ok: max rel error") == 2 * n, solved  # each item's cell, then all
    assert "FAIL" not in solved and f"{n} of {n} items pass" in solved
    blank = run_notebook(make_assignment(name, tmp_path / "b"), assignment, monkeypatch)
    assert blank.count(": not implemented yet") == 2 * n, blank
    assert f"0 of {n} items pass" in blank

"""A student copy's own checks run the student's code, with what its README says to install.

Where the full minivae is installed (a course's Python, a developer's), its fused kernels
are importable from the copy too. They compute what some blanked functions compute (the
LSTM cell's kernel is ``lstm_pointwise_*``), so if the copy used them, its self-check
(``python -m minivae gradcheck --ops-only``, the notebook) would pass wrong code. The copy's
setup is its requirements.txt; with NumPy alone it still runs (no traceback).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from assignment_helpers import MISTAKES, only_modules, plant

from minivae.assignments.make import REQUIREMENTS, make_assignment, notebook_name, package_root
from minivae.assignments.spec import ASSIGNMENTS

ROOT = package_root()


def kernel_twins() -> set[str]:
    """Blanked functions that a fused kernel of ``kernels/`` also defines (the same name)."""
    defined = set()
    for path in (ROOT / "kernels").glob("*.py"):
        tree = ast.parse(path.read_text())
        defined |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    blanked = {b.function for a in ASSIGNMENTS.values() for b in a.blanks}
    return blanked & defined


TWIN_MISTAKES = [m for m in MISTAKES if m[3] in kernel_twins()]


def gradcheck_rows(copy: Path, env=None) -> tuple[int, dict[str, list[str]], str]:
    """The documented self-check, run from the copy with this test's own Python (where the
    full minivae and its kernels are installed) -> exit code, {op: [pass/FAIL per input]},
    stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "minivae", "gradcheck", "--ops-only"],
        capture_output=True,
        text=True,
        cwd=copy,
        env=env or {**os.environ, "PYTHONPATH": ""},
        timeout=300,
    )
    rows: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) >= 3 and parts[-1] in ("pass", "FAIL"):
            rows.setdefault(parts[0], []).append(parts[-1])
    return proc.returncode, rows, proc.stderr


def test_the_blanked_functions_with_a_kernel_twin_are_found():
    # The parametrized test below tests something: the LSTM cell has its fused twin.
    assert {"lstm_pointwise_forward", "lstm_pointwise_backward"} <= kernel_twins()
    assert {m[3] for m in TWIN_MISTAKES} == kernel_twins()


@pytest.mark.parametrize("mistake", TWIN_MISTAKES, ids=[m[1] for m in TWIN_MISTAKES])
def test_the_self_check_fails_a_planted_mistake_where_the_full_kernels_are_installed(
    mistake, tmp_path
):
    name, _, module, _, old, new = mistake
    solution = make_assignment(name, tmp_path / "solution", solution=True)
    copy = plant(solution, tmp_path / "planted", module, old, new)
    code, rows, stderr = gradcheck_rows(copy)
    assert code == 1, stderr
    # The auto rows ran the student's cell, not the installed kernel; so did the array rows.
    for op in ("lstm_step", "lstm_step (array cell)", "lstm (masked, c0)"):
        assert "FAIL" in rows[op], (op, rows.get(op))
    assert "Traceback" not in stderr


def test_a_correct_copy_passes_its_self_check_and_ignores_the_installed_kernels(tmp_path):
    copy = make_assignment("lstm", tmp_path / "solution", solution=True)
    env = {**os.environ, "PYTHONPATH": ""}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util, minivae; from minivae.ops import fused; "
            "print(minivae.__file__, importlib.util.find_spec('minivae_kernels') is not None, "
            "fused.kernels_installed())",
        ],
        capture_output=True,
        text=True,
        cwd=copy,
        env=env,
        timeout=120,
    )
    where, found, used = probe.stdout.split()
    assert Path(where).resolve().is_relative_to(copy.resolve()), "not the copy's minivae"
    assert found == "True", "the full kernels are not installed here: nothing is tested"
    assert used == "False", "the copy would run another installation's kernels"
    code, rows, stderr = gradcheck_rows(copy, env)
    assert code == 0 and rows and all(s == ["pass"] * len(s) for s in rows.values()), stderr
    assert "lstm_step (array cell)" in rows


def test_the_full_installation_still_runs_its_own_kernels():
    from minivae.ops import fused

    assert fused.kernels_installed()
    assert fused.fused_lstm_pointwise(__import__("numpy")) is not None


def _copy_python(copy: Path, modules, tmp_path: Path) -> dict:
    """An environment for ``python -S`` in which only the copy and ``modules`` import."""
    site = only_modules(modules, tmp_path / f"site-{'-'.join(modules)}")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy), str(site)])}


def requirement_names(copy: Path) -> list[str]:
    lines = (copy / "requirements.txt").read_text().splitlines()
    return [re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0] for line in lines if line.strip()]


def test_the_copys_requirements_are_the_packages_own_bounds(tmp_path):
    copy = make_assignment("lstm", tmp_path / "copy")
    assert (copy / "requirements.txt").read_text().splitlines() == list(REQUIREMENTS)
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(REQUIREMENTS) <= set(dependencies["dependencies"])
    assert "pip install -r requirements.txt" in (copy / "README.md").read_text()


@pytest.mark.parametrize("setup", ["requirements", "numpy alone"])
def test_the_copys_checks_run_with_its_setup(setup, tmp_path):
    """The notebook and the gradcheck of a correct copy pass, with exactly what its
    requirements.txt installs and with NumPy alone: never a ModuleNotFoundError."""
    copy = make_assignment("lstm", tmp_path / "copy", solution=True)
    modules = requirement_names(copy) if setup == "requirements" else ["numpy"]
    env = _copy_python(copy, modules, tmp_path)
    n = len(ASSIGNMENTS["lstm"].items)
    notebook = [notebook_name(ASSIGNMENTS["lstm"])]
    for args, done in (
        (["-m", "minivae", "gradcheck", "--ops-only"], "0 failed, 0 not implemented"),
        (notebook, f"{n} of {n} items pass"),
    ):
        proc = subprocess.run(
            [sys.executable, "-S", *args],
            capture_output=True,
            text=True,
            cwd=copy,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr and done in proc.stdout, proc.stdout[-2000:]

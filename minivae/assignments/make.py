"""``minivae assignment make``: the student copy of the package, with functions blanked.

The library's source is the solution. A copy of the ``minivae`` package is made and, in it,
the body of every function the assignment lists is replaced by
``raise NotImplementedError(...)``; the ``def`` line(s), decorators and docstring
(the hints) stay. Functions are found with ``ast`` and the body is cut out of the
source *text* by line numbers, so every comment outside the blanked bodies survives.

The fused Numba kernels are not copied: the LSTM cell's kernel computes what
``lstm_pointwise_*`` do. Without them every op runs its array code (``kernel="auto"``).

Beside the package: the README (instructions, graded items), the assignment's notebook, and
the values its check cells compare with (``selfcheck_NAME.npz``: the solution's outputs on
inputs from other seeds than the grader's).
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import numpy as np

import minivae
from minivae.assignments.spec import Assignment, Blank, get_assignment

MARKER = ".assignment.json"  # in the copy: which assignment it is (the grader only warns)
HERE = Path(__file__).parent
INSTRUCTIONS = HERE / "instructions"
NOTEBOOKS = HERE / "notebooks"
SELF_CHECK_SEED = 1000  # added to each item's seed: the notebook's inputs are not the grader's
# What the copy's own checks need (the notebook, ``python -m minivae gradcheck``): its
# requirements.txt, the same bounds as the package's dependencies (a test keeps them so).
# threadpoolctl is the command line's thread policy; without it the copy runs, BLAS then
# choosing its own thread count.
REQUIREMENTS = ("numpy>=1.24", "threadpoolctl>=3.1")


def package_root() -> Path:
    """The folder holding the grader's own (solution) ``minivae`` package."""
    return Path(minivae.__file__).resolve().parent.parent


def blank_source(source: str, function: str, message: str) -> str:
    """Replace the body of the top-level function ``function`` in ``source``.

    Keeps decorators, signature and docstring; the body below the docstring becomes
    ``raise NotImplementedError(message)``. Raises LookupError unless exactly one
    top-level function has that name.
    """
    tree = ast.parse(source)
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
    ]
    if len(found) != 1:
        raise LookupError(f"expected one top-level function {function!r}, found {len(found)}")
    node = found[0]
    body = node.body
    has_doc = (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    lines = source.splitlines(keepends=True)
    if has_doc and body[0].lineno == node.lineno:
        raise ValueError(f"{function}: put the docstring on its own line to blank the function")
    # Lines are 1-based: keep everything up to the docstring (or the signature), cut to the end.
    keep_until = body[0].end_lineno if has_doc else body[0].lineno - 1
    indent = " " * body[0].col_offset
    stub = f"{indent}raise NotImplementedError({message!r})\n"
    return "".join(lines[:keep_until]) + stub + "".join(lines[node.end_lineno :])


def module_file(root: Path, module: str) -> Path:
    """``minivae.ops.lstm`` -> root/minivae/ops/lstm.py"""
    return root.joinpath(*module.split(".")).with_suffix(".py")


def _copy_package(out: Path) -> None:
    """minivae/ alone: not the fused kernels beside it (see the module's docstring)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(Path(minivae.__file__).resolve().parent, out / "minivae", ignore=ignore)


def notebook_name(assignment: Assignment) -> str:
    return f"notebook_{assignment.name}.py"


def self_check_name(assignment: Assignment) -> str:
    return f"selfcheck_{assignment.name}.npz"


def self_check_values(assignment: Assignment) -> dict:
    """Inputs and the solution's values for every item, from seeds the grader does not use:
    ``I.in.NAME``, ``I.out.NAME``, ``I.fwd.NAME`` for the item at index I."""
    from minivae.assignments.items import load_task
    from minivae.assignments.judge import reference

    arrays = {}
    for index, item in enumerate(assignment.items):
        task = load_task(item.task)
        inputs = task.inputs(np.random.default_rng(item.seed + SELF_CHECK_SEED))
        ref = reference(task, inputs)
        for prefix, values in (("in", inputs), ("out", ref.outputs), ("fwd", ref.forward)):
            arrays.update({f"{index}.{prefix}.{k}": np.asarray(v) for k, v in values.items()})
    return arrays


def _blank_all(out: Path, assignment: Assignment) -> None:
    by_file: dict[Path, list[Blank]] = {}
    for blank in assignment.blanks:
        by_file.setdefault(module_file(out, blank.module), []).append(blank)
    for path, blanks in by_file.items():
        source = path.read_text()
        for blank in blanks:
            message = f"{blank.function}: your code here (assignment {assignment.name!r})"
            source = blank_source(source, blank.function, message)
        compile(source, str(path), "exec")  # the copy must still import
        path.write_text(source)


def readme(assignment: Assignment) -> str:
    """The instructions file, with the graded items and points appended from the spec."""
    text = (INSTRUCTIONS / assignment.instructions).read_text().rstrip() + "\n"
    rows = [f"| {item.name} | {item.points:g} |" for item in assignment.items]
    functions = "\n".join(
        f"- `{b.function}` in `{b.module.replace('.', '/')}.py`" for b in assignment.blanks
    )
    return (
        f"{text}\n## What you write\n\n{functions}\n\n## How it is graded\n\n"
        "Items are graded in this order, each in its own process; an item that builds on an "
        "earlier one that failed says so.\n\n"
        f"| item | points |\n|---|---|\n" + "\n".join(rows) + f"\n| **total** | "
        f"**{assignment.max_score:g}** |\n\n"
        "The grader runs your functions on its own inputs and compares what they return "
        "with the original minivae's values; gradients also against finite differences of "
        "your forward. Each item has a time limit (60 s), so an endless loop costs only that "
        "item. Your code may use NumPy and the standard library.\n\n"
        "## Setup\n\n"
        "In this folder, with Python 3.10 or newer:\n\n"
        "```\npython -m pip install -r requirements.txt\n```\n\n"
        "(To open the notebook in Jupyter rather than run it as a script, also "
        "`python -m pip install jupyterlab jupytext`.) Work in this folder: Python then "
        "imports this copy's `minivae`, with your functions, even where the full minivae is "
        "installed, and the full installation's fused kernels are not used.\n\n"
        "## Check your work as you go\n\n"
        f"`{notebook_name(assignment)}` walks through the functions, with a check cell after "
        "each that compares your function with stored reference values (other inputs than "
        "the grader's) and gives the error. Open it in Jupyter (with jupytext) or run it "
        f"with `python {notebook_name(assignment)}` from this folder. "
        "`python -m minivae gradcheck --ops-only` checks every op's gradients; the functions "
        'you have not written yet show as "not implemented".\n'
    )


def made_by_make(folder: Path) -> bool:
    """Whether ``folder`` is a copy this command wrote: a real folder with its marker file."""
    marker = folder / MARKER
    if folder.is_symlink() or not marker.is_file():
        return False
    try:
        return "assignment" in json.loads(marker.read_text())
    except (OSError, ValueError, TypeError):
        return False


def make_assignment(name: str, out, solution: bool = False, force: bool = False) -> Path:
    """Write the student copy of assignment ``name`` to ``out``; return ``out``.

    With ``solution`` the functions are left as they are (a copy to test the grader).
    """
    assignment = get_assignment(name)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"{out} exists and is not empty (use --force to replace it)")
        if not made_by_make(out):
            raise FileExistsError(
                f"{out} was not made by 'minivae assignment make' (no {MARKER} in it): --force "
                "replaces only such a folder; choose another --out"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    _copy_package(out)
    if not solution:
        _blank_all(out, assignment)
    (out / "README.md").write_text(readme(assignment))
    (out / "requirements.txt").write_text("\n".join(REQUIREMENTS) + "\n")
    shutil.copyfile(NOTEBOOKS / assignment.notebook, out / notebook_name(assignment))
    np.savez(out / self_check_name(assignment), **self_check_values(assignment))
    marker = {
        "assignment": assignment.name,
        "minivae_version": minivae.__version__,
        "functions": [f"{b.module}.{b.function}" for b in assignment.blanks],
        "solution": solution,
    }
    (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return out

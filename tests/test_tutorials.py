"""Every tutorial notebook runs top to bottom and draws at least one figure.

Each executed notebook is saved to build/tutorials/ (git-ignored): the documentation website
renders those instead of running the tutorials a second time (website/executed.py).
"""

import os
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the tutorials need the [test] extra")
nbclient = pytest.importorskip("nbclient", reason="the tutorials need the [test] extra")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from website import executed  # noqa: E402  (needs the checkout on sys.path first)

TUTORIALS = executed.tutorial_sources()


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_and_draws(path, tmp_path, monkeypatch):
    # The kernel imports this checkout's minivae even where it is not installed.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    # Run in a scratch folder, so run folders the notebook writes stay out of the repository.
    # Raises CellExecutionError, with the cell and traceback, if a cell fails.
    notebook = executed.execute(path, tmp_path, timeout=300)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not executed.error_outputs(notebook)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no figure"
    # Only a notebook that passed is kept for the website.
    saved = executed.save(notebook, path)
    assert executed.is_fresh(path), f"{saved} was not written with its source's digest"

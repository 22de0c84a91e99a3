"""Every tutorial notebook runs top to bottom and draws at least one figure."""

import os
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the tutorials need the [test] extra")
nbclient = pytest.importorskip("nbclient", reason="the tutorials need the [test] extra")

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9]*.py"))


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_and_draws(path, tmp_path, monkeypatch):
    # The kernel imports this checkout's minivae even where it is not installed.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    notebook = jupytext.read(path)
    # Run in a scratch folder, so run folders the notebook writes stay out of the repository.
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, if a cell fails
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no figure"

"""Run each jupytext tutorial once and keep the executed notebook for the website.

The test suite (tests/test_tutorials.py) executes every tutorial; it saves the executed
notebook to build/tutorials/NAME.ipynb (git-ignored) with the SHA-256 of the source it ran.
The site build (website/hooks.py) renders those notebooks and executes only the ones that are
missing or older than their source, so a CI run executes each tutorial once, not twice.
"""

import hashlib
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
# Where executed notebooks go; MINIVAE_EXECUTED_TUTORIALS moves it (e.g. for a scratch build),
# to another folder named tutorials (the site's pages keep that name).
EXECUTED = Path(os.environ.get("MINIVAE_EXECUTED_TUTORIALS", ROOT / "build" / "tutorials"))
if EXECUTED.name != "tutorials":
    raise ValueError(f"MINIVAE_EXECUTED_TUTORIALS={EXECUTED}: the folder must be named tutorials")
METADATA_KEY = "minivae"


def tutorial_sources():
    """The tutorials in lesson order: tutorials/01_*.py, 02_*.py, ..."""
    return sorted(TUTORIALS.glob("[0-9]*.py"))


def source_digest(source):
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def executed_path(source):
    return EXECUTED / f"{Path(source).stem}.ipynb"


def is_fresh(source):
    """True when build/tutorials holds a notebook executed from this very source text."""
    import nbformat

    path = executed_path(source)
    if not path.exists():
        return False
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # a half-written or damaged file is simply not fresh
        return False
    recorded = notebook.metadata.get(METADATA_KEY, {}).get("source_sha256")
    return recorded == source_digest(source)


def execute(source, workdir, timeout=300):
    """Run a tutorial top to bottom in `workdir` (run folders it writes land there) and return
    the executed notebook. Raises nbclient's CellExecutionError, naming the cell, if one fails.
    The kernel must import this checkout's minivae: the caller puts ROOT on PYTHONPATH."""
    import jupytext
    import nbclient

    notebook = jupytext.read(source)
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


def error_outputs(notebook):
    return [
        o
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.get("output_type") == "error"
    ]


def _is_tqdm_widget_warning(output):
    """tqdm.auto (minivae's trainer and evaluation) warns on import in a kernel without
    ipywidgets, naming the executing machine's site-packages: noise about the machine that ran
    the tutorial, not about the tutorial."""
    if output.get("output_type") != "stream" or output.get("name") != "stderr":
        return False
    lines = [line for line in output.get("text", "").splitlines() if line.strip()]
    return bool(lines) and all(
        "TqdmWarning: IProgress not found" in line or line.startswith("  from .autonotebook")
        for line in lines
    )


def save(notebook, source):
    """Write the executed notebook to build/tutorials, stamped with its source's digest.
    Written to a temporary name and renamed, so a reader never sees half a notebook."""
    import nbformat

    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not _is_tqdm_widget_warning(o)]
    notebook.metadata[METADATA_KEY] = {
        "source": f"tutorials/{Path(source).name}",
        "source_sha256": source_digest(source),
    }
    # jupytext's own bookkeeping is of no use to a reader who downloads the .ipynb
    notebook.metadata.pop("jupytext", None)
    target = executed_path(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".ipynb.tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        nbformat.write(notebook, f)
    os.replace(tmp, target)
    return target


def execute_and_save(source, timeout=300):
    """Execute one tutorial in a scratch folder with this checkout importable, then save it."""
    env_before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env_before]))
    try:
        with tempfile.TemporaryDirectory(prefix="minivae-tutorial-") as workdir:
            notebook = execute(source, workdir, timeout=timeout)
    finally:
        if env_before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_before
    errors = error_outputs(notebook)
    if errors:
        raise RuntimeError(f"{Path(source).name}: {len(errors)} error output(s) after running")
    return save(notebook, source)

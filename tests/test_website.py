"""The documentation website's own machinery (website/): the executed tutorials are reused
only when fresh, the build refuses to re-execute in CI, and the browser check fails a page
that reads badly. The browser tests need the [docs] extra, Debian's chromium and a built site
(`mkdocs build`); .ci/run runs this file again after building the site."""

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from website import executed  # noqa: E402

nbformat = pytest.importorskip("nbformat", reason="needs the [test] extra")


@pytest.fixture
def scratch_executed(tmp_path, monkeypatch):
    """executed.EXECUTED pointed at an empty scratch folder (named tutorials, as required)."""
    folder = tmp_path / "tutorials"
    folder.mkdir()
    monkeypatch.setattr(executed, "EXECUTED", folder)
    return folder


def _tiny_source(tmp_path, text="print(1)"):
    source = tmp_path / "01_tiny.py"
    source.write_text(f"# %%\n{text}\n")
    return source


def test_an_executed_notebook_is_fresh_only_for_the_source_it_ran(tmp_path, scratch_executed):
    source = _tiny_source(tmp_path)
    assert not executed.is_fresh(source)  # nothing saved yet
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    saved = executed.save(notebook, source)
    assert saved == scratch_executed / "01_tiny.ipynb"
    assert executed.is_fresh(source)
    source.write_text("# %%\nprint(2)\n")  # the tutorial changed after it was executed
    assert not executed.is_fresh(source)


def test_a_damaged_executed_notebook_is_not_fresh(tmp_path, scratch_executed):
    source = _tiny_source(tmp_path)
    (scratch_executed / "01_tiny.ipynb").write_text('{"cells": [')
    assert not executed.is_fresh(source)


def test_the_build_refuses_to_execute_when_told_never(tmp_path, scratch_executed, monkeypatch):
    pytest.importorskip("mkdocs", reason="needs the [docs] extra")
    from mkdocs.exceptions import PluginError

    sys.path.insert(0, str(ROOT / "website"))
    import hooks

    source = _tiny_source(tmp_path)
    monkeypatch.setattr(executed, "tutorial_sources", lambda: [source])
    monkeypatch.setenv("MINIVAE_DOCS_EXECUTE", "never")
    with pytest.raises(PluginError, match="01_tiny.ipynb is missing or older"):
        hooks._tutorial_notebooks()
    monkeypatch.setenv("MINIVAE_DOCS_EXECUTE", "sometimes")
    with pytest.raises(PluginError, match="expected stale, never or always"):
        hooks._tutorial_notebooks()


SITE = ROOT / "build" / "site"


@pytest.fixture
def built_site(tmp_path):
    pytest.importorskip("playwright", reason="needs the [docs] extra")
    from website import check_site

    if not Path(check_site.CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    if not (SITE / "models" / "index.html").exists():
        pytest.skip("needs the built site: mkdocs build")
    copy = tmp_path / "site"
    shutil.copytree(SITE, copy)
    return copy


def test_the_browser_check_passes_a_good_page_and_names_each_fault_of_a_bad_one(
    built_site, tmp_path, capsys
):
    from website import check_site

    page = built_site / "models" / "index.html"
    html = page.read_text(encoding="utf-8")
    faults = (
        "<p>Raw math $$x^2$$ and \\frac{a}{b}.</p>"
        '<img src="https://cdn.example.com/x.png"><img src="missing.png">'
        '<a href="../nope/">x</a><a href="#no-such-anchor">y</a>'
        '<script>console.error("boom")</script>'
    )
    assert "</article>" in html
    page.write_text(html.replace("</article>", faults + "</article>", 1), encoding="utf-8")
    shots = tmp_path / "shots"
    argv = ["--site", str(built_site), "--screenshots", str(shots)]
    rc = check_site.main(argv + ["--only", "models/", "--only", "remedies/"])
    out = capsys.readouterr().out
    assert rc == 1
    bad = out[out.index("\n/models/:") :]
    for expected in [
        "request outside 127.0.0.1 (aborted): https://cdn.example.com/x.png",
        "image answered 404",
        "console error: boom",
        "raw $$ left as text",
        "raw TeX command left as text",
        "link /nope/: answered 404",
        "anchor #no-such-anchor not found",
    ]:
        assert expected in bad, expected
    assert "ok   /remedies/" in out  # the untouched page passes, its math typeset
    assert "/remedies/:" not in out
    assert (shots / "00-models.png").exists() and (shots / "01-remedies.png").exists()


def test_the_browser_check_fails_a_tutorial_without_figures_or_with_an_error(
    built_site, tmp_path, capsys
):
    import json
    import re

    from website import check_site

    folder = built_site / "tutorials" / "01_elbo"
    page = folder / "index.html"
    html = re.sub(r"<img [^>]*>", "", page.read_text(encoding="utf-8"))
    html = html.replace(
        "</article>",
        "<pre>Traceback (most recent call last):</pre>"
        "<pre>&lt;Figure size 1116x896 with 5 Axes&gt;</pre></article>",
    )
    page.write_text(html, encoding="utf-8")
    notebook_path = folder / "01_elbo.ipynb"
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    code = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    code["outputs"].append({"output_type": "error", "ename": "E", "evalue": "", "traceback": []})
    notebook_path.write_text(json.dumps(notebook), encoding="utf-8")
    argv = ["--site", str(built_site), "--screenshots", str(tmp_path / "shots")]
    assert check_site.main(argv + ["--only", "tutorials/01_elbo/"]) == 1
    out = capsys.readouterr().out
    assert "no figure rendered" in out
    assert "a traceback is shown" in out
    assert "1 figure(s) shown as text" in out
    assert "01_elbo.ipynb holds an error output" in out


def test_only_the_tqdm_widget_warning_is_dropped_from_a_saved_notebook(tmp_path, scratch_executed):
    source = _tiny_source(tmp_path)
    warning = (
        "/x/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update "
        "jupyter and ipywidgets.\n  from .autonotebook import tqdm as notebook_tqdm\n"
    )
    cell = nbformat.v4.new_code_cell("import minivae.training.trainer")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=warning),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: a real one\n"),
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
    ]
    executed.save(nbformat.v4.new_notebook(cells=[cell]), source)
    saved = nbformat.read(executed.executed_path(source), as_version=4)
    texts = [o["text"] for o in saved.cells[0].outputs]
    assert texts == ["UserWarning: a real one\n", "hello\n"]

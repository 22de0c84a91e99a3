"""MkDocs hooks (mkdocs.yml: hooks): what the site takes from outside docs/.

- the home page is README.md and the tutorials' landing page tutorials/README.md, their links
  rewritten to the site's pages;
- the tutorials are the executed notebooks in build/tutorials/ (see website/executed.py): the
  test run leaves them there; a tutorial without a fresh one is executed here, once;
- MathJax is copied from the django-static-mathjax package into assets/mathjax/, so math is
  typeset by a script served from the site itself;
- links from docs/*.md to files outside docs/ become the site's pages (tutorials) or plain
  paths (source files), so every link in the site resolves.

MINIVAE_DOCS_EXECUTE=never makes a missing or stale executed tutorial an error instead of
executing it (CI sets it: the tests already executed every tutorial once).
"""

import logging
import os
import posixpath
import re
import sys
from importlib.resources import files as package_files
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from website import executed  # noqa: E402

log = logging.getLogger("mkdocs.hooks.minivae")

MATHJAX_URL = "assets/mathjax"
# MathJax's single-file TeX-to-SVG build (fonts inside, no font files to fetch), and the TeX
# extensions it loads on demand (\boldsymbol, \cancel, ...).
MATHJAX_FILES = ["tex-svg.js", "input/tex/extensions"]


def _mathjax_root():
    try:
        return Path(str(package_files("mathjax"))) / "static" / "mathjax" / "es5"
    except ModuleNotFoundError as e:
        raise PluginError(
            "MathJax is missing: install the docs extra, pip install -e \".[docs]\""
        ) from e


def _tutorial_notebooks():
    """The executed notebook of every tutorial, executing those that are missing or stale."""
    mode = os.environ.get("MINIVAE_DOCS_EXECUTE", "stale")
    if mode not in ("stale", "never", "always"):
        raise PluginError(f"MINIVAE_DOCS_EXECUTE={mode!r}: expected stale, never or always")
    sources = executed.tutorial_sources()
    if not sources:
        raise PluginError(f"no tutorials found in {executed.TUTORIALS}")
    for source in sources:
        fresh = executed.is_fresh(source)
        if mode == "always" or not fresh:
            if mode == "never":
                raise PluginError(
                    f"{executed.executed_path(source)} is missing or older than "
                    f"tutorials/{source.name}, and MINIVAE_DOCS_EXECUTE=never: run "
                    "`python -m pytest tests/test_tutorials.py` first (it saves them)"
                )
            log.info("executing tutorials/%s (no fresh executed copy)", source.name)
            try:
                executed.execute_and_save(source)
            except Exception as e:
                raise PluginError(f"tutorials/{source.name} failed to run: {e}") from e
    return [executed.executed_path(s) for s in sources]


def _readme_page(text, prefix):
    """README text as a site page: links to docs/X become X, links to tutorials become the
    tutorial pages, links to anything else in the repository become a plain path."""
    text = re.sub(r"\]\(docs/", "](" + prefix, text)
    text = text.replace("](tutorials/README.md)", f"]({prefix}tutorials/index.md)")
    # The README's numbered list of tutorials: `01_elbo`: ... -> a link to the tutorial page.
    text = re.sub(
        r"^(\d+)\. `(\d\d_\w+)`",
        lambda m: f"{m.group(1)}. [`{m.group(2)}`]({prefix}tutorials/{m.group(2)}.ipynb)",
        text,
        flags=re.MULTILINE,
    )
    return text


@event_priority(100)  # before mkdocs-jupyter wraps the .ipynb files as pages
def on_files(files, config):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "index.md", content=_readme_page(readme, "")))
    tutorials_readme = (ROOT / "tutorials" / "README.md").read_text(encoding="utf-8")
    # Its table names each tutorial's source: `01_elbo.py` -> a link to the executed page.
    tutorials_readme = re.sub(
        r"`(\d\d_\w+)\.py`", r"[`\1`](\1.ipynb)", _readme_page(tutorials_readme, "../")
    )
    files.append(File.generated(config, "tutorials/index.md", content=tutorials_readme))

    for notebook in _tutorial_notebooks():
        # A File on disk (src_dir + "tutorials/NAME.ipynb"), not File.generated: mkdocs-jupyter
        # wraps the File and reads its source path from src_dir, which a generated file lacks.
        files.append(
            File(
                f"tutorials/{notebook.name}",
                src_dir=str(notebook.parent.parent),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )

    root = _mathjax_root()
    for entry in MATHJAX_FILES:
        path = root / entry
        for f in sorted(path.rglob("*.js")) if path.is_dir() else [path]:
            uri = f"{MATHJAX_URL}/{f.relative_to(root).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(f)))
    return files


# Links from docs/*.md to the repository outside docs/.
_TUTORIAL_LINK = re.compile(r"\]\(\.\./tutorials/(\d\d_\w+)\.py\)")
_REPO_LINK = re.compile(r"\[([^\]]+)\]\(\.\./([^)#\s]+)\)")


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.endswith(".md"):
        markdown = _TUTORIAL_LINK.sub(r"](tutorials/\1.ipynb)", markdown)
        markdown = markdown.replace("](../README.md)", "](index.md)")
        # A source file is not a page: name it as a path (the API pages document the code).
        # A ../ link that stays inside docs/ (from docs/api/ to docs/models.md) is a page.
        folder = posixpath.dirname(page.file.src_uri)

        def outside_docs(m):
            target = posixpath.normpath(posixpath.join(folder, "..", m.group(2)))
            return f"{m.group(1)} (`{m.group(2)}`)" if target.startswith("..") else m.group(0)

        markdown = _REPO_LINK.sub(outside_docs, markdown)
        if page.file.src_uri == "index.md":
            markdown = _REPO_LINK_FROM_README.sub(r"\1 (`\2`)", markdown)
    return markdown


# In the README, a link to a repository file or folder that is not a page (e.g.
# minivae/threads.py, experiments/records/default-run.json, experiments/records/).
_REPO_LINK_FROM_README = re.compile(
    r"\[([^\]]+)\]\((?!https?:|#)([^)\s]+(?:\.(?:py|sh|toml|txt|json)|/))\)"
)

# nbconvert writes its own MathJax tag and configuration into every notebook page; the site
# loads MathJax once for every page (mkdocs.yml: extra_javascript), so both are removed.
_NB_MATHJAX = re.compile(
    r'<script src="minivae-mathjax-from-the-site">\s*</script>'
    r'|<script type="text/x-mathjax-config">.*?</script>',
    re.DOTALL,
)


def on_page_content(html, page, config, files):
    if page.file.src_uri.endswith(".ipynb"):
        html, removed = _NB_MATHJAX.subn("", html)
        if removed != 2:
            raise PluginError(
                f"{page.file.src_uri}: expected nbconvert's two MathJax tags, found {removed}"
            )
        _match_toc_to_headings(page, html)
        name = Path(page.file.src_uri).name
        source = f"tutorials/{Path(name).stem}.py"
        link = (
            f'<p class="minivae-download">Download this tutorial as a notebook, with its '
            f'outputs: <a href="{name}" download>{name}</a> (its source in the repository: '
            f"<code>{source}</code>, a jupytext file).</p>"
        )
        # Under the title (the first heading), where a reader looks for it.
        html, placed = re.subn(r"</h1>", lambda m: m.group(0) + link, html, count=1)
        if not placed:
            html = link + html
    return html


def _match_toc_to_headings(page, html):
    """mkdocs-jupyter slugs the table of contents from the Markdown (a `code` span dropped)
    but nbconvert slugs the headings with it: "Why not just `math.tanh` in a Numba loop?" is
    #why-not-just-in-a-numba-loop in the contents and #why-not-just-mathtanh-in-a-numba-loop
    on the page. Both list the headings in page order, so each contents entry takes the id of
    its heading."""

    def flat(items):
        for item in items:
            yield item
            yield from flat(item.children)

    entries = list(flat(page.toc))
    ids = re.findall(r'<h[1-6] id="([^"]+)"', html)
    if len(entries) != len(ids):
        log.warning(
            "%s: %d contents entries but %d headings", page.file.src_uri, len(entries), len(ids)
        )
        return
    for entry, heading_id in zip(entries, ids):
        entry.id = heading_id

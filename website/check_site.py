"""Open every page of the built website in a headless Chromium, the way a reader meets it.

    python -m website.check_site [--site build/site] [--screenshots build/site-screenshots]

Serves the built site on 127.0.0.1 (a free port) and opens each page in Debian's Chromium
(apt-get install chromium), driven by Playwright with executable_path: Playwright's own
browser download is not used. For every page it asserts:

- HTTP 200 for the page and for every image, script, stylesheet, font and fetch it makes;
- no request leaves 127.0.0.1 (such a request is aborted and reported);
- no console error and no uncaught JavaScript exception;
- the math was typeset: MathJax ran, no TeX error box, and no raw `$$`, `$...$` or TeX
  command such as `\\frac` is left in the page's text outside code;
- a tutorial page shows at least one figure, loaded and no wider than the text column, no
  traceback, and its download link gives the executed notebook (200, valid, no error output);
- every link to the site itself resolves: the target answers 200 and its #anchor exists.

It saves two screenshots of each page (the first screen, and the whole page) and exits 1,
listing every failure, if anything failed.
"""

import argparse
import functools
import json
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# The flags that work on a headless CI machine; nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A common laptop screen (and the width the site's CSS is tuned for, docs/assets/stylesheets).
VIEWPORT = {"width": 1440, "height": 900}

# Text outside code, formulas, scripts and hidden elements: what a reader sees as prose.
_PROSE_TEXT = """() => {
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "MJX-CONTAINER", "TEXTAREA", "SVG"]);
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE || skip.has(node.tagName.toUpperCase())) return;
    if (node.classList.contains("highlight") || node.classList.contains("md-search")) return;
    if (getComputedStyle(node).display === "none") return;  // e.g. the copy buttons' text
    for (const child of node.childNodes) walk(child);
  };
  walk(document.querySelector("article") || document.body);
  return out.join(" ");
}"""

_RAW_TEX = [
    (re.compile(r"\$\$"), "raw $$"),
    (re.compile(r"(?<![\w$])\$[^\s$][^$\n]{0,200}?(?<=\S)\$(?![\w$])"), "raw $...$"),
    (re.compile(r"\\(frac|mathcal|mathbb|mathrm|sum|log|hat|qquad|left|right|sigma|mu|nabla)\b"),
     "raw TeX command"),
]


# Each image of the text column: loaded, and how far it sticks out to the right of the column.
_PICTURES = """() => {
  const column = document.querySelector("article").getBoundingClientRect();
  return Array.from(document.querySelectorAll("article img"), img => {
    const box = img.getBoundingClientRect();
    return {loaded: img.complete && img.naturalWidth > 0, overflow: box.right - column.right};
  });
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per request would bury the report
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The browser hanging up mid-answer (a page closed while a prefetch ran) is not a site
        # error; anything else is printed as usual.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def serve(site):
    """Serve `site` on 127.0.0.1 at a free port, in a daemon thread. Returns (server, base)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def site_pages(site):
    """Every page of the built site as a URL path ('', 'models/', 'tutorials/01_elbo/')."""
    pages = []
    for index in sorted(site.rglob("index.html")):
        rel = index.parent.relative_to(site).as_posix()
        pages.append("" if rel == "." else rel + "/")
    return pages


def check_page(page, base, path, shots, number):
    """Open one page; return (failures, facts, links) where links are its same-site hrefs."""
    failures, responses = [], []
    outside, console_errors = [], []

    def on_response(response):
        responses.append((response.status, response.url, response.request.resource_type))

    page.on("response", on_response)
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.on("pageerror", lambda e: console_errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: failures.append(f"request failed: {r.url} ({r.failure})"))

    def guard(route):
        host = urlparse(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    url = urljoin(base, path)
    start = time.perf_counter()
    response = page.goto(url, wait_until="load", timeout=60_000)
    if response is None or response.status != 200:
        failures.append(f"page answered {response.status if response else 'nothing'}")
    typeset = page.evaluate(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
        " ? MathJax.startup.promise.then(() => true) : false"
    )
    if not typeset:
        failures.append("MathJax did not load or did not start")
    page.wait_for_load_state("networkidle", timeout=30_000)
    seconds = time.perf_counter() - start

    for status, rurl, kind in responses:
        if status != 200:
            failures.append(f"{kind} answered {status}: {rurl}")
    failures += [f"request outside 127.0.0.1 (aborted): {u}" for u in outside]
    failures += [f"console error: {e}" for e in console_errors]

    formulas = page.locator("mjx-container").count()
    tex_errors = page.locator("mjx-merror, [data-mjx-error]").count()
    if tex_errors:
        failures.append(f"{tex_errors} formula(s) with a TeX error")
    prose = page.evaluate(_PROSE_TEXT)
    for pattern, what in _RAW_TEX:
        for m in list(pattern.finditer(prose))[:3]:
            context = prose[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")
            failures.append(f"{what} left as text: ...{context}...")

    facts = {"formulas": formulas, "seconds": round(seconds, 2)}
    # Every picture on the page loaded and fits the text column.
    pictures = page.evaluate(_PICTURES)
    if any(not f["loaded"] for f in pictures):
        failures.append(f"{sum(not f['loaded'] for f in pictures)} image(s) did not load")
    wide = [f for f in pictures if f["overflow"] > 1]
    if wide:
        failures.append(f"{len(wide)} image(s) wider than the text column")
    if re.match(r"tutorials/\d\d_", path):
        failures += check_tutorial(page, url, facts)
    if path == "api/ops/":
        failures += check_ops_reference(page, facts)

    links = page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"
    )
    own = sorted({h for h in links if urlparse(h).netloc == urlparse(base).netloc})
    ids = page.evaluate("() => Array.from(document.querySelectorAll('[id]'), e => e.id)")

    slug = f"{number:02d}-" + (path.strip("/").replace("/", "-") or "home")
    page.screenshot(path=str(shots / f"{slug}.png"))
    page.screenshot(path=str(shots / f"{slug}-full.png"), full_page=True)
    return failures, facts, own, set(ids)


def check_tutorial(page, url, facts):
    failures = []
    figures = page.evaluate(_PICTURES.replace("article img", ".jupyter-wrapper img"))
    shown = [f for f in figures if f["loaded"]]
    facts["figures"] = len(shown)
    if not shown:
        failures.append("no figure rendered")
    if page.get_by_text("Traceback (most recent call last)").count():
        failures.append("a traceback is shown (an error output cell)")
    # A figure displayed without its picture shows only matplotlib's text form.
    unrendered = page.get_by_text(re.compile(r"^<Figure size \d+x\d+ with \d+ Axes>$")).count()
    if unrendered:
        failures.append(f"{unrendered} figure(s) shown as text ('<Figure size ...>'), not drawn")
    download = page.locator("a[download]")
    if download.count() != 1:
        failures.append(f"expected one notebook download link, found {download.count()}")
        return failures
    href = urljoin(url, download.get_attribute("href"))
    got = page.request.get(href)
    if got.status != 200:
        return failures + [f"notebook download {href} answered {got.status}"]
    try:
        notebook = json.loads(got.body())
    except ValueError:
        return failures + [f"notebook download {href} is not JSON"]
    outputs = [o for c in notebook.get("cells", []) for o in c.get("outputs", [])]
    if any(o.get("output_type") == "error" for o in outputs):
        failures.append(f"notebook download {href} holds an error output")
    if not any("image/png" in o.get("data", {}) for o in outputs):
        failures.append(f"notebook download {href} holds no figure")
    return failures


def check_ops_reference(page, facts):
    """Every public function of minivae.ops (its __all__) has its entry on the page."""
    sys.path.insert(0, str(ROOT))
    import minivae.ops

    ids = page.evaluate("() => Array.from(document.querySelectorAll('[id]'), e => e.id)")
    documented = {i.rsplit(".", 1)[-1] for i in ids if i.startswith("minivae.ops.")}
    missing = sorted(set(minivae.ops.__all__) - documented)
    facts["ops documented"] = len(set(minivae.ops.__all__) & documented)
    return [f"minivae.ops.{name} has no entry" for name in missing]


def check_link(target, base, ids_by_path):
    """None if a same-site link resolves, else what is wrong."""
    address, fragment = urldefrag(target)
    path = urlparse(address).path.lstrip("/")
    if path in ids_by_path:
        ids = ids_by_path[path]
    else:
        try:
            with urllib.request.urlopen(address, timeout=30) as r:
                if r.status != 200:
                    return f"answered {r.status}"
        except urllib.error.HTTPError as e:
            return f"answered {e.code}"
        ids = None  # not a page we opened (a file): no anchors to check
    if fragment and ids is not None and fragment not in ids:
        return f"anchor #{fragment} not found"
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "build" / "site-screenshots")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument(
        "--only", action="append", metavar="PAGE",
        help="check only this page (a URL path such as models/; repeatable)",
    )
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        parser.error(f"{args.site}/index.html not found: build the site first (mkdocs build)")
    if not Path(args.chromium).exists():
        parser.error(f"{args.chromium} not found: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    args.screenshots.mkdir(parents=True, exist_ok=True)
    for old in args.screenshots.glob("*.png"):
        old.unlink()
    server, base = serve(args.site)
    on_disk = site_pages(args.site)
    failures, links, ids_by_path = {}, {}, {}
    begin = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="minivae-chromium-") as profile, sync_playwright() as p:
        # A persistent context on a fresh, empty profile folder: Chromium's --user-data-dir.
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=args.chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            service_workers="block",
        )
        # The pages in the sidebar's order (so the screenshots read like the site), then any
        # page that is built but not in the sidebar.
        page = context.new_page()
        page.goto(base, wait_until="load")
        nav = page.evaluate(
            "() => Array.from(document.querySelectorAll("
            "'nav.md-nav--primary a.md-nav__link[href]'),"
            " a => a.href)"
        )
        page.close()
        in_nav = []
        for href in nav:
            path = urlparse(urldefrag(href)[0]).path.lstrip("/")
            if urlparse(href).netloc == urlparse(base).netloc and path not in in_nav:
                in_nav.append(path)
        pages = in_nav + [p for p in on_disk if p not in in_nav]
        if args.only:
            unknown = [p for p in args.only if p not in on_disk]
            if unknown:
                parser.error(f"--only: no such page in {args.site}: {unknown}")
            pages = [p for p in pages if p in args.only]
        # The sidebar lists the tutorials in lesson order, each once.
        lessons = [m.group(1) for p in in_nav if (m := re.match(r"tutorials/(\d\d)_", p))]
        if not lessons or lessons != sorted(set(lessons)):
            failures[""] = [f"tutorials not in lesson order in the sidebar: {lessons}"]
        missing = [p for p in in_nav if p not in on_disk]
        if missing:
            failures.setdefault("", []).append(f"sidebar pages not built: {missing}")

        for number, path in enumerate(pages):
            page = context.new_page()
            try:
                fails, facts, own, ids = check_page(page, base, path, args.screenshots, number)
            except Exception as e:  # a timeout or a crash is a failure of this page, not all
                fails, facts, own, ids = [f"could not check: {e}"], {}, [], set()
            page.close()
            failures[path] = failures.get(path, []) + fails
            links[path] = own
            ids_by_path[path] = ids
            extra = ", ".join(f"{k} {v}" for k, v in facts.items())
            print(f"{'ok  ' if not fails else 'FAIL'} /{path}  ({extra})", flush=True)
        context.close()

    # Every same-site link of every page resolves, and so does its #anchor.
    seen = {}
    for path, own in links.items():
        for target in own:
            if target not in seen:
                seen[target] = check_link(target, base, ids_by_path)
            if seen[target]:
                failures[path].append(f"link {target.replace(base, '/')}: {seen[target]}")
    server.shutdown()

    bad = {p: f for p, f in failures.items() if f}
    print(
        f"\n{len(pages)} pages, {len(seen)} distinct same-site links, "
        f"{time.perf_counter() - begin:.1f} s; screenshots in {args.screenshots}"
    )
    for path, fails in bad.items():
        print(f"\n/{path}:")
        for f in fails:
            print(f"  - {f}")
    if bad:
        print(f"\nsite check FAILED on {len(bad)} of {len(pages)} pages")
        return 1
    print("site check passed: every page")
    return 0


if __name__ == "__main__":
    sys.exit(main())

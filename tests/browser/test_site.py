"""The course site (`make book`) as a reader meets it, in headless Chromium.

Every page the sources promise loads without a script error or a failed request; its figures load
(every image has pixels); its math is typeset by the bundled MathJax without an error; every link
inside the site leads to a page that exists, and to an anchor that exists on it; widgets show their
saved view, and a note that they need a kernel when they have controls. Nothing may come from the
internet: the one outside resource allowed is Colab's badge image, which a reader offline sees as
its alt text.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest

from site_server import REPO, SiteServer, build_site, site_pages

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]
PAGES = site_pages()
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

# everything the test reads from the page, in one round trip
READ_PAGE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const images = [...document.images].map(i => ({src: i.currentSrc || i.src, alt: i.alt,
      ok: i.complete && i.naturalWidth > 0}));
  const math = [...document.querySelectorAll('.math')];
  return {
    title: document.title,
    images,
    math: math.length,
    typeset: math.filter(m => m.querySelector('mjx-container')).length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    widgets: [...document.querySelectorAll('.seqlab-static-widget')].map(w => ({
        controls: w.querySelectorAll('input, select, button').length,
        note: !!w.querySelector('.seqlab-widget-note'),
        visible: w.getBoundingClientRect().height > 0})),
    unrendered: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  };
}"""


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    given = os.environ.get("SEQLAB_SITE")
    root = Path(given) if given else build_site(tmp_path_factory.mktemp("site") / "html")
    server = SiteServer(root)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        context.close()


def _widget_views(page_path: str) -> int:
    """How many widget views the page's notebook saved in its outputs."""
    folder, name = page_path.split("/")
    notebook = REPO / {"lessons": "notebooks", "exercise_notebooks": "exercises"}[folder] / name.replace(".html", ".ipynb")
    nb = json.loads(notebook.read_text())
    return sum("application/vnd.jupyter.widget-view+json" in output.get("data", {})
               for cell in nb["cells"] for output in cell.get("outputs", []))


def _ids(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def test_every_built_page_is_checked(site):
    built = {str(p.relative_to(site.root)) for p in site.root.rglob("*.html")
             if not p.relative_to(site.root).parts[0].startswith("_")}
    assert built - {"genindex.html", "search.html"} == set(PAGES)


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_with_figures_math_links_and_widgets(path, site, page, screenshot_dir):
    failed, errors, outside = [], [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: failed.append(f"{request.url} ({request.failure})"))
    page.on("response", lambda response: failed.append(f"{response.url} (HTTP {response.status})")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((site.url, "data:", "about:", BADGE)) else None)

    response = page.goto(site.url + path, wait_until="load")
    assert response is not None and response.status == 200, f"{path}: HTTP {response and response.status}"
    found = page.evaluate(READ_PAGE)
    shot = screenshot_dir / (path.replace("/", "_") + ".png")
    page.screenshot(path=str(shot))

    problems = [f"script error: {e}" for e in errors]
    problems += [f"failed request: {f}" for f in failed if not f.startswith(BADGE)]
    problems += [f"request outside the site: {u}" for u in outside]
    for image in found["images"]:
        if image["src"].startswith(BADGE):
            assert image["alt"] == "Open In Colab"
        elif not image["ok"]:
            problems.append(f"image without pixels: {image['src'][:120]}")
    if found["typeset"] < found["math"] or found["mathErrors"]:
        problems.append(f"math: {found['typeset']}/{found['math']} typeset, {found['mathErrors']} MathJax errors")
    for link in found["links"]:
        if not link.startswith(site.url):
            assert link.startswith(("https://", "http://", "mailto:")), f"odd link {link}"
            continue
        target, _, anchor = link[len(site.url):].partition("#")
        target = urllib.parse.unquote(target) or "index.html"
        file = site.root / target
        if target.endswith("/"):
            file = file / "index.html"
        if not file.is_file():
            problems.append(f"broken link: {link}")
        elif anchor and file.suffix == ".html" and urllib.parse.unquote(anchor) not in _ids(file.read_text()):
            problems.append(f"broken anchor: {link}")
    for index, widget in enumerate(found["widgets"]):
        if not widget["visible"]:
            problems.append(f"widget {index} shows nothing")
        if widget["controls"] and not widget["note"]:
            problems.append(f"widget {index} has controls but no note that they need a kernel")
    if found["unrendered"]:
        problems.append(f"{found['unrendered']} widget views left for JavaScript that is not there")
    if path.startswith(("lessons/", "exercise_notebooks/")):
        assert any(i["src"].startswith(BADGE) for i in found["images"]), f"{path}: no Colab badge"
        saved = _widget_views(path)
        if len(found["widgets"]) != saved:
            problems.append(f"{len(found['widgets'])} widgets on the page, {saved} saved in the notebook")
    assert not problems, f"{path} (screenshot {shot}):\n" + "\n".join(problems)

"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium per session.

The tests skip, with one line saying how to enable them, when Chromium or Python Playwright is
missing, or when SEQLAB_BROWSER_TESTS=0. Chromium is looked up at $SEQLAB_CHROMIUM, else at
Debian's /usr/bin/chromium (``playwright install`` is never needed).

Options (environment):
  SEQLAB_BROWSER_TESTS=0          skip them deliberately
  SEQLAB_CHROMIUM=/path/to/chrome another Chromium or Chrome
  SEQLAB_BROWSER_NOTEBOOKS="notebooks/0[12]*.ipynb"  which notebooks (globs under notebooks/ or
                                  solutions/; default both folders)
  SEQLAB_BROWSER_SCREENSHOTS=dir  keep the screenshots there (default: each test's tmp dir)
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the helpers next to this file, whatever pytest's import mode

from chromium_process import Chromium, chromium_path  # noqa: E402
from lab_page import close_notebooks  # noqa: E402
from lab_server import LabServer  # noqa: E402

REPO = HERE.parent.parent
LESSON_DIRS = [REPO / "notebooks", REPO / "solutions"]


def browser_skip_reason() -> str | None:
    """Why the browser tests cannot run here, as one line that says how to enable them."""
    if os.environ.get("SEQLAB_BROWSER_TESTS", "1").strip() in ("0", "false", "no"):
        return "browser tests skipped: SEQLAB_BROWSER_TESTS=0 (unset it to run them)"
    if importlib.util.find_spec("playwright") is None:
        return ("browser tests skipped: Python Playwright not installed; "
                "pip install -e '.[test]' (no 'playwright install' needed, it uses your Chromium)")
    if importlib.util.find_spec("jupyterlab") is None:
        return "browser tests skipped: JupyterLab not installed; pip install -e '.[lab,test]'"
    if chromium_path() is None:
        wanted = os.environ.get("SEQLAB_CHROMIUM") or "/usr/bin/chromium"
        return (f"browser tests skipped: {wanted} not found; install Chromium "
                f"(Debian: apt-get install chromium) or set SEQLAB_CHROMIUM=/path/to/chrome")
    return None


_SKIPPED: list[str] = []


def pytest_collection_modifyitems(config, items):
    ours = [item for item in items if item.get_closest_marker("browser")
            and HERE in Path(str(item.path)).resolve().parents]
    reason = browser_skip_reason() if ours else None
    if reason:
        _SKIPPED.append(reason)
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter):
    if _SKIPPED:
        terminalreporter.write_line(_SKIPPED[0], yellow=True)
    from notebook_report import REPORTS

    if REPORTS:
        terminalreporter.write_sep("-", "notebooks in JupyterLab (seconds)")
        for report in REPORTS:
            seconds = report.seconds
            terminalreporter.write_line(
                f"{report.path}: total {seconds.get('total', 0):.1f} = open {seconds.get('open', 0):.1f}"
                f" + run all {seconds.get('run all', 0):.1f} + widgets {seconds.get('widgets', 0):.1f}"
                f" ({len(report.moves)} moves ok, {len(report.problems())} problems)")
            for note in report.notes:
                terminalreporter.write_line(f"  note: {note}")


@pytest.fixture(scope="session")
def lab_server():
    """JupyterLab serving a temporary copy of notebooks/ and solutions/ (see lab_server.py)."""
    server = LabServer(LESSON_DIRS)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """Playwright connected to a headless Chromium that this session started and will stop."""
    from playwright.sync_api import sync_playwright

    chromium = Chromium(chromium_path())
    try:
        chromium.start()
        with sync_playwright() as playwright:
            connected = playwright.chromium.connect_over_cdp(chromium.cdp_url)
            try:
                yield connected
            finally:
                connected.close()
    finally:
        chromium.stop()


@pytest.fixture(scope="session")
def _pages(browser):
    """Holds the one tab the tests share; JupyterLab loads once and notebooks open in it."""
    holder = {"page": None}
    yield holder
    if holder["page"] is not None:
        holder["page"].close()


@pytest.fixture
def lab_page(_pages, browser, lab_server):
    """The shared JupyterLab tab; afterwards its notebooks are closed and every kernel shut down.
    If the tab cannot be tidied (a dialog, a crash), it is replaced by a fresh one."""
    if _pages["page"] is None:
        context = browser.contexts[0] if browser.contexts else browser.new_context()
        page = context.new_page()
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        _pages["page"] = page
    try:
        yield _pages["page"]
    finally:
        if not close_notebooks(_pages["page"]):
            _pages["page"].close()
            _pages["page"] = None
        lab_server.shut_down_sessions()


@pytest.fixture
def screenshot_dir(request, tmp_path):
    """Where a test saves its screenshots: $SEQLAB_BROWSER_SCREENSHOTS/<test> or its tmp dir."""
    root = os.environ.get("SEQLAB_BROWSER_SCREENSHOTS")
    if not root:
        return tmp_path
    folder = Path(root) / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder

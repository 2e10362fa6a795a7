"""The course site for the browser tests: built with Sphinx as `make book` builds it, into a
temporary folder (or taken from $SEQLAB_SITE when CI has just built it), and served over HTTP on
127.0.0.1 from a thread of the test process."""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
# the Makefile's `book` target runs the same command
SPHINX = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"]


def site_pages() -> list[str]:
    """The pages the site must have, from its sources: docs pages, lessons, exercise notebooks."""
    docs = REPO / "docs"
    pages = [p.relative_to(docs).with_suffix(".html") for p in docs.rglob("*.md") if "_build" not in p.parts]
    pages += [Path("lessons") / (p.stem + ".html") for p in (REPO / "notebooks").glob("*.ipynb")]
    pages += [Path("exercise_notebooks") / (p.stem + ".html") for p in (REPO / "exercises").glob("*.ipynb")]
    return sorted(str(p) for p in pages)


def build_site(out: Path) -> Path:
    result = subprocess.run([*SPHINX, str(REPO / "docs"), str(out)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the site does not build (make book):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


class SiteServer:
    """``url`` serves ``root``; ``stop()`` shuts the server down."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.root = root
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

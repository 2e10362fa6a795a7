"""Open in Colab: a badge in each notebook's first markdown cell, and a first code cell that installs
seqlab when the notebook runs in Google Colab.

The badge opens the notebook from GitHub (``GITHUB_REPO`` at ``GITHUB_BRANCH``) in Colab. Lessons link
to ``notebooks/``, exercises to ``exercises/``; nothing links to ``solutions/``. The setup cell checks
``"google.colab" in sys.modules`` and does nothing anywhere else (JupyterLab, nbval, the grader), so a
lesson's saved run stays valid. In Colab it installs seqlab and its dependencies while naming the
torch already installed as a requirement: pip finds it satisfied and keeps Colab's own (CUDA) build.

``add_colab`` is idempotent: run it again and nothing changes; change ``GITHUB_REPO`` and run it again
and every badge and setup cell is rewritten in place.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

# Where the course is hosted on GitHub, as "owner/repository". A placeholder: set it to your copy
# (docs/instructors.md, "Colab"), then run `python -m seqlab course colab --write`.
GITHUB_REPO = "your-org/seqlab"
GITHUB_BRANCH = "main"

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_CELL_ID = "colab-setup"
SETUP_FIRST_LINE = "# In Google Colab: install seqlab, keeping Colab's own torch. Anywhere else this cell does nothing."
# a badge line, whatever repository or notebook it points at
BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\([^)\s]*\)\]\([^)\s]*\)[ \t]*\n?", re.M)


def colab_url(folder: str, name: str) -> str:
    """Colab's URL for ``folder/name`` on GitHub, e.g. ``colab_url("notebooks", "01_gates.ipynb")``."""
    if folder == "solutions":
        raise ValueError("solutions are never linked to Colab; link the generated exercise in exercises/")
    return f"https://colab.research.google.com/github/{GITHUB_REPO}/blob/{GITHUB_BRANCH}/{folder}/{name}"


def badge(folder: str, name: str) -> str:
    """The badge as one markdown line."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(folder, name)})"


def install_spec() -> str:
    """What the setup cell asks pip for: seqlab built from the course's GitHub repository."""
    return f"seqlab @ git+https://github.com/{GITHUB_REPO}@{GITHUB_BRANCH}"


def setup_cell_source() -> str:
    """The setup cell's code. ``SEQLAB_INSTALL`` (a wheel, an index name) replaces the GitHub source."""
    return f'''{SETUP_FIRST_LINE}
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess
    from importlib.metadata import version

    seqlab = os.environ.get("SEQLAB_INSTALL", "{install_spec()}")
    # asking for the torch that is installed keeps it: pip finds it satisfied and fetches no other build
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", seqlab, f"torch=={{version('torch')}}"], check=True)
    # the committed results some lessons read from results/ and data/ beside them
    subprocess.run([sys.executable, "-c", "from seqlab.course.files import copy_lesson_data; copy_lesson_data('.')"],
                   check=True)'''


def is_setup_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and (
        cell.get("id") == SETUP_CELL_ID or cell.source.startswith(SETUP_FIRST_LINE))


def _first_markdown(nb: NotebookNode, where: str) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            return index
    raise ValueError(f"{where}: no markdown cell; a notebook opens with a markdown cell of learning goals")


def _with_badge(source: str, line: str) -> str:
    if BADGE_LINE.search(source):
        return BADGE_LINE.sub(line + "\n", source, count=1)
    head, newline, rest = source.partition("\n")
    if head.startswith("# "):  # under the title
        return f"{head}\n\n{line}\n\n{rest.lstrip(chr(10))}"
    return f"{line}\n\n{source}"


def _insert_setup_cell(nb: NotebookNode, at: int, source: str) -> None:
    """Insert the setup cell at ``at``. In a notebook saved from a run, later execution counts move up
    by one, as a run with the cell would number them (the cell has no output outside Colab)."""
    cell = new_code_cell(source)
    cell.id = SETUP_CELL_ID
    code = [c for c in nb.cells if c.cell_type == "code"]
    if any(c.execution_count is not None for c in code):
        before = [c.execution_count for c in nb.cells[:at] if c.cell_type == "code" and c.execution_count]
        cell.execution_count = (max(before) if before else 0) + 1
        for later in nb.cells[at:]:
            if later.cell_type == "code" and later.execution_count is not None \
                    and later.execution_count >= cell.execution_count:
                later.execution_count += 1
                for output in later.outputs:
                    if output.get("execution_count") is not None:
                        output.execution_count = later.execution_count
    nb.cells.insert(at, cell)


def add_colab(nb: NotebookNode, folder: str, name: str, where: str | None = None) -> NotebookNode:
    """Give ``nb`` (the notebook ``folder/name``) its badge and setup cell, in place; returns ``nb``.

    The badge goes under the title of the first markdown cell (the learning goals), replacing any
    older badge; the setup cell goes right after that markdown cell, or is rewritten where it is.
    """
    where = where or f"{folder}/{name}"
    first = _first_markdown(nb, where)
    nb.cells[first].source = _with_badge(nb.cells[first].source, badge(folder, name))
    source = setup_cell_source()
    existing = [c for c in nb.cells if is_setup_cell(c)]
    if len(existing) > 1:
        raise ValueError(f"{where}: {len(existing)} Colab setup cells; delete all but the first")
    if existing:
        existing[0].source = source
    else:
        _insert_setup_cell(nb, first + 1, source)
    return nb


def strip_colab(nb: NotebookNode) -> NotebookNode:
    """The inverse of ``add_colab`` (in place): no badge, no setup cell. Execution counts are left."""
    nb.cells = [c for c in nb.cells if not is_setup_cell(c)]
    for cell in nb.cells:
        if cell.cell_type == "markdown" and BADGE_LINE.search(cell.source):
            # the badge and the blank line _with_badge put after it
            cell.source = re.sub(BADGE_LINE.pattern + r"(\n(?=.))?", "", cell.source, count=1, flags=re.M)
            break
    return nb


def colab_problems(nb: NotebookNode, folder: str, name: str) -> list[str]:
    """What is missing or stale in ``nb``'s badge and setup cell ([] when both are as ``add_colab`` writes them)."""
    where = f"{folder}/{name}"
    problems = []
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    if not markdown or badge(folder, name) not in markdown[0].source.splitlines():
        problems.append(f"{where}: the first markdown cell has no (or an outdated) Open in Colab badge")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or not is_setup_cell(code[0]):
        problems.append(f"{where}: the first code cell is not the Colab setup cell")
    elif code[0].source != setup_cell_source():
        problems.append(f"{where}: the Colab setup cell is outdated")
    return problems

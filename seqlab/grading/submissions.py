"""Who handed in what: finding submissions, copying them safely, and the notebook the grader runs.

Layouts understood (the student always comes from a folder, never from a file name):

- ``submissions/<student>/<any name>.ipynb``                   (recommended; sub-folders allowed)
- ``submitted/<student>/<assignment>/<any name>.ipynb``       (nbgrader's course folder; pointed at a
  course folder, only ``submitted/`` is graded, never ``source/``, ``release/`` or ``autograded/``)
- notebooks named on the command line: the student is the folder holding the file

The exercise comes from the notebook's own ``metadata.seqlab.exercise`` (the generated exercises
carry it), so ``-Copy1`` and renamed files count; only a notebook without that metadata is matched
by its file name.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from seqlab.grading.cells import grade_id, is_solution_cell, is_test_cell

MAX_NOTEBOOK_BYTES = 20 << 20
COURSE_FOLDERS = ("source", "release", "autograded", "feedback")  # nbgrader's, besides submitted/
COPY_SUFFIX = re.compile(r"(-Copy\d+| \(\d+\)| copy( \d+)?)$", re.IGNORECASE)


class InvalidSubmission(ValueError):
    """A submission that cannot be graded; its message is the grading reason."""


@dataclass(frozen=True)
class Found:
    path: Path  # as found (for messages and the feedback)
    student: str | None  # None: no folder names the student


def find_notebooks(paths: list[str | Path]) -> list[Found]:
    """The ``.ipynb`` files among ``paths``, each with its student; checkpoints skipped.

    A folder is walked without following links; a notebook that is a link is still listed (and
    later refused). A folder holding ``submitted/`` is an nbgrader course: only ``submitted/`` counts.
    """
    found: dict[Path, Found] = {}
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink():
            root = path / "submitted" if (path / "submitted").is_dir() else path
            for folder, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
                for name in files:
                    if name.endswith(".ipynb"):
                        file = Path(folder) / name
                        parts = file.relative_to(root).parts
                        found[file] = Found(file, nfc(parts[0]) if len(parts) > 1 else None)
        elif path.suffix == ".ipynb" and (path.is_file() or path.is_symlink()):
            parent = path.parent.resolve().name if path.parent != Path(".") else Path.cwd().name
            found[path] = Found(path, nfc(parent) or None)
        else:
            raise FileNotFoundError(f"submission {str(path)!r} not found; pass notebooks or folders of them")
    return [found[p] for p in sorted(found)]


def nfc(name: str) -> str:
    """One spelling per name: a folder written in NFD (macOS) is the same student as in NFC."""
    return unicodedata.normalize("NFC", name)


def read_submission(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of a regular file, read once, before any student code runs.

    Raises ``InvalidSubmission`` for a link, a device, a pipe or a file over ``max_bytes``.
    """
    try:
        info = os.lstat(path)
    except OSError as error:
        raise InvalidSubmission(f"cannot read the submission: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise InvalidSubmission("refused: the submission is a symbolic link, not a notebook file")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidSubmission("refused: the submission is not a regular file (a device, pipe or socket)")
    if info.st_size > max_bytes:
        raise InvalidSubmission(f"refused: the notebook is {info.st_size / 2**20:.1f} MiB, over the "
                                f"{max_bytes / 2**20:g} MiB limit (clear its outputs and hand it in again)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise InvalidSubmission(f"cannot read the submission: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since the lstat
            raise InvalidSubmission("refused: the submission is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidSubmission(f"refused: the notebook is over the {max_bytes / 2**20:g} MiB limit")
    return data


def parse_notebook(data: bytes) -> NotebookNode:
    """Parse submitted bytes into an nbformat 4.5 notebook (nbformat 3 and 4.0-4.4 are upgraded,
    cells get ids); raise ``InvalidSubmission`` whose message says what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidSubmission(f"notebook is not valid UTF-8: {error}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidSubmission(f"notebook is not valid JSON: {error}") from None
    cells = raw.get("cells", [c for ws in raw.get("worksheets", []) if isinstance(ws, dict)
                                for c in ws.get("cells", [])]) if isinstance(raw, dict) else None
    if not isinstance(cells, list):
        raise InvalidSubmission("not a Jupyter notebook: the JSON has no list of cells")
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
        if nb.nbformat_minor < 5:
            nb = nbformat.v4.upgrade(nb, from_version=4, from_minor=nb.nbformat_minor)
    except Exception as error:
        raise InvalidSubmission(f"not a Jupyter notebook: {type(error).__name__}: {error}") from None
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise InvalidSubmission("not a Jupyter notebook: a cell has no valid cell_type")
        cell.setdefault("metadata", nbformat.NotebookNode())
        cell.setdefault("source", "")
        if not isinstance(cell.get("id"), str):
            cell["id"] = f"cell-{index}"
    return nb


def identify_exercise(path: Path, nb: NotebookNode | None, exercises: list[str]) -> str | None:
    """The exercise: ``metadata.seqlab.exercise``, else (no metadata) the file name without a copy
    suffix (``-Copy1``, `` (2)``)."""
    meta = nb.get("metadata", {}).get("seqlab", {}) if nb is not None else {}
    if isinstance(meta, dict) and meta.get("exercise") in exercises:
        return meta["exercise"]
    if isinstance(meta, dict) and meta.get("exercise"):
        return None  # names an exercise this course does not have
    stem = COPY_SUFFIX.sub("", path.stem)
    return stem if stem in exercises else None


def merge_tests(solution: NotebookNode, submission: NotebookNode) -> tuple[NotebookNode, dict[int, str]]:
    """The notebook to run: the submission's cells, with the solution's test cells at their place.

    Every cell of the submission that looks like a test cell (a test cell's cell id or
    ``grade_id``: the original, an edited one, a pasted or moved copy) becomes an ordinary,
    ungraded cell where the student left it. Each of the solution's test cells is then inserted
    after the submission's copy of the solution cell that precedes it in the solution (matched by
    cell id, else ``grade_id``), and after any cells the student added right below it; without that
    cell, at the end. So where a student moved, pasted, edited or deleted a test changes nothing.
    The grader's test cells lose the expected values of their checks (``without_expected``).
    Returns the merged notebook and ``{cell index: grade_id}`` of the grader's test cells.
    """
    tests = [cell for cell in solution.cells if is_test_cell(cell)]
    test_cell_ids, test_grade_ids = {cell.get("id") for cell in tests}, {grade_id(cell) for cell in tests}
    solution_ids = {cell.get("id") for cell in solution.cells}
    cells: list[NotebookNode] = []
    for index, cell in enumerate(submission.cells):
        cell = copy.deepcopy(cell)
        if cell.get("id") in test_cell_ids or grade_id(cell) in test_grade_ids:
            cell.metadata.pop("nbgrader", None)  # the student's copy: runs, earns nothing
            cell["id"] = f"student-copy-{index}"
        cells.append(cell)

    def position_after(anchor: NotebookNode) -> int | None:
        for index, cell in enumerate(cells):
            if cell.get("id") == anchor.get("id") or (
                is_solution_cell(anchor) and grade_id(cell) == grade_id(anchor)
            ):
                end = index + 1  # skip cells the student added right below their answer
                while end < len(cells) and cells[end].get("id") not in solution_ids:
                    end += 1
                return end
        return None

    inserted: list[NotebookNode] = []
    for position, test in enumerate(solution.cells):
        if not is_test_cell(test):
            continue
        at = len(cells)
        for previous in reversed(solution.cells[:position]):
            if is_solution_cell(previous) or previous in inserted:
                found = position_after(previous)
                if found is not None:
                    at = found
                    break
        grader_copy = copy.deepcopy(test)
        grader_copy.source = without_expected(test.source)
        cells.insert(at, grader_copy)
        inserted.append(test)

    merged = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(solution.metadata))
    ours = {cell.get("id"): grade_id(cell) for cell in tests}
    graded = {index: ours[cell.get("id")] for index, cell in enumerate(cells)
              if cell.get("id") in ours and is_test_cell(cell)}
    return merged, graded


def without_expected(source: str) -> str:
    """A test cell's source with every ``check(property, got, expected, **tolerances)`` reduced to
    ``check(property, got)``.

    The student's kernel then never holds an expected value or a function computing one, so code
    that replaces ``check`` or searches frames and memory finds nothing to hand back as its answer.
    """
    tree = ast.parse(source)

    class Strip(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.Call:
            self.generic_visit(node)
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name == "check":
                node.args, node.keywords = node.args[:2], []
            return node

    return ast.unparse(Strip().visit(tree))

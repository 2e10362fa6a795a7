"""Which exercise and which student a submitted notebook belongs to, and the notebook to run.

Layouts understood (``<exercise>`` is a solution's file-name stem, e.g. ``01_gru_lstm_cells``):

- ``submissions/<student>/<exercise>.ipynb``             (recommended)
- ``submitted/<student>/<exercise>/<exercise>.ipynb``     (nbgrader's ``submitted/`` layout)
- ``submissions/<exercise>/<student>.ipynb``             (file named after the student)
- ``<student>_<exercise>.ipynb``                         (flat, e.g. an LMS download)

The exercise is read from the notebook's ``metadata.seqlab.exercise`` (the exercise notebooks carry
it) and otherwise from the file and folder names.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from seqlab.grading.cells import grade_id, is_test_cell


class InvalidSubmission(ValueError):
    """A submission that cannot be read as a notebook; its message is the grading reason."""


def find_notebooks(paths: list[str | Path]) -> list[Path]:
    """The ``.ipynb`` files among ``paths`` (folders searched recursively), sorted, checkpoints skipped."""
    found: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            found.update(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.is_file():
            found.add(path)
        else:
            raise FileNotFoundError(f"submission {str(path)!r} not found; pass notebooks or folders of them")
    return sorted(found)


def parse_notebook(data: bytes) -> NotebookNode:
    """Parse submitted bytes; raise ``InvalidSubmission`` whose message says what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidSubmission(f"notebook is not valid UTF-8: {error}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidSubmission(f"notebook is not valid JSON: {error}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise InvalidSubmission("not a Jupyter notebook: the JSON has no list of cells")
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as error:
        raise InvalidSubmission(f"not a Jupyter notebook: {type(error).__name__}: {error}") from None
    for cell in nb.cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise InvalidSubmission("not a Jupyter notebook: a cell has no valid cell_type")
        cell.setdefault("metadata", nbformat.NotebookNode())
        cell.setdefault("source", "")
    return nb


def identify_exercise(path: Path, nb: NotebookNode | None, exercises: list[str]) -> str | None:
    """The exercise a submission answers: its metadata, else a name in its file or folder names."""
    if nb is not None:
        meta = nb.get("metadata", {}).get("seqlab", {})
        if isinstance(meta, dict) and meta.get("exercise") in exercises:
            return meta["exercise"]
    names = [path.stem, *(parent.name for parent in path.parents)]
    for name in names:
        if name in exercises:
            return name
    for name in sorted(exercises, key=len, reverse=True):  # e.g. "<student>_<exercise>.ipynb"
        if name in path.stem:
            return name
    return None


def identify_student(path: Path, exercise: str | None) -> str:
    """The student: the folder above the file when the file is named after the exercise
    (skipping a folder named after the exercise), else the file name without the exercise.
    For an unrecognised exercise, ``<folder>/<file stem>``: both candidates, for a person to sort out."""
    stem = path.stem
    if exercise is None:
        return f"{path.parent.name}/{stem}" if path.parent.name else stem
    if exercise and stem == exercise:
        for parent in path.parents:
            if parent.name and parent.name != exercise:
                return parent.name
        return stem
    if exercise and exercise in stem:
        rest = stem.replace(exercise, "").strip("_-. ")
        if rest:
            return rest
        return path.parent.name or stem
    return stem


def merge_tests(solution: NotebookNode, submission: NotebookNode) -> tuple[NotebookNode, dict[int, str]]:
    """The notebook to run: the submission with every test cell replaced by the solution's copy.

    Each solution test cell replaces one submission cell: the one with its cell id, else the first
    with its ``grade_id``. Other copies of a test cell (pasted by the student) stay as ordinary,
    ungraded cells. A test cell the student deleted is put back after the nearest earlier solution
    cell still present (else at the end). Returns the merged notebook and
    ``{cell index: grade_id}`` of the grader's test cells in it.
    """
    tests = [cell for cell in solution.cells if is_test_cell(cell)]
    by_grade_id = {grade_id(cell): cell for cell in tests}
    by_cell_id = {cell.get("id"): cell for cell in tests}
    replace: dict[int, NotebookNode] = {}  # submission cell index -> solution test cell
    chosen: set[str] = set()
    for lookup, key in ((by_cell_id, lambda c: c.get("id")), (by_grade_id, grade_id)):
        for index, cell in enumerate(submission.cells):
            test = lookup.get(key(cell))
            if test is not None and index not in replace and grade_id(test) not in chosen:
                replace[index] = test
                chosen.add(grade_id(test))

    cells: list[NotebookNode] = []
    placed: dict[str, NotebookNode] = {}
    for index, cell in enumerate(submission.cells):
        if index in replace:
            placed[grade_id(replace[index])] = copy.deepcopy(replace[index])
            cells.append(placed[grade_id(replace[index])])
        elif grade_id(cell) in by_grade_id or cell.get("id") in by_cell_id:
            ordinary = copy.deepcopy(cell)  # a pasted copy: the student's own, ungraded cell
            ordinary.metadata.pop("nbgrader", None)
            ordinary["id"] = f"student-copy-{index}"
            cells.append(ordinary)
        else:
            cells.append(cell)

    def present(reference: NotebookNode) -> int | None:
        for index, cell in enumerate(cells):
            if cell.get("id") == reference.get("id") or (
                grade_id(reference) is not None and grade_id(cell) == grade_id(reference)
            ):
                return index
        return None

    for position, cell in enumerate(solution.cells):
        if not is_test_cell(cell) or grade_id(cell) in placed:
            continue
        insert_at = len(cells)
        for previous in reversed(solution.cells[:position]):
            found = present(previous)
            if found is not None:
                insert_at = found + 1
                break
        placed[grade_id(cell)] = copy.deepcopy(cell)
        cells.insert(insert_at, placed[grade_id(cell)])

    merged = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(solution.metadata))
    grader_cells = {id(cell): gid for gid, cell in placed.items()}
    graded = {index: grader_cells[id(cell)] for index, cell in enumerate(cells) if id(cell) in grader_cells}
    return merged, graded

"""Reading a cell's nbgrader metadata, and checking a solution notebook's structure.

nbgrader's cell metadata (schema_version 3), which the solutions use unchanged:

- solution cell: ``{"solution": true, "grade": false, "locked": false, "grade_id": ..., "schema_version": 3}``
- test cell:     ``{"solution": false, "grade": true, "locked": true, "grade_id": ..., "points": N, "schema_version": 3}``

A notebook names its exercise in ``metadata.seqlab.exercise`` (the solution's file-name stem).
"""

from __future__ import annotations

import ast
from pathlib import Path

from nbformat import NotebookNode

from seqlab.grading.markers import MarkerError, find_regions


def nbgrader(cell: NotebookNode) -> dict:
    """The cell's ``metadata.nbgrader`` dict ({} when absent or not a dict)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_solution_cell(cell: NotebookNode) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader(cell).get("solution"))


def is_test_cell(cell: NotebookNode) -> bool:
    """A graded code cell that is not also a solution: its points are earned when it runs clean."""
    meta = nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def grade_id(cell: NotebookNode) -> str | None:
    value = nbgrader(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def where(path: str | Path, index: int, cell: NotebookNode) -> str:
    """``"solutions/x.ipynb, cell 3 (id 'gru-test')"``: how error messages name a cell."""
    return f"{path}, cell {index} (id {cell.get('id')!r})"


def check_solution_notebook(nb: NotebookNode, path: str | Path) -> None:
    """Raise ``MarkerError`` naming notebook and cell for anything the builder or grader cannot use.

    Checks: markers well formed (closed, not nested, no END without BEGIN); solution markers only in
    solution code cells, hidden-test markers only in test cells, never in markdown; each solution
    cell has a solution region; each test cell has a unique ``grade_id`` and ``points >= 0``; every
    cell has a unique nbformat cell id; ``metadata.seqlab.exercise`` is the file-name stem.
    """
    path = Path(path)
    expected = path.stem
    exercise = nb.get("metadata", {}).get("seqlab", {}).get("exercise")
    if exercise != expected:
        raise MarkerError(
            f"{path}: metadata.seqlab.exercise is {exercise!r}, expected the file-name stem "
            f"{expected!r}; set it so the grader can recognise submissions"
        )
    seen_ids: dict[str, int] = {}
    seen_grade_ids: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        here = where(path, index, cell)
        cell_id = cell.get("id")
        if not cell_id:
            raise MarkerError(f"{here}: the cell has no nbformat cell id; save it with nbformat >= 4.5")
        if cell_id in seen_ids:
            raise MarkerError(f"{here}: cell id {cell_id!r} is also used by cell {seen_ids[cell_id]}")
        seen_ids[cell_id] = index
        try:
            regions = find_regions(cell.source)
        except ValueError as error:
            raise MarkerError(f"{here}: {error}") from None
        kinds = {region.kind for region in regions}
        if regions and cell.cell_type != "code":
            raise MarkerError(
                f"{here}: markers are only allowed in code cells, found a {sorted(kinds)[0]} "
                f"marker in a {cell.cell_type} cell; move it to a code cell or delete it"
            )
        if "solution" in kinds and not is_solution_cell(cell):
            raise MarkerError(
                f"{here}: '### BEGIN SOLUTION' in a cell that is not a solution cell; set "
                f"metadata.nbgrader.solution = true or remove the markers"
            )
        if "hidden tests" in kinds and not is_test_cell(cell):
            raise MarkerError(
                f"{here}: '### BEGIN HIDDEN TESTS' in a cell that is not a test cell; set "
                f"metadata.nbgrader.grade = true (with grade_id and points) or remove the markers"
            )
        if is_solution_cell(cell) and "solution" not in kinds:
            raise MarkerError(
                f"{here}: solution cell without a '### BEGIN SOLUTION' / '### END SOLUTION' region; "
                f"mark the code students must write"
            )
        meta = nbgrader(cell)
        if meta.get("grade") or meta.get("solution"):
            gid = grade_id(cell)
            if gid is None:
                raise MarkerError(f"{here}: metadata.nbgrader has no grade_id; give the cell a unique one")
            if gid in seen_grade_ids:
                raise MarkerError(f"{here}: grade_id {gid!r} is also used by cell {seen_grade_ids[gid]}")
            seen_grade_ids[gid] = index
        if is_test_cell(cell):
            try:
                ast.parse(cell.source)
            except SyntaxError as error:
                raise MarkerError(f"{here}: a test cell must be plain Python (the grader rewrites its "
                                  f"check(...) calls): {error}") from None
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                raise MarkerError(
                    f"{here}: test cell {grade_id(cell)!r} has points {points!r}; expected a number >= 0"
                )

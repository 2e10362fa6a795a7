"""Build ``exercises/*.ipynb`` from ``solutions/*.ipynb``, or check that they agree.

The solutions are the one hand-edited source. An exercise is its solution with every solution
region replaced by a ``raise NotImplementedError`` stub, hidden tests removed, and outputs and
execution counts cleared. The bytes are a pure function of the solution's content (nbformat's
sorted-key JSON), so rebuilding an unchanged solution changes nothing and ``check`` can compare bytes.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from seqlab.course.colab import add_colab
from seqlab.grading.cells import check_solution_notebook, is_solution_cell, is_test_cell
from seqlab.grading.markers import find_regions, replace_regions

# per-cell metadata a run leaves behind; an exercise starts clean
RUN_METADATA = ("execution", "collapsed", "scrolled")


def read_notebook(path: str | Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def solution_paths(solutions_dir: str | Path) -> list[Path]:
    """The solution notebooks in ``solutions_dir``, sorted by name.

    Raises ``FileNotFoundError`` when the folder is missing or holds no notebook.
    """
    solutions_dir = Path(solutions_dir)
    if not solutions_dir.is_dir():
        raise FileNotFoundError(
            f"solutions folder {str(solutions_dir)!r} not found; run from the repository root "
            f"or pass --solutions DIR"
        )
    paths = sorted(solutions_dir.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no *.ipynb in the solutions folder {str(solutions_dir)!r}")
    return paths


def build_exercise(solution: NotebookNode, path: str | Path) -> NotebookNode:
    """Return the exercise notebook for one solution notebook (``path`` is only used in errors)."""
    check_solution_notebook(solution, path)
    exercise = copy.deepcopy(solution)
    # language_info records the Python that last ran the solution; re-running it must not change the exercise
    if "language_info" in exercise.metadata:
        exercise.metadata.language_info = {"name": exercise.metadata.language_info.get("name", "python")}
    for cell in exercise.cells:
        for key in RUN_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if is_solution_cell(cell) or is_test_cell(cell):
            cell.source = replace_regions(cell.source, find_regions(cell.source))
    return add_colab(exercise, "exercises", Path(path).name)  # its badge opens the exercise, never the solution


def render(nb: NotebookNode) -> bytes:
    """The notebook as nbformat writes it (sorted keys, indent 1) plus a final newline."""
    return (nbformat.writes(nb, version=4) + "\n").encode("utf-8")


def build_all(solutions_dir: str | Path) -> dict[str, bytes]:
    """``{file name: exercise bytes}`` for every solution notebook, in name order."""
    return {
        path.name: render(build_exercise(read_notebook(path), path))
        for path in solution_paths(solutions_dir)
    }


def write_exercises(solutions_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the exercises into ``out_dir``; return the paths whose bytes changed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, data in build_all(solutions_dir).items():
        target = out_dir / name
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
            changed.append(target)
    return changed


def check_exercises(solutions_dir: str | Path, out_dir: str | Path) -> list[str]:
    """Problems that make ``out_dir`` differ from a fresh build ([] when they agree)."""
    out_dir = Path(out_dir)
    built = build_all(solutions_dir)
    problems = []
    for name, data in built.items():
        target = out_dir / name
        if not target.is_file():
            problems.append(f"{target} is missing")
        elif target.read_bytes() != data:
            problems.append(f"{target} differs from a fresh build of {Path(solutions_dir) / name}")
    for target in sorted(out_dir.glob("*.ipynb")) if out_dir.is_dir() else []:
        if target.name not in built:
            problems.append(f"{target} has no solution in {solutions_dir} (stale; delete it)")
    return problems

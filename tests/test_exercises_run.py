"""Each exercise notebook, run as handed out, fails only because of its stubs.

Rule: solution cells (function definitions with a stub inside) run clean; every test cell fails with
the stub's ``NotImplementedError`` (so no test passes on an empty answer); any other cell either runs
clean or fails with that same ``NotImplementedError`` (a demo that calls the student's functions).
No cell may fail for any other reason (a NameError, a typo in a visible test, a missing import).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from seqlab.grading.cells import is_solution_cell, is_test_cell
from seqlab.grading.execute import run_cells

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))
STUB = "NotImplementedError: not implemented"


def run_exercise(name: str) -> list[tuple[str, str, str]]:
    """``(cell id, kind, reason)`` for every code cell of the exercise notebook, run as is."""
    nb = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
    code = {i: c.id for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    kinds = {c.id: "solution" if is_solution_cell(c) else "test" if is_test_cell(c) else "other" for c in nb.cells}
    with tempfile.TemporaryDirectory() as cwd:
        results = run_cells(nb, code, timeout=120, cwd=cwd)
    return [(cell_id, kinds[cell_id], results[cell_id].reason) for cell_id in code.values()]


@pytest.fixture(scope="module")
def runs():
    with ThreadPoolExecutor(max_workers=2) as pool:  # each thread drives its own kernel
        return dict(zip(NAMES, pool.map(run_exercise, NAMES)))


def test_there_are_five_exercises():
    assert NAMES == ["01_gru_lstm_cells", "02_gradient_flow", "03_sunspot_windows_loss", "04_selective_scan",
                     "05_linear_attention"]


@pytest.mark.parametrize("name", NAMES)
def test_exercise_fails_only_on_its_stubs(runs, name):
    cells = runs[name]
    assert any(kind == "test" for _, kind, _ in cells)
    for cell_id, kind, reason in cells:
        if kind == "solution":
            assert reason == "passed", f"{name} {cell_id}: {reason}"
        elif kind == "test":
            assert reason == STUB, f"{name} {cell_id}: {reason}"
        else:
            assert reason in ("passed", STUB), f"{name} {cell_id}: {reason}"

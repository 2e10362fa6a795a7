"""The exercise builder: markers, errors that name notebook and cell, idempotence, and the CI check
that the committed exercises/ equal a fresh build of solutions/ (no kernels; fast)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from seqlab.cli import main
from seqlab.course.colab import colab_url, is_setup_cell, strip_colab
from seqlab.grading.build import build_all, build_exercise, check_exercises, write_exercises
from seqlab.grading.cells import grade_id, is_solution_cell, is_test_cell, nbgrader
from seqlab.grading.markers import MarkerError, find_regions, replace_regions

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

# the points table documented in docs/instructors.md
POINTS = {
    "01_gru_lstm_cells": {"gru_cell": 3, "lstm_cell": 3, "gates_quiz": 1},
    "02_gradient_flow": {"gradient_norms": 3, "decay_rate": 2, "diagnose": 2, "flow_quiz": 1},
    "03_sunspot_windows_loss": {"make_windows": 2, "combined_loss": 2, "r2_score": 2, "protocol_quiz": 1},
    "04_selective_scan": {"discretize": 2, "selective_scan": 3, "step_size_quiz": 1},
    "05_linear_attention": {"linear_attention_recurrent": 3, "memory_floats": 1, "decay_mask": 2},
}


def solution_cell(source: str, cell_id: str = "answer") -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.id = cell_id
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": f"{cell_id}_code", "locked": False,
                                 "schema_version": 3, "solution": True, "task": False}
    return cell


def graded_cell(source: str, cell_id: str = "check", points: int = 2) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.id = cell_id
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": cell_id, "locked": True, "points": points,
                                 "schema_version": 3, "solution": False, "task": False}
    return cell


def tiny_notebook(*cells, name: str = "99_tiny") -> nbformat.NotebookNode:
    intro = new_markdown_cell("# Tiny")
    intro.id = "intro"
    nb = new_notebook(cells=[intro, *cells])
    nb.metadata["seqlab"] = {"exercise": name}
    return nb


GOOD_SOLUTION = "def f(x):\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n"
GOOD_TEST = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n### END HIDDEN TESTS"


def test_stub_keeps_indentation_and_hidden_tests_vanish():
    assert replace_regions(GOOD_SOLUTION, find_regions(GOOD_SOLUTION)) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError(\"not implemented\")"
    )
    assert replace_regions(GOOD_TEST, find_regions(GOOD_TEST)) == "assert f(1) == 2"
    top_level = "a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\nc = 3"
    assert replace_regions(top_level, find_regions(top_level)) == (
        "a = 1\n# YOUR CODE HERE\nraise NotImplementedError(\"not implemented\")\nc = 3"
    )


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION", "nested"),
        ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION", "nested"),
        ("x = 1\n### END SOLUTION", "no matching BEGIN"),
        ("### BEGIN SOLUTION\n### END HIDDEN TESTS", "closes a hidden tests region"),
        ("## BEGIN SOLUTION\nx = 1\n### END SOLUTION", "looks like a marker"),
    ],
)
def test_malformed_markers_are_errors(source, message):
    with pytest.raises(ValueError, match=message):
        find_regions(source)


@pytest.mark.parametrize(
    "cell, message",
    [
        (solution_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n", "bad-cell"), "never closed"),
        (solution_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION", "bad-cell"), "nested"),
        (solution_cell("x = 1\n### END SOLUTION", "bad-cell"), "no matching BEGIN"),
        (new_markdown_cell("Text\n### BEGIN SOLUTION\nanswer\n### END SOLUTION"), "only allowed in code cells"),
        (new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "not a solution cell"),
        (solution_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "bad-cell"),
         "not a test cell"),
        (new_code_cell("assert True\n### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS"), "not a test cell"),
        (solution_cell("x = 1  # forgot the markers", "bad-cell"), "without a '### BEGIN SOLUTION'"),
        (graded_cell("assert True", "bad-cell", points=-1), "points -1"),
    ],
)
def test_marker_errors_name_notebook_and_cell(cell, message):
    cell.id = "bad-cell"
    nb = tiny_notebook(solution_cell(GOOD_SOLUTION), graded_cell(GOOD_TEST), cell)
    with pytest.raises(MarkerError, match=message) as error:
        build_exercise(nb, "solutions/99_tiny.ipynb")
    assert "solutions/99_tiny.ipynb, cell 3 (id 'bad-cell')" in str(error.value)


def test_exercise_name_and_grade_ids_are_checked():
    nb = tiny_notebook(solution_cell(GOOD_SOLUTION), graded_cell(GOOD_TEST), name="other")
    with pytest.raises(MarkerError, match="metadata.seqlab.exercise is 'other'"):
        build_exercise(nb, "solutions/99_tiny.ipynb")
    nb = tiny_notebook(solution_cell(GOOD_SOLUTION), graded_cell(GOOD_TEST), graded_cell("assert 1", "check2"))
    nb.cells[-1].metadata.nbgrader["grade_id"] = "check"
    with pytest.raises(MarkerError, match="grade_id 'check' is also used by cell 2"):
        build_exercise(nb, "solutions/99_tiny.ipynb")


def test_build_is_idempotent_and_check_names_the_stale_notebook(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(SOLUTIONS, solutions)
    assert len(write_exercises(solutions, exercises)) == len(POINTS)
    first = {p.name: p.read_bytes() for p in exercises.glob("*.ipynb")}
    assert write_exercises(solutions, exercises) == []  # nothing changes the second time
    assert {p.name: p.read_bytes() for p in exercises.glob("*.ipynb")} == first == build_all(solutions)
    assert check_exercises(solutions, exercises) == []

    # edit a solution and forget to rebuild: the check names that notebook, through the CLI too
    edited = solutions / "03_sunspot_windows_loss.ipynb"
    nb = nbformat.read(edited, as_version=4)
    nb.cells[0].source += "\n\nOne more sentence."
    nbformat.write(nb, edited)
    problems = check_exercises(solutions, exercises)
    assert problems == [f"{exercises / edited.name} differs from a fresh build of {edited}"]
    result = subprocess.run(
        [sys.executable, "-m", "seqlab", "exercises", "check", "--solutions", str(solutions), "--out", str(exercises)],
        capture_output=True, text=True,
    )
    assert result.returncode == 1 and "03_sunspot_windows_loss.ipynb differs" in result.stderr
    assert "01_gru_lstm_cells" not in result.stderr


def test_committed_exercises_equal_a_fresh_build(monkeypatch, capsys):
    """The CI check: edit a solution without `python -m seqlab exercises build` and this fails."""
    monkeypatch.chdir(ROOT)
    assert main(["exercises", "check"]) == 0, capsys.readouterr().err


def test_usage_errors_exit_nonzero(tmp_path, capsys):
    assert main(["exercises", "build", "--solutions", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(POINTS))
def test_exercises_hide_solutions_and_keep_the_graded_cells(name):
    solution = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    exercise = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
    assert exercise.metadata.seqlab.exercise == name
    assert exercise.cells[0].cell_type == "markdown" and "Learning goals" in exercise.cells[0].source
    # the exercise is the solution plus its Colab badge and setup cell (tests/test_course.py checks those)
    assert colab_url("exercises", f"{name}.ipynb") in exercise.cells[0].source
    assert is_setup_cell(exercise.cells[1]) and not any(is_setup_cell(c) for c in solution.cells)
    exercise = strip_colab(exercise)
    assert [c.id for c in exercise.cells] == [c.id for c in solution.cells]
    tests = {grade_id(c): nbgrader(c)["points"] for c in exercise.cells if is_test_cell(c)}
    assert tests == POINTS[name]
    for before, after in zip(solution.cells, exercise.cells):
        assert nbgrader(before) == nbgrader(after)
        text = after.source
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        if after.cell_type == "code":
            assert after.outputs == [] and after.execution_count is None
        if is_solution_cell(after):
            assert "# YOUR CODE HERE" in text and 'raise NotImplementedError("not implemented")' in text
        elif is_test_cell(after):
            assert text and text in before.source and "BEGIN HIDDEN TESTS" in before.source
        else:
            assert text == before.source
    # the solutions are committed executed (nbval compares their outputs)
    assert all(c.execution_count for c in solution.cells if c.cell_type == "code")

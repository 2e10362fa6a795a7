"""Grading a class with one command: one `python -m seqlab grade` run over good, untouched, known-wrong
and hostile submissions (they share the worker pool), checked point by point against the points
each broken part is worth."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from seqlab.cli import main
from seqlab.grading.submissions import identify_exercise, identify_student, merge_tests

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
TIMEOUT = 15  # seconds per notebook in this test; the looping submission uses all of it

FULL = {
    "01_gru_lstm_cells": {"gru_cell": 3, "lstm_cell": 3},
    "02_gradient_flow": {"gradient_norms": 3, "decay_rate": 2, "diagnose": 2},
    "03_sunspot_windows_loss": {"make_windows": 2, "combined_loss": 2, "r2_score": 2},
    "04_selective_scan": {"discretize": 2, "selective_scan": 3},
    "05_linear_attention": {"linear_attention_recurrent": 3, "decay_mask": 2},
}

# known-wrong edits of the solution source: (exercise, cell id, correct text, wrong text)
GRU_SWAPPED = ("01_gru_lstm_cells", "gru-cell", "h_next = (1 - z) * n + z * hx", "h_next = z * n + (1 - z) * hx")
LSTM_NO_FORGET = ("01_gru_lstm_cells", "lstm-cell", "c_next = f * cx + i * g", "c_next = cx + i * g")
LOSS_SWAPPED = ("03_sunspot_windows_loss", "combined-loss", "return alpha * mse + (1 - alpha) * rmse",
                "return alpha * rmse + (1 - alpha) * mse")
# passes the visible tests (scaled identities), fails a hidden one (a non-symmetric matrix)
DIAGNOSE_BY_NORM = ("02_gradient_flow", "diagnose", "float(torch.linalg.eigvals(weight_hh).abs().max())",
                    "float(torch.linalg.matrix_norm(weight_hh, ord=2))")
SCAN_NO_SKIP = ("04_selective_scan", "selective-scan", "return y + u * D[None, :, None]", "return y")


def solution(exercise: str) -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / f"{exercise}.ipynb", as_version=4)


def edit(nb: nbformat.NotebookNode, cell_id: str, old: str, new: str) -> nbformat.NotebookNode:
    (cell,) = [c for c in nb.cells if c.id == cell_id]
    assert old in cell.source, f"{old!r} not in cell {cell_id}: the solution changed, update this test"
    cell.source = cell.source.replace(old, new)
    return nb


def broken(exercise, cell_id, old, new) -> nbformat.NotebookNode:
    return edit(solution(exercise), cell_id, old, new)


def save(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def make_class(root: Path) -> None:
    """Submissions in the layouts the grader documents; names say what each one does."""
    for exercise in FULL:
        save(solution(exercise), root / "solution" / f"{exercise}.ipynb")
        save(nbformat.read(EXERCISES / f"{exercise}.ipynb", as_version=4), root / "untouched" / f"{exercise}.ipynb")
    save(broken(*GRU_SWAPPED), root / "wrong_gru" / "01_gru_lstm_cells.ipynb")
    save(broken(*LSTM_NO_FORGET), root / "wrong_lstm" / "01_gru_lstm_cells.ipynb")
    save(broken(*LOSS_SWAPPED), root / "wrong_loss" / "03_sunspot_windows_loss.ipynb")
    save(broken(*SCAN_NO_SKIP), root / "wrong_scan" / "04_selective_scan.ipynb")
    save(broken(*DIAGNOSE_BY_NORM), root / "wrong_hidden" / "02_gradient_flow.ipynb")

    # a wrong GRU whose author "fixed" its test cell and deleted the LSTM test: gains nothing
    cheat = broken(*GRU_SWAPPED)
    for cell in cheat.cells:
        if cell.id == "test-gru-cell":
            cell.source = "print('all tests pass')"
    cheat.cells = [c for c in cheat.cells if c.id != "test-lstm-cell"]
    save(cheat, root / "cheater" / "01_gru_lstm_cells.ipynb")

    # correct code, every test cell deleted: the grader puts them all back
    deleted = solution("03_sunspot_windows_loss")
    deleted.cells = [c for c in deleted.cells if "nbgrader" not in c.metadata or c.metadata.nbgrader.get("solution")]
    save(deleted, root / "deleted" / "03_sunspot_windows_loss.ipynb")

    looper = edit(solution("03_sunspot_windows_loss"), "r2-score", "def r2_score", "while True:\n    pass\n\ndef r2_score")
    save(looper, root / "looper" / "03_sunspot_windows_loss.ipynb")
    quitter = edit(solution("02_gradient_flow"), "decay-rate", "def decay_rate", "import os\nos._exit(1)\n\ndef decay_rate")
    save(quitter, root / "quitter" / "02_gradient_flow.ipynb")
    # layout <exercise>/<student>.ipynb, found by metadata
    exiter = edit(solution("04_selective_scan"), "selective-scan", "def selective_scan", "exit()\n\ndef selective_scan")
    save(exiter, root / "04_selective_scan" / "exiter.ipynb")
    # flat layout <student>_<exercise>.ipynb; about 5 MB of prints
    chatty = edit(solution("04_selective_scan"), "discretize", "def discretize",
                  "for _ in range(50):\n    print('x' * 100_000)\n\ndef discretize")
    save(chatty, root / "chatty_04_selective_scan.ipynb")
    text = (SOLUTIONS / "01_gru_lstm_cells.ipynb").read_text()
    (root / "truncated").mkdir()
    (root / "truncated" / "01_gru_lstm_cells.ipynb").write_text(text[: len(text) // 2])


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.ipynb"))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    submissions = base / "submissions"
    make_class(submissions)
    before = digest(submissions)
    result = subprocess.run(
        [sys.executable, "-m", "seqlab", "grade", str(submissions), "--solutions", str(SOLUTIONS),
         "--timeout", str(TIMEOUT), "--jobs", "2", "--out", str(base / "grades.csv"),
         "--feedback-dir", str(base / "feedback")],
        capture_output=True, text=True, cwd=base, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(base / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    grades = {}
    for row in rows:
        grades.setdefault(row["student"], {}).setdefault(row["exercise"], {})[row["question"]] = row
    return {"base": base, "rows": rows, "grades": grades, "before": before, "after": digest(submissions),
            "stdout": result.stdout}


def points(graded, student, exercise) -> dict[str, int]:
    return {q: int(row["points"]) for q, row in graded["grades"][student][exercise].items()}


def reasons(graded, student, exercise) -> dict[str, str]:
    return {q: row["reason"] for q, row in graded["grades"][student][exercise].items()}


def test_every_solution_scores_full_marks(graded):
    assert set(graded["grades"]["solution"]) == set(FULL)
    for exercise, full in FULL.items():
        assert points(graded, "solution", exercise) == full
        assert set(reasons(graded, "solution", exercise).values()) == {"passed"}


def test_every_untouched_exercise_scores_zero(graded):
    for exercise, full in FULL.items():
        assert points(graded, "untouched", exercise) == dict.fromkeys(full, 0)
        for reason in reasons(graded, "untouched", exercise).values():
            assert reason == "NotImplementedError: not implemented"


@pytest.mark.parametrize(
    "student, exercise, lost",
    [
        ("wrong_gru", "01_gru_lstm_cells", "gru_cell"),
        ("wrong_lstm", "01_gru_lstm_cells", "lstm_cell"),
        ("wrong_loss", "03_sunspot_windows_loss", "combined_loss"),
        ("wrong_scan", "04_selective_scan", "selective_scan"),
        ("cheater", "01_gru_lstm_cells", "gru_cell"),
        ("wrong_hidden", "02_gradient_flow", "diagnose"),
    ],
)
def test_known_wrong_code_loses_exactly_its_points(graded, student, exercise, lost):
    assert points(graded, student, exercise) == {**FULL[exercise], lost: 0}
    assert reasons(graded, student, exercise)[lost].startswith("AssertionError")


def test_hidden_tests_count(graded):
    """A diagnosis by singular values passes every visible test and fails a hidden one."""
    (visible,) = [c for c in nbformat.read(EXERCISES / "02_gradient_flow.ipynb", as_version=4).cells
                  if c.id == "test-diagnose"]
    assert "shear" not in visible.source
    reason = reasons(graded, "wrong_hidden", "02_gradient_flow")["diagnose"]
    assert reason == "AssertionError: use the eigenvalues, not the singular values"


def test_deleted_test_cells_are_put_back(graded):
    assert points(graded, "deleted", "03_sunspot_windows_loss") == FULL["03_sunspot_windows_loss"]


def test_a_notebook_that_never_finishes_times_out(graded):
    assert points(graded, "looper", "03_sunspot_windows_loss") == {"make_windows": 2, "combined_loss": 2, "r2_score": 0}
    assert reasons(graded, "looper", "03_sunspot_windows_loss")["r2_score"] == f"timed out after {TIMEOUT} s"


def test_a_dead_kernel_costs_what_could_not_run(graded):
    assert points(graded, "quitter", "02_gradient_flow") == {"gradient_norms": 3, "decay_rate": 0, "diagnose": 0}
    assert reasons(graded, "quitter", "02_gradient_flow")["diagnose"] == "kernel died"
    assert points(graded, "exiter", "04_selective_scan") == {"discretize": 2, "selective_scan": 0}
    assert reasons(graded, "exiter", "04_selective_scan")["selective_scan"].startswith("kernel died")


def test_invalid_json_and_floods_of_output(graded):
    assert points(graded, "truncated", "01_gru_lstm_cells") == {"gru_cell": 0, "lstm_cell": 0}
    assert reasons(graded, "truncated", "01_gru_lstm_cells")["gru_cell"].startswith("notebook is not valid JSON: ")
    assert points(graded, "chatty", "04_selective_scan") == FULL["04_selective_scan"]


def test_outputs_are_stable_complete_and_the_submissions_untouched(graded):
    assert graded["after"] == graded["before"]
    rows = graded["rows"]
    assert list(rows[0]) == ["student", "exercise", "question", "points", "max_points", "reason"]
    keys = [(r["student"], r["exercise"]) for r in rows]
    assert keys == sorted(keys)  # students, then exercises, in order; questions in notebook order
    expected_students = {"solution", "untouched", "wrong_gru", "wrong_lstm", "wrong_loss", "wrong_scan",
                         "cheater", "deleted", "looper", "quitter", "exiter", "chatty", "truncated",
                         "wrong_hidden"}
    assert set(graded["grades"]) == expected_students
    with open(graded["base"] / "grades_totals.csv", newline="") as handle:
        totals = {(r["student"], r["exercise"]): (int(r["points"]), int(r["max_points"])) for r in csv.DictReader(handle)}
    assert totals[("solution", "(all)")] == (24, 24)
    assert totals[("untouched", "(all)")] == (0, 24)
    assert totals[("looper", "03_sunspot_windows_loss")] == (4, 6)
    feedback = (graded["base"] / "feedback" / "cheater.md").read_text()
    assert "| gru_cell | 0 / 3 | AssertionError" in feedback and "| lstm_cell | 3 / 3 | passed |" in feedback
    assert "**Total: 3 / 6 points**" in feedback
    assert {p.stem for p in (graded["base"] / "feedback").glob("*.md")} == expected_students


def test_usage_errors_exit_nonzero(tmp_path, capsys):
    missing = main(["grade", str(tmp_path), "--solutions", str(tmp_path / "nope")])
    assert missing == 2 and "not found" in capsys.readouterr().err
    empty = main(["grade", str(tmp_path), "--solutions", str(SOLUTIONS)])
    assert empty == 2 and "no .ipynb" in capsys.readouterr().err


@pytest.mark.parametrize(
    "path, exercise, student",
    [
        ("submissions/alice/01_gru_lstm_cells.ipynb", "01_gru_lstm_cells", "alice"),
        ("submitted/bob/01_gru_lstm_cells/01_gru_lstm_cells.ipynb", "01_gru_lstm_cells", "bob"),
        ("submissions/04_selective_scan/carol.ipynb", "04_selective_scan", "carol"),
        ("downloads/dave_03_sunspot_windows_loss.ipynb", "03_sunspot_windows_loss", "dave"),
        ("downloads/erin.ipynb", None, "downloads/erin"),
    ],
)
def test_students_and_exercises_are_found_by_path(path, exercise, student):
    found = identify_exercise(Path(path), None, sorted(FULL))
    assert found == exercise
    assert identify_student(Path(path), found) == student


def test_metadata_names_the_exercise_when_the_file_name_does_not():
    nb = solution("02_gradient_flow")
    assert identify_exercise(Path("x/homework.ipynb"), nb, sorted(FULL)) == "02_gradient_flow"


def test_merge_replaces_edited_reinserts_deleted_and_keeps_pasted_copies_ungraded():
    reference = solution("02_gradient_flow")
    submission = solution("02_gradient_flow")
    by_id = {c.id: c for c in submission.cells}
    by_id["test-gradient-norms"].source = "pass"  # edited: replaced by the grader's copy
    pasted = nbformat.from_dict(dict(by_id["test-diagnose"]))  # pasted above the solution cells
    pasted.id = "pasted"
    pasted.source = "scratch = 1"
    submission.cells = [pasted] + [c for c in submission.cells if c.id != "test-decay-rate"]
    merged, graded = merge_tests(reference, submission)
    ids = [c.id for c in merged.cells]
    # the deleted test goes right after the cell that preceded it in the solution; the pasted copy
    # stays where the student put it, as an ordinary cell, and the original (by cell id) is graded
    assert ids == ["student-copy-0"] + [c.id for c in reference.cells]
    assert merged.cells[0].source == "scratch = 1" and "nbgrader" not in merged.cells[0].metadata
    assert sorted(graded.values()) == ["decay_rate", "diagnose", "gradient_norms"]
    for index, gid in graded.items():
        original = next(c for c in reference.cells if c.id == merged.cells[index].id)
        assert merged.cells[index].source == original.source and "BEGIN HIDDEN TESTS" in original.source
        assert merged.cells[index].metadata.nbgrader["grade_id"] == gid


def test_unreadable_and_unrecognised_notebooks(tmp_path, capsys):
    """Notebooks that never reach a kernel still get rows, reasons and feedback."""
    (tmp_path / "frank").mkdir()
    (tmp_path / "frank" / "01_gru_lstm_cells.ipynb").write_bytes(b"\xff\xfe not utf-8")
    (tmp_path / "erin").mkdir()
    (tmp_path / "erin" / "homework.ipynb").write_text('{"cells": "not a list"}')
    out = tmp_path / "out" / "grades.csv"
    assert main(["grade", str(tmp_path), "--solutions", str(SOLUTIONS), "--jobs", "1", "--out", str(out),
                 "--feedback-dir", str(tmp_path / "feedback")]) == 0
    with open(out, newline="") as handle:
        rows = [(r["student"], r["exercise"], r["question"], r["points"], r["max_points"], r["reason"])
                for r in csv.DictReader(handle)]
    assert rows[0][:3] == ("erin/homework", "?", "-") and rows[0][5].startswith("cannot tell which exercise")
    assert [r[2:5] for r in rows[1:]] == [("gru_cell", "0", "3"), ("lstm_cell", "0", "3")]
    assert all(r[5].startswith("notebook is not valid UTF-8") for r in rows[1:])
    assert "frank: 0 / 6" in capsys.readouterr().out
    assert "| gru_cell | 0 / 3 | notebook is not valid UTF-8" in (tmp_path / "feedback" / "frank.md").read_text()

"""The grader's parts without a class: plain data and its comparison, check(), the rewrite of test
cells, finding and refusing files, merging tests, feedback names; then two small runs on a tiny
pure-Python exercise (an interrupted run, and --no-sandbox)."""

from __future__ import annotations

import csv
import re
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from seqlab.grading.checks import check, encode
from seqlab.grading.grade import feedback_names
from seqlab.grading.submissions import (
    InvalidSubmission,
    find_notebooks,
    merge_tests,
    parse_notebook,
    read_submission,
    without_expected,
)
from seqlab.grading.values import BadValue, compare, decode

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "seqlab-units-7c2e"


# -- plain data ---------------------------------------------------------------------------------
def roundtrip(value):
    return decode(json.loads(json.dumps(encode(value))))


def test_values_survive_the_trip_and_keep_their_type():
    t = torch.tensor([[1.5, -2.0], [0.25, 3.0]], dtype=torch.float32)
    got = roundtrip(t)
    assert got.type == "tensor" and got.kind == "float" and got.shape == (2, 2)
    assert got.flat.tolist() == [1.5, -2.0, 0.25, 3.0]
    assert roundtrip((1, 2.5, "x", None, True, [np.float64(2.0)]))[:5] == (1, 2.5, "x", None, True)
    assert roundtrip(torch.tensor([1 + 2j])).kind == "complex"
    assert compare(roundtrip(0.8), roundtrip(torch.tensor(0.8, dtype=torch.float64))) == "expected a float, got a 0-d tensor"


@pytest.mark.parametrize("data, words", [
    ({"type": "tensor", "kind": "float", "shape": [2], "data": "AAAAAAAA8D8="}, "8 bytes of data for shape (2,)"),
    ({"type": "tensor", "kind": "float", "shape": [1], "data": "not base64!"}, "not base64"),
    ({"type": "tensor", "kind": "object", "shape": [], "data": ""}, "unknown element kind"),
    ({"type": "int", "value": True}, "a int record holds bool"),
    ({"type": "pickle", "value": "gASV"}, "unknown value type"),
    ("just a string", "not a value record"),
])
def test_malformed_data_is_refused(data, words):
    with pytest.raises(BadValue, match=re.escape(words)):
        decode(data)


def test_compare_decides_on_numbers_not_on_objects():
    ref = roundtrip(torch.tensor([1.0, 2.0, float("nan")]))
    assert compare(ref, roundtrip(torch.tensor([1.0, 2.0 + 1e-7, float("nan")])), atol=1e-6) is None
    assert compare(ref, roundtrip(torch.tensor([1.0, 2.1, float("nan")])), atol=1e-6) == "max abs difference 0.1"
    assert compare(ref, roundtrip(torch.tensor([1.0, 2.0, 0.0]))) == "a number where NaN is expected"
    assert compare(ref, roundtrip(torch.zeros(2, 2))).startswith("expected shape (3,)")
    assert compare(roundtrip("stable"), roundtrip("vanishing")) == "expected 'stable', got 'vanishing'"
    assert compare(roundtrip(torch.tensor([1, 2])), roundtrip(torch.tensor([1.0, 2.0]))) == "expected int elements, got float"


def test_check_is_an_ordinary_assert_in_a_students_notebook(monkeypatch):
    monkeypatch.delenv("SEQLAB_CHECK_MODE", raising=False)
    check("sums", torch.tensor([3.0]), lambda: torch.tensor([3.0]))
    check("hidden checks without expected do nothing here", torch.tensor([1.0]))
    with pytest.raises(AssertionError, match=r"^h_next matches: max abs difference 0\.5$"):
        check("h_next matches", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), atol=1e-5)


def test_graded_test_cells_lose_their_expected_values():
    source = ("got = f(x)  # a comment\n"
              "check('p', got, lambda: secret(x), atol=1e-5)\n"
              "checks.check('q', g(x), 0.8, rtol=1e-3)\n")
    stripped = without_expected(source)
    assert "secret" not in stripped and "0.8" not in stripped and "atol" not in stripped
    assert "check('p', got)" in stripped and "checks.check('q', g(x))" in stripped


# -- files and students -------------------------------------------------------------------------
def test_an_nbgrader_course_folder_is_graded_from_submitted_only(tmp_path):
    for part in ("source/ps1/ps1.ipynb", "release/ps1/ps1.ipynb", "autograded/ann/ps1/ps1.ipynb",
                 "submitted/ann/ps1/ps1.ipynb", "submitted/ben/ps1/renamed.ipynb",
                 "submitted/ben/ps1/.ipynb_checkpoints/ps1-checkpoint.ipynb"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / part).write_text("{}")
    found = find_notebooks([tmp_path])
    assert [(f.student, f.path.name) for f in found] == [("ann", "ps1.ipynb"), ("ben", "renamed.ipynb")]


def test_folder_names_in_nfd_are_the_same_student(tmp_path):
    (tmp_path / unicodedata.normalize("NFD", "Zoë")).mkdir()
    (tmp_path / unicodedata.normalize("NFD", "Zoë") / "x.ipynb").write_text("{}")
    assert find_notebooks([tmp_path])[0].student == unicodedata.normalize("NFC", "Zoë")


def test_links_devices_pipes_and_oversize_files_are_refused(tmp_path):
    good = tmp_path / "good.ipynb"
    good.write_text("{}")
    os.symlink(good, tmp_path / "link.ipynb")
    os.symlink("/dev/zero", tmp_path / "zero.ipynb")
    os.mkfifo(tmp_path / "pipe.ipynb")
    (tmp_path / "big.ipynb").write_bytes(b" " * 2048)
    assert read_submission(good) == b"{}"
    for name, words in [("link.ipynb", "symbolic link"), ("zero.ipynb", "symbolic link"),
                        ("pipe.ipynb", "not a regular file"), ("big.ipynb", "over the")]:
        with pytest.raises(InvalidSubmission, match=words):
            read_submission(tmp_path / name, max_bytes=1024)


def test_old_notebook_formats_are_upgraded_with_cell_ids():
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    v3 = nbformat.writes(nbformat.convert(nb, 3), version=3)
    assert parse_notebook(v3.encode()).cells[0].source == "x = 1"
    v44 = json.loads(nbformat.writes(new_notebook(cells=[new_code_cell("x = 1")])))
    v44["nbformat_minor"] = 4
    del v44["cells"][0]["id"]
    upgraded = parse_notebook(json.dumps(v44).encode())
    assert upgraded.nbformat_minor == 5 and upgraded.cells[0].id


def test_feedback_file_names_are_unique_for_any_unicode_name():
    students = ["Zoë", "Zoé", "zoë", unicodedata.normalize("NFD", "Zoë") + "x", "../etc", ".hidden", "a/b"]
    names = feedback_names(students)
    folded = [unicodedata.normalize("NFC", n).casefold() for n in names.values()]
    assert len(set(folded)) == len(students)
    assert all("/" not in n and not n.startswith(".") for n in names.values())
    assert names["Zoë"] == "Zoë"


# -- a tiny exercise: merging tests, an interrupted run, --no-sandbox -----------------------------
def tiny_solution() -> nbformat.NotebookNode:
    intro = new_markdown_cell("# Tiny\n\n**Learning goals**: add one.")
    setup = new_code_cell("from seqlab.grading.checks import check")
    answer = new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": False, "grade_id": "f_code", "locked": False,
                                   "schema_version": 3, "solution": True, "task": False}
    test = new_code_cell("check('f(1) is 2', f(1), 2)\n### BEGIN HIDDEN TESTS\n"
                         "check('f adds one to negative numbers', f(-5), -4)\n### END HIDDEN TESTS")
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "f", "locked": True, "points": 2,
                                 "schema_version": 3, "solution": False, "task": False}
    for cell, cell_id in zip((intro, setup, answer, test), ("intro", "setup", "answer", "test-f")):
        cell.id = cell_id
    nb = new_notebook(cells=[intro, setup, answer, test])
    nb.metadata["seqlab"] = {"exercise": "99_tiny"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def with_answer(source: str) -> nbformat.NotebookNode:
    nb = tiny_solution()
    nb.cells[2].source = source
    return nb


def test_merge_puts_the_graders_tests_after_the_answer_whatever_the_student_did():
    solution = tiny_solution()
    submission = tiny_solution()
    test = submission.cells.pop(3)
    submission.cells.insert(0, test)  # moved above everything
    submission.cells.insert(4, new_code_cell("def helper():\n    return 1"))  # added below the answer
    merged, graded = merge_tests(solution, submission)
    ids = [c.id for c in merged.cells]
    assert ids[0] == "student-copy-0" and "nbgrader" not in merged.cells[0].metadata
    (index,) = graded
    assert graded == {index: "f"} and ids[index - 1] == submission.cells[4].id  # after the helper
    assert merged.cells[index].source == "check('f(1) is 2', f(1))\ncheck('f adds one to negative numbers', f(-5))"


def grade_tiny(tmp_path, students: dict[str, nbformat.NotebookNode], *extra, wait_for=None):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(tiny_solution(), solutions / "99_tiny.ipynb")
    for student, nb in students.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "class" / student / "99_tiny.ipynb")
    argv = [sys.executable, "-m", "seqlab", "grade", str(tmp_path / "class"), "--solutions", str(solutions),
            "--out", str(tmp_path / "grades.csv"), "--feedback-dir", str(tmp_path / "feedback"),
            "--timeout", "60", "--jobs", "1", *extra]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stopped_after = None
    if wait_for:
        for line in proc.stderr:
            if wait_for in line:
                break
        time.sleep(2)  # the next notebook is running now
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        stopped_after = time.monotonic() - sent
    out, err = proc.communicate(timeout=600)
    rows = []
    if (tmp_path / "grades.csv").exists():
        with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    return proc.returncode, out, err, rows, stopped_after


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
def test_ctrl_c_stops_within_5_s_and_writes_what_it_has(tmp_path):
    looper = with_answer("import subprocess\n"
                         f"subprocess.Popen(['sh', '-c', 'sleep 300 # {TOKEN}'], start_new_session=True)\n"
                         "while True:\n    pass")
    code, out, err, rows, stopped_after = grade_tiny(
        tmp_path, {"a_good": tiny_solution(), "b_good": tiny_solution(), "z_looper": looper}, wait_for="[2/3]")
    assert stopped_after < 5, err
    assert code == 130 and "INCOMPLETE" in out
    by_student = {r["student"]: r for r in rows}
    assert by_student["a_good"]["points"] == "2" and by_student["b_good"]["points"] == "2"
    assert by_student["z_looper"]["reason"] == "not graded: the run was interrupted"
    assert "**Incomplete:**" in (tmp_path / "feedback" / "z_looper.md").read_text()
    time.sleep(1)
    assert not [p for p in Path("/proc").glob("[0-9]*/cmdline") if TOKEN.encode() in p.read_bytes()]
    assert not list(tmp_path.glob(".grades.csv.*"))  # no half-written file


def test_no_sandbox_says_so_everywhere(tmp_path):
    code, out, err, rows, _ = grade_tiny(tmp_path, {"ann": tiny_solution(), "ben": with_answer("def f(x):\n    return x")},
                                         "--no-sandbox")
    assert code == 0, err
    assert [(r["student"], r["points"], r["reason"]) for r in rows] == [
        ("ann", "2", "passed (graded without a sandbox)"),
        ("ben", "0", "f(1) is 2: expected 2, got 1; hidden check failed: f adds one to negative numbers "
                     "(graded without a sandbox)"),
    ]
    assert "graded without a sandbox" in (tmp_path / "feedback" / "ann.md").read_text()


def test_without_bubblewrap_grade_refuses_and_says_how_to_install_it(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    (tmp_path / "class" / "ann").mkdir(parents=True)
    nbformat.write(tiny_solution(), tmp_path / "class" / "ann" / "x.ipynb")
    result = subprocess.run([sys.executable, "-m", "seqlab", "grade", str(tmp_path / "class")],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PATH": str(empty)})
    assert result.returncode == 2
    assert "apt-get install bubblewrap" in result.stderr and "--no-sandbox" in result.stderr


def test_partial_credit_for_nbgrader_counts_properties_like_seqlab_grade():
    from nbformat.v4 import new_output

    from seqlab.grading.checks import NBGRADER_MIMETYPE
    from seqlab.grading.nbgrader import PartialCredit

    def graded_cell(results, error=False):
        cell = new_code_cell("...")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 3, "grade_id": "q"}
        cell.outputs = [new_output("display_data", data={NBGRADER_MIMETYPE: {"property": p, "passed": ok}})
                        for p, ok in results]
        if error:
            cell.outputs.append(new_output("error", ename="AssertionError", evalue="", traceback=[]))
        return cell

    cells = [graded_cell([("a", True), ("b", True), ("b", False), ("c", True)]),  # b fails in one case
             graded_cell([("a", True)]), graded_cell([("a", True), ("b", False)], error=True)]
    nb, _ = PartialCredit()(new_notebook(cells=cells), {})
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == "2"  # 3 points * 2 of 3 properties
    assert all(o["output_type"] != "execute_result" for c in nb.cells[1:] for o in c.outputs)

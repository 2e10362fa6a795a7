"""The course as people take it: every lesson and exercise opens in Colab from a badge, its first code
cell installs seqlab only in Colab (keeping Colab's torch), and `seqlab lessons DIR` hands out the
notebooks. Fast checks; tests/test_wheel.py runs the setup cell and the installed command for real."""

from __future__ import annotations

import copy
import subprocess
import sys
import types
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from seqlab.cli import main
from seqlab.course import colab
from seqlab.course.colab import (add_colab, badge, colab_problems, colab_url, install_spec, is_setup_cell,
                                 setup_cell_source, strip_colab)
from seqlab.course.files import FOLDERS, copy_lessons
from seqlab.grading.build import render

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [(folder, path) for folder in FOLDERS for path in sorted((ROOT / folder).glob("*.ipynb"))]


@pytest.mark.parametrize("folder, path", NOTEBOOKS, ids=lambda x: getattr(x, "name", x))
def test_every_lesson_and_exercise_has_its_badge_and_setup_cell(folder, path):
    nb = nbformat.read(path, as_version=4)
    assert colab_problems(nb, folder, path.name) == []
    first_markdown = next(c for c in nb.cells if c.cell_type == "markdown")
    assert f"/blob/main/{folder}/{path.name})" in first_markdown.source  # this notebook, never its solution
    assert "learning goals" in first_markdown.source.lower()
    (setup,) = [c for c in nb.cells if is_setup_cell(c)]
    assert setup.outputs == []  # it does nothing outside Colab, so a saved run shows nothing
    # the same bytes `course colab --write` would write: re-running the inserter changes nothing
    assert render(add_colab(copy.deepcopy(nb), folder, path.name)) == path.read_bytes()


def test_course_colab_check_passes_on_the_repository(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["course", "colab", "--check"]) == 0, capsys.readouterr().err


def test_solutions_are_never_linked():
    with pytest.raises(ValueError, match="never linked"):
        colab_url("solutions", "01_gru_lstm_cells.ipynb")
    for path in (ROOT / "solutions").glob("*.ipynb"):
        assert "colab.research.google.com" not in path.read_text()


def _run_notebook() -> nbformat.NotebookNode:
    """A small notebook saved from a run: counts 1, 2 and an execute_result numbered 2."""
    first = new_code_cell("x = 1", execution_count=1)
    second = new_code_cell("x + 1", execution_count=2,
                           outputs=[new_output("execute_result", {"text/plain": "2"}, execution_count=2)])
    for cell, cell_id in ((first, "a"), (second, "b")):
        cell.id = cell_id
    intro = new_markdown_cell("# 09 · Title\n\n**Learning goals**\n\n- one")
    intro.id = "intro"
    return new_notebook(cells=[intro, first, second], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def test_insertion_numbers_a_saved_run_as_a_run_with_the_cell_would():
    nb = add_colab(_run_notebook(), "notebooks", "09_title.ipynb")
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert is_setup_cell(nb.cells[1]) and nb.cells[1].id == "colab-setup"
    assert [c.execution_count for c in nb.cells[1:]] == [1, 2, 3]
    assert nb.cells[3].outputs[0].execution_count == 3
    assert nb.cells[0].source == f"# 09 · Title\n\n{badge('notebooks', '09_title.ipynb')}\n\n**Learning goals**\n\n- one"
    nbformat.validate(nb)


def test_insertion_is_idempotent_and_strip_undoes_it():
    once = add_colab(_run_notebook(), "notebooks", "09_title.ipynb")
    twice = add_colab(copy.deepcopy(once), "notebooks", "09_title.ipynb")
    assert render(twice) == render(once)
    stripped = strip_colab(copy.deepcopy(once))
    assert [c.source for c in stripped.cells] == [c.source for c in _run_notebook().cells]
    # an unrun notebook (a generated exercise) gets an unnumbered cell
    fresh = _run_notebook()
    for cell in fresh.cells[1:]:
        cell.execution_count, cell.outputs = None, []
    assert add_colab(fresh, "exercises", "09_title.ipynb").cells[1].execution_count is None


def test_a_new_repository_rewrites_every_badge_and_cell_in_place(monkeypatch):
    nb = add_colab(_run_notebook(), "notebooks", "09_title.ipynb")
    monkeypatch.setattr(colab, "GITHUB_REPO", "example-university/seq-course")
    assert len(colab_problems(nb, "notebooks", "09_title.ipynb")) == 2  # both outdated
    moved = add_colab(nb, "notebooks", "09_title.ipynb")
    assert colab_problems(moved, "notebooks", "09_title.ipynb") == []
    assert len([c for c in moved.cells if is_setup_cell(c)]) == 1
    assert moved.cells[0].source.count("colab-badge.svg") == 1
    assert "github.com/example-university/seq-course@main" in moved.cells[1].source
    assert [c.execution_count for c in moved.cells[1:]] == [1, 2, 3]  # not shifted twice


def test_a_notebook_without_markdown_is_an_error_that_says_so():
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    with pytest.raises(ValueError, match="notebooks/x.ipynb: no markdown cell"):
        add_colab(nb, "notebooks", "x.ipynb")


def _exec_setup_cell(monkeypatch, in_colab: bool, **env) -> list[list[str]]:
    """Run the setup cell's code here with subprocess.run recorded, not run; returns the commands."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(list(args)))
    if in_colab:
        google = types.ModuleType("google")
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    exec(compile(setup_cell_source(), "<colab setup cell>", "exec"), {})
    return calls


def test_setup_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.delenv("SEQLAB_INSTALL", raising=False)
    assert _exec_setup_cell(monkeypatch, in_colab=False) == []


def test_setup_cell_in_colab_installs_seqlab_and_pins_the_installed_torch(monkeypatch):
    monkeypatch.delenv("SEQLAB_INSTALL", raising=False)
    command, copy_data = _exec_setup_cell(monkeypatch, in_colab=True)
    assert copy_data[:2] == [sys.executable, "-c"] and "copy_lesson_data('.')" in copy_data[2]
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert install_spec() in command and f"torch=={version('torch')}" in command
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(command)
    assert "/solutions" not in install_spec()
    command, _ = _exec_setup_cell(monkeypatch, in_colab=True, SEQLAB_INSTALL="seqlab-0.1.0-py3-none-any.whl")
    assert "seqlab-0.1.0-py3-none-any.whl" in command and install_spec() not in command


def test_lessons_copies_notebooks_and_exercises_and_keeps_edited_ones(tmp_path, capsys):
    assert main(["lessons", str(tmp_path / "course")]) == 0
    for folder in FOLDERS:
        names = sorted(p.name for p in (tmp_path / "course" / folder).glob("*.ipynb"))
        assert names == sorted(p.name for p in (ROOT / folder).glob("*.ipynb")) and names
    assert not (tmp_path / "course" / "solutions").exists()
    edited = tmp_path / "course" / "exercises" / "01_gru_lstm_cells.ipynb"
    edited.write_text("my work")
    copied, kept = copy_lessons(tmp_path / "course")
    assert copied == [] and edited in kept and edited.read_text() == "my work"
    copied, kept = copy_lessons(tmp_path / "course", force=True)
    assert edited in copied and kept == []


def test_lessons_into_a_file_is_a_clear_error(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("")
    assert main(["lessons", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err

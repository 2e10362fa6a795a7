"""The real nbgrader 0.9.6, set up with docs/nbgrader_config.py: its release equals exercises/, and its
autograde agrees with `seqlab grade` on every submission of a small class, partial credit included.

nbgrader is installed once into a cache folder (not into the test environment: its JupyterLab extension
would change the lab the browser tests drive), and the test skips with a message when that cannot be done
(offline). Slow: a course of four assignments, graded twice.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from seqlab.course.colab import strip_colab

ROOT = Path(__file__).resolve().parents[1]
NBGRADER = ["nbgrader==0.9.6", "Mako", "RapidFuzz", "SQLAlchemy", "alembic"]  # what the test venv lacks

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")]


@pytest.fixture(scope="module")
def nbgrader_env(tmp_path_factory):
    """Environment variables under which `python -m nbgrader` runs nbgrader 0.9.6."""
    from platformdirs import user_cache_dir

    site = Path(user_cache_dir("seqlab")) / "nbgrader-0.9.6"
    if not (site / "nbgrader").is_dir():
        result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                                 str(site), *NBGRADER], capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            shutil.rmtree(site, ignore_errors=True)
            pytest.skip(f"cannot install nbgrader 0.9.6 (offline?): {result.stderr.strip()[-300:]}")
    # nbgrader runs the `alembic` command; pip's script in the cache names the interpreter that installed
    # it, which may be gone, so the command is a shim that runs this interpreter.
    bin_dir = tmp_path_factory.mktemp("nbgrader-bin")
    shim = bin_dir / "alembic"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "import sys; from alembic.config import main; '
                    f'sys.exit(main())" "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PYTHONPATH": str(site), "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def solution(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)


def edit(nb, cell_id: str, old: str, new: str):
    (cell,) = [c for c in nb.cells if c.id == cell_id]
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return nb


def class_of(released: dict[str, nbformat.NotebookNode]) -> dict[tuple[str, str], nbformat.NotebookNode]:
    """(student, exercise) -> notebook: honest, untouched, wrong, partly wrong, tests deleted or edited."""
    gru, flow, sun, scan, linatt = sorted(released)
    cheat = edit(solution(gru), "gru-cell", "h_next = (1 - z) * n + z * hx", "h_next = z * n + (1 - z) * hx")
    next(c for c in cheat.cells if c.id == "test-gru-cell").source = "print('all tests pass')"
    cheat.cells = [c for c in cheat.cells if c.id != "test-lstm-cell"]
    deleted = solution(sun)
    deleted.cells = [c for c in deleted.cells if "nbgrader" not in c.metadata or c.metadata.nbgrader.get("solution")]
    return {
        ("ann", gru): solution(gru), ("ann", scan): solution(scan), ("ann", linatt): solution(linatt),
        ("ben", linatt): released[linatt],
        ("ben", gru): released[gru], ("ben", flow): released[flow],
        ("cem", gru): cheat, ("cem", sun): deleted,
        ("dia", flow): edit(solution(flow), "diagnose", "float(torch.linalg.eigvals(weight_hh).abs().max())",
                            "float(torch.linalg.matrix_norm(weight_hh, ord=2))"),  # partial credit
        ("dia", sun): edit(solution(sun), "combined-loss", "return alpha * mse + (1 - alpha) * rmse",
                           "return alpha * rmse + (1 - alpha) * mse"),
        ("eve", scan): edit(solution(scan), "selective-scan", "return y + u * D[None, :, None]", "return y"),
    }


def without_bookkeeping(nb: dict) -> dict:
    """A notebook less what only records a run or nbgrader's own bookkeeping (checksums)."""
    nb = json.loads(json.dumps(nb))
    nb["metadata"].pop("language_info", None)
    for cell in nb["cells"]:
        cell["metadata"].pop("execution", None)
        for key in ("checksum", "cell_type"):
            cell["metadata"].get("nbgrader", {}).pop(key, None)
    return nb


def test_nbgrader_releases_the_exercises_and_agrees_with_seqlab_grade(tmp_path, nbgrader_env):
    course = tmp_path / "course"
    names = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    for name in names:
        (course / "source" / name).mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / f"{name}.ipynb", course / "source" / name)
    config = (ROOT / "docs" / "nbgrader_config.py").read_text() + f"\nc.CourseDirectory.root = {str(course)!r}\n"
    (course / "nbgrader_config.py").write_text(config)

    def nbgrader(*args):
        result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=nbgrader_env,
                                capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, result.stderr[-3000:]

    released = {}
    for name in names:
        nbgrader("generate_assignment", name, "--create", "--force")
        release = json.loads((course / "release" / name / f"{name}.ipynb").read_text())
        # exercises/ also carries the Colab badge and setup cell, which nbgrader does not add
        exercise = strip_colab(nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4))
        assert without_bookkeeping(release) == without_bookkeeping(json.loads(nbformat.writes(exercise))), name
        released[name] = nbformat.reads(json.dumps(release), as_version=4)

    submissions = class_of(released)
    for (student, name), nb in submissions.items():
        path = course / "submitted" / student / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        (path.parent / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
    for name in names:
        nbgrader("autograde", name, "--create", "--force")
    nbgrader("export", "--to", str(tmp_path / "nbgrader.csv"))
    with open(tmp_path / "nbgrader.csv", newline="") as handle:
        theirs = {(r["student_id"], r["assignment"]): float(r["raw_score"]) for r in csv.DictReader(handle)}

    # seqlab grade pointed at the course folder grades submitted/ only
    result = subprocess.run([sys.executable, "-m", "seqlab", "grade", str(course), "--jobs", "2", "--timeout", "120",
                             "--out", str(tmp_path / "grades.csv"), "--feedback-dir", str(tmp_path / "feedback")],
                            cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "grades_totals.csv", newline="") as handle:
        ours = {(r["student"], r["exercise"]): float(r["points"]) for r in csv.DictReader(handle)
                if r["exercise"] != "(all)"}
    assert set(ours) == set(submissions)
    agree = [key for key in submissions if abs(theirs.get(key, -1) - ours[key]) < 0.011]
    print(f"nbgrader agrees with seqlab grade on {len(agree)} of {len(submissions)} submissions")
    assert {key: (theirs.get(key), ours[key]) for key in submissions if key not in agree} == {}
    assert ours[("dia", names[1])] == 3 + 2 + 1.67 + 1  # partial credit, the same in both

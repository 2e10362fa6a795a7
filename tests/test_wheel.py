"""`pip install seqlab` as people get it: a wheel built from the sdist, installed in a fresh virtual
environment that has only torch, used from a folder outside the repository.

- the Colab setup cell, run with a stand-in ``google.colab`` module and pip pointed at the built wheel,
  installs seqlab and leaves the installed torch untouched (the same files, not reinstalled);
- the wheel carries the package, the ``seqlab`` command and the lesson and exercise notebooks, and
  never the solutions; ``seqlab lessons DIR`` copies the notebooks;
- the data loader reads ``SEQLAB_SUNSPOTS`` as the README says, and offline with nothing cached
  stops with a message that says where to get the file.

Slow (about two minutes): it builds a wheel and installs torch and seqlab's dependencies into a new
virtual environment with pip (from the package index, or its cache).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from seqlab.course.colab import setup_cell_source

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _torch_pin() -> str:
    """The Makefile's CPU torch, e.g. torch==2.13.0 (one pin for the whole project)."""
    return re.search(r"^TORCH\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would put the repository or another venv on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra)
    return env


def _run(args, cwd: Path, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=_clean_env(**env), capture_output=True,
                            text=True, timeout=1200)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                    f"{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """sdist and wheel, built as `python -m build` does: the wheel from the unpacked sdist."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT], cwd=out)
    (wheel,) = out.glob("seqlab-*.whl")
    (sdist,) = out.glob("seqlab-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


class Venv:
    def __init__(self, path: Path):
        self.path = path
        self.python = path / "bin" / "python"
        self.home = path.parent  # the working folder: outside the repository

    def run(self, code: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        return _run([self.python, "-c", code], cwd=self.home, check=check, **env)

    def distributions(self) -> dict[str, str]:
        listing = _run([self.python, "-m", "pip", "list", "--format=json"], cwd=self.home).stdout
        return {d["name"].lower(): d["version"] for d in json.loads(listing)}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    """A fresh virtual environment with the project's CPU torch and nothing else."""
    env = Venv(tmp_path_factory.mktemp("student") / "venv")
    _run([sys.executable, "-m", "venv", env.path], cwd=env.home)
    _run([env.python, "-m", "pip", "install", "-q", _torch_pin()], cwd=env.home)
    return env


def _torch_files(env: Venv) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of torch's files that a reinstall would replace."""
    code = ("import importlib.metadata as m, os, json; d = m.distribution('torch'); "
            "files = [d.locate_file(f) for f in d.files if str(f).endswith(('RECORD', 'torch/__init__.py', 'version.py'))]; "
            "print(json.dumps({str(f): [os.stat(f).st_ino, os.stat(f).st_mtime_ns] for f in files}))")
    return json.loads(env.run(code).stdout)


def test_colab_cell_installs_seqlab_and_keeps_the_installed_torch(venv, dist, tmp_path):
    before = venv.distributions()
    assert "torch" in before and "seqlab" not in before and "pandas" not in before
    torch_before = _torch_files(venv)
    cell = tmp_path / "colab_cell.py"
    cell.write_text(setup_cell_source())

    # outside Colab the cell does nothing
    _run([venv.python, cell], cwd=venv.home)
    assert venv.distributions() == before

    # "in Colab": a stand-in google.colab module, pip pointed at the wheel instead of GitHub
    fake = tmp_path / "fake_colab"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "__init__.py").write_text("")
    (tmp_path / "run_cell.py").write_text(f"import google.colab\nexec(open({str(cell)!r}).read())\n")
    _run([venv.python, tmp_path / "run_cell.py"], cwd=venv.home, PYTHONPATH=str(fake),
         SEQLAB_INSTALL=str(dist["wheel"]))

    after = venv.distributions()
    assert after["seqlab"] == "0.1.0"
    assert after["torch"] == before["torch"], "the cell changed torch"
    assert _torch_files(venv) == torch_before, "torch was reinstalled (its files were replaced)"
    out = venv.run("import seqlab, torch; from seqlab.scratch import GRU; print(seqlab.__file__)").stdout
    assert str(venv.path) in out and str(ROOT) not in out
    # a notebook opened alone in Colab has nothing beside it: the cell puts the results the lessons read there
    assert (Path(venv.home) / "results" / "04_full_protocol.csv").read_bytes() == \
        (ROOT / "notebooks" / "results" / "04_full_protocol.csv").read_bytes()


@pytest.fixture(scope="module")
def installed(venv, dist) -> Venv:
    _run([venv.python, "-m", "pip", "install", "-q", dist["wheel"]], cwd=venv.home)
    return venv


def test_wheel_carries_the_course_and_never_the_solutions(dist):
    names = zipfile.ZipFile(dist["wheel"]).namelist()
    for folder in ("notebooks", "exercises"):
        expected = sorted(p.name for p in (ROOT / folder).glob("*.ipynb"))
        packed = sorted(Path(n).name for n in names if n.startswith(f"seqlab/_course/{folder}/") and n.endswith(".ipynb"))
        assert packed == expected and expected, f"the wheel's {folder}: {packed}, the repository's: {expected}"
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        for name in names:
            assert "solutions" not in name, name
            if name.endswith(".ipynb"):
                assert b"BEGIN SOLUTION" not in wheel.read(name) and b"HIDDEN TESTS" not in wheel.read(name), name
    sdist_names = tarfile.open(dist["sdist"]).getnames()
    assert not [n for n in sdist_names if "/solutions/" in n], "the sdist must not carry the solutions"


def test_installed_package_and_command(installed):
    out = installed.run("import seqlab, seqlab.scratch, seqlab.mamba, seqlab.data, seqlab.grading; "
                        "print(seqlab.__file__)").stdout
    assert str(installed.path) in out and str(ROOT) not in out, out
    seqlab = installed.path / "bin" / "seqlab"
    helped = _run([seqlab, "--help"], cwd=installed.home).stdout
    for name in ("compare", "exercises", "grade", "lessons"):
        assert name in helped


def _packed_notebooks(wheel: Path) -> dict[str, dict[str, bytes]]:
    """``{folder: {name: bytes}}`` of the notebooks inside the wheel."""
    packed: dict[str, dict[str, bytes]] = {"notebooks": {}, "exercises": {}}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if parts[:2] == ["seqlab", "_course"] and name.endswith(".ipynb"):
                packed[parts[2]][parts[3]] = archive.read(name)
    return packed


def test_seqlab_lessons_copies_the_notebooks_and_keeps_a_students_work(installed, dist, tmp_path):
    seqlab = installed.path / "bin" / "seqlab"
    course = tmp_path / "course"
    out = _run([seqlab, "lessons", course], cwd=installed.home).stdout
    packed = _packed_notebooks(dist["wheel"])
    for folder in ("notebooks", "exercises"):
        copied = {p.name: p.read_bytes() for p in (course / folder).glob("*.ipynb")}
        assert copied == packed[folder] and copied, folder
    assert "jupyter lab" in out
    assert not (course / "solutions").exists()
    # the committed results the lessons read travel with them, at the paths the lessons use
    for relative in ("results/04_full_protocol.csv", "results/05_selective_copying.csv", "data/lab2_3_seeds.csv"):
        assert (course / "notebooks" / relative).read_bytes() == (ROOT / "notebooks" / relative).read_bytes()
    with zipfile.ZipFile(dist["wheel"]) as archive:
        assert "seqlab/claims_results.json" in archive.namelist()  # lesson 07's stored grids

    work = course / "exercises" / "01_gru_lstm_cells.ipynb"
    work.write_text("my answers")
    again = _run([seqlab, "lessons", course], cwd=installed.home).stdout
    assert work.read_text() == "my answers" and "kept" in again and "--force" in again
    _run([seqlab, "lessons", course, "--force"], cwd=installed.home)
    assert work.read_bytes() == packed["exercises"][work.name]


def test_data_loader_as_the_readme_says(installed, tmp_path):
    data = os.environ.get("SEQLAB_SUNSPOTS")
    if not data:
        pytest.skip("SEQLAB_SUNSPOTS is not set (the root conftest.py sets it from ../shared/data)")
    from seqlab.data import load_sunspots

    expected = load_sunspots(path=data)  # the repository's loader on the same file
    code = ("from seqlab.data import load_sunspots; s = load_sunspots(); "
            "print(len(s), s.index[0], s.index[-1], repr(float(s.sum())))")
    out = installed.run(code, SEQLAB_SUNSPOTS=data, SEQLAB_CACHE_DIR=str(tmp_path / "cache")).stdout.split()
    assert out == [str(len(expected)), str(expected.index[0]), str(expected.index[-1]), repr(float(expected.sum()))]
    assert out[2] == "2026-03"  # the README's fixed default last month

    # offline, nothing cached, no file named: a message that says where to download it and where to put it
    offline = installed.run("from seqlab.data import load_sunspots; load_sunspots()", check=False,
                            SEQLAB_SUNSPOTS="", SEQLAB_CACHE_DIR=str(tmp_path / "empty"),
                            https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    assert offline.returncode != 0
    assert "SunspotDataUnavailable" in offline.stderr
    assert "SEQLAB_SUNSPOTS" in offline.stderr and "sidc.be" in offline.stderr

"""Grading a hostile class: one `python -m seqlab grade` run, sandboxed, over honest, wrong and hostile
submissions built here from the solutions and exercises; each kind of attack asserts the honest outcome.

The class shares one grading run (a module fixture), so the whole file costs about one class.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
TIMEOUT = 90  # seconds per notebook (generous for a busy CI machine); the looping submission uses all of it
TOKEN = "seqlab-hostile-4b1d"  # in the command line of every process a hostile notebook leaves behind

FULL = {
    "01_gru_lstm_cells": {"gru_cell": 3, "lstm_cell": 3, "gates_quiz": 1},
    "02_gradient_flow": {"gradient_norms": 3, "decay_rate": 2, "diagnose": 2, "flow_quiz": 1},
    "03_sunspot_windows_loss": {"make_windows": 2, "combined_loss": 2, "r2_score": 2, "protocol_quiz": 1},
    "04_selective_scan": {"discretize": 2, "selective_scan": 3, "step_size_quiz": 1},
    "05_linear_attention": {"linear_attention_recurrent": 3, "memory_floats": 1, "decay_mask": 2},
}
GRU, GRADFLOW, SUNSPOT, SCAN, LINATT = sorted(FULL)
STUB = "NotImplementedError: not implemented"

# answers that call the course's own implementation: right numbers, earned nothing
IMPORT_SEQLAB = (
    "from seqlab.scratch.cells import gru_step, lstm_step\n\n"
    "def gru_cell(input, hx, weight_ih, weight_hh, bias_ih, bias_hh):\n"
    "    return gru_step(input, hx, weight_ih, weight_hh, bias_ih, bias_hh)[0]\n"
)
LOAD_SEQLAB_FILE = (  # past the import guard, straight to the file
    "import glob, importlib.util, os, sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'Graded' not in type(f).__name__]\n"
    "for _name in list(sys.modules):\n"
    "    if _name.startswith('seqlab'):\n"
    "        del sys.modules[_name]\n"
    "import seqlab\n"
    "_files = glob.glob(os.path.join(os.path.dirname(seqlab.__file__), 'mamba', 'scan.py'))\n"
    "_files += glob.glob(os.path.join(sys.prefix, 'lib', 'python3*', 'site-packages', 'seqlab', 'mamba', 'scan.py'))\n"
    "_spec = importlib.util.spec_from_file_location('seqlab.mamba.scan', _files[0])\n"
    "_scan = importlib.util.module_from_spec(_spec)\n"
    "_spec.loader.exec_module(_scan)\n\n"
    "def selective_scan(u, delta, A, B, C, D):\n"
    "    return _scan.selective_scan_sequential(u, delta, A, B, C, D)\n"
)

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap (bwrap) is not installed: apt-get install bubblewrap")


# -- building the class -------------------------------------------------------------------------
def solution(exercise: str, solutions: Path) -> nbformat.NotebookNode:
    return nbformat.read(solutions / f"{exercise}.ipynb", as_version=4)


def exercise_nb(exercise: str) -> nbformat.NotebookNode:
    return nbformat.read(EXERCISES / f"{exercise}.ipynb", as_version=4)


def edit(nb, cell_id: str, old: str, new: str):
    (cell,) = [c for c in nb.cells if c.id == cell_id]
    assert old in cell.source, f"{old!r} not in cell {cell_id}: the solution changed, update this test"
    cell.source = cell.source.replace(old, new)
    return nb


def answer(nb, cell_id: str, source: str):
    """Replace a whole answer cell (the student's code)."""
    (cell,) = [c for c in nb.cells if c.id == cell_id]
    cell.source = source
    return nb


def first(nb, source: str):
    """A cell of the student's own, run before everything else."""
    cell = nbformat.v4.new_code_cell(source)
    cell.id = "student-first"
    nb.cells.insert(1, cell)
    return nb


def save(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def make_class(root: Path, solutions: Path, outputs: Path) -> None:
    """The class; each folder is a student named after what the notebook does."""
    sol = lambda name: solution(name, solutions)  # noqa: E731
    for name in FULL:
        save(sol(name), root / "solution" / f"{name}.ipynb")
        save(exercise_nb(name), root / "untouched" / f"{name}.ipynb")

    # known-wrong answers, and a hidden test that the visible ones let through
    save(edit(sol(GRU), "gru-cell", "h_next = (1 - z) * n + z * hx", "h_next = z * n + (1 - z) * hx"),
         root / "wrong_gru" / f"{GRU}.ipynb")
    save(edit(sol(SCAN), "selective-scan", "return y + u * D[None, :, None]", "return y"),
         root / "wrong_scan" / f"{SCAN}.ipynb")
    save(edit(sol(GRADFLOW), "diagnose", "float(torch.linalg.eigvals(weight_hh).abs().max())",
              "float(torch.linalg.matrix_norm(weight_hh, ord=2))"), root / "wrong_hidden" / f"{GRADFLOW}.ipynb")

    # 1. one line hides every failure: untouched stubs behind it
    save(first(exercise_nb(GRU), "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"),
         root / "hide_custom_exc" / f"{GRU}.ipynb")
    save(first(exercise_nb(SUNSPOT), "ip = get_ipython()\nip._showtraceback = lambda *a, **k: None\n"
                                     "ip.showtraceback = lambda *a, **k: None"),
         root / "hide_traceback" / f"{SUNSPOT}.ipynb")
    save(first(exercise_nb(SCAN), "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"),
         root / "hide_transformer" / f"{SCAN}.ipynb")

    # 2. patching what the tests rely on
    save(first(answer(exercise_nb(GRU), "gru-cell", "def gru_cell(input, hx, *weights):\n    return torch.zeros_like(hx)"),
               "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.isclose = lambda *a, **k: True\n"
               "torch.equal = lambda *a, **k: True"), root / "patch_allclose" / f"{GRU}.ipynb")
    save(answer(exercise_nb(GRU), "gru-cell",
                "class Liar(torch.Tensor):\n"
                "    @classmethod\n"
                "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
                "        return True\n\n"
                "def gru_cell(input, hx, *weights):\n"
                "    return torch.zeros_like(hx).as_subclass(Liar)"), root / "patch_tensor_subclass" / f"{GRU}.ipynb")
    save(first(answer(exercise_nb(GRADFLOW), "decay-rate", "def decay_rate(norms):\n    return 0.5"),
               "import builtins, math\nbuiltins.abs = lambda x: 0\nimport numpy\n"
               "numpy.polyfit = lambda x, y, deg: numpy.array([math.log(0.5), 0.0])"),
         root / "patch_abs_polyfit" / f"{GRADFLOW}.ipynb")
    save(first(exercise_nb(SUNSPOT), "import sys, types\nfake = types.ModuleType('torch')\n"
                                     "fake.__getattr__ = lambda name: (lambda *a, **k: True)\nsys.modules['torch'] = fake"),
         root / "patch_fake_torch" / f"{SUNSPOT}.ipynb")
    # replace check() itself, so it would send back whatever expected value it is given
    save(first(exercise_nb(SUNSPOT),
               "import seqlab.grading.checks as checks\noriginal = checks.check\n"
               "def check(prop, got, expected=None, **kw):\n"
               "    if expected is not None:\n"
               "        got = expected() if callable(expected) else expected\n"
               "    return original(prop, got, expected, **kw)\n"
               "checks.check = check"), root / "patch_check" / f"{SUNSPOT}.ipynb")
    # look for a reference implementation in the caller's frames and in memory, and call it
    save(answer(exercise_nb(SCAN), "selective-scan",
                "import gc, inspect\n\n"
                "def selective_scan(u, delta, A, B, C, D):\n"
                "    for info in inspect.stack():\n"
                "        for name, value in {**info.frame.f_globals, **info.frame.f_locals}.items():\n"
                "            if callable(value) and 'ref' in name.lower() and name != 'selective_scan':\n"
                "                return value(u, delta, A, B, C, D)\n"
                "    for obj in gc.get_objects():\n"
                "        if callable(obj) and 'ref' in getattr(obj, '__name__', '').lower():\n"
                "            return obj(u, delta, A, B, C, D)\n"
                "    return torch.zeros_like(u)"), root / "frame_reference" / f"{SCAN}.ipynb")

    # 3. reading what is not theirs: the answer key through /proc or by path, a classmate's notebook
    key = str(solutions / f"{GRU}.ipynb")
    classmate = str(root / "solution" / f"{GRU}.ipynb")
    save(answer(exercise_nb(GRU), "gru-cell",
                "import glob, json, os\n"
                f"candidates = [{key!r}, {classmate!r}]\n"
                "for pid in os.listdir('/proc'):\n"
                "    if pid.isdigit():\n"
                "        for link in ('cwd', 'root'):\n"
                "            try:\n"
                "                base = os.readlink(f'/proc/{pid}/{link}')\n"
                "            except OSError:\n"
                "                continue\n"
                "            candidates += glob.glob(base + '/*/01_gru_lstm_cells.ipynb')\n"
                "        try:\n"
                "            argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')\n"
                "            candidates += [a.decode() + '/01_gru_lstm_cells.ipynb' for a in argv if a]\n"
                "        except OSError:\n"
                "            pass\n"
                "for path in candidates:\n"
                "    try:\n"
                "        cells = json.load(open(path))['cells']\n"
                "    except Exception:\n"
                "        continue\n"
                "    for cell in cells:\n"
                "        text = ''.join(cell['source'])\n"
                "        if 'def gru_cell' in text and 'BEGIN SOLUTION' in text or 'h_next = (1 - z)' in text:\n"
                "            exec(text)\n"
                "            break\n"), root / "read_answer_key" / f"{GRU}.ipynb")

    # the course's own implementation, imported, or loaded from its file past the import guard
    save(answer(exercise_nb(GRU), "gru-cell", IMPORT_SEQLAB), root / "import_seqlab" / f"{GRU}.ipynb")
    save(answer(exercise_nb(SCAN), "selective-scan", LOAD_SEQLAB_FILE), root / "load_seqlab_file" / f"{SCAN}.ipynb")

    # 4. sabotage: a classmate's file, the solutions, the grader, other kernels, the CSV afterwards
    victim = root / "victim" / f"{GRU}.ipynb"
    save(sol(GRU), victim)
    stub = json.dumps(nbformat.writes(exercise_nb(GRU)))
    sabotage = (
        "import os, signal, subprocess\n"
        f"for path in [{str(victim)!r}, {str(solutions / (SUNSPOT + '.ipynb'))!r}]:\n"
        "    try:\n"
        f"        open(path, 'w').write({stub})\n"
        "    except OSError:\n"
        "        pass\n"
        f"for path in [{str(solutions / (SCAN + '.ipynb'))!r}, {str(outputs / 'grades.csv')!r}]:\n"
        "    try:\n"
        "        os.remove(path)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    save(first(sol(GRU), sabotage), root / "sabotage_files" / f"{GRU}.ipynb")
    save(first(sol(GRADFLOW), "import os\nfor pid in os.listdir('/proc'):\n    if pid.isdigit() and int(pid) != os.getpid():\n"
                               "        try:\n            os.kill(int(pid), 9)\n        except OSError:\n            pass"),
         root / "kill_others" / f"{GRADFLOW}.ipynb")
    save(first(sol(SUNSPOT), "import os\nos.kill(os.getppid(), 9)"), root / "kill_parent" / f"{SUNSPOT}.ipynb")
    save(first(sol(SUNSPOT),
               "import subprocess\n"
               f"script = 'while true; do echo hacked > {outputs / 'grades.csv'}; sleep 0.2; done # {TOKEN}'\n"
               "subprocess.Popen(['sh', '-c', script], start_new_session=True)"),
         root / "background_writer" / f"{SUNSPOT}.ipynb")
    save(sol(GRU), root / "victim_of_kill" / f"{GRU}.ipynb")

    # 5. no limits: memory, processes, output
    save(edit(sol(GRU), "gru-cell", "### BEGIN SOLUTION", "### BEGIN SOLUTION\n    hog = bytearray(8 << 30)"),
         root / "memory_hog" / f"{GRU}.ipynb")
    save(first(sol(SUNSPOT), "import subprocess\nchildren = []\nfor _ in range(200):\n    try:\n"
                              f"        children.append(subprocess.Popen(['sh', '-c', 'sleep 300 # {TOKEN}']))\n"
                              "    except OSError:\n        break"),
         root / "fork_many" / f"{SUNSPOT}.ipynb")
    save(first(sol(SCAN), "for _ in range(200):\n    print('x' * 100_000)"), root / "chatty" / f"{SCAN}.ipynb")
    save(edit(sol(SUNSPOT), "r2-score", "def r2_score", "while True:\n    pass\n\ndef r2_score"),
         root / "looper" / f"{SUNSPOT}.ipynb")
    save(edit(sol(GRADFLOW), "decay-rate", "def decay_rate", "import os\nos._exit(1)\n\ndef decay_rate"),
         root / "quitter" / f"{GRADFLOW}.ipynb")

    # 6. refused files: links, a device, an oversize file, bytes that are no notebook
    (root / "link_to_key").mkdir()
    os.symlink(os.path.relpath(solutions / f"{GRU}.ipynb", root / "link_to_key"), root / "link_to_key" / f"{GRU}.ipynb")
    (root / "link_to_device").mkdir()
    os.symlink("/dev/zero", root / "link_to_device" / f"{GRU}.ipynb")
    (root / "oversize").mkdir()
    (root / "oversize" / f"{GRU}.ipynb").write_bytes(b" " * (2 << 20))
    text = (solutions / f"{GRU}.ipynb").read_text()
    (root / "truncated").mkdir()
    (root / "truncated" / f"{GRU}.ipynb").write_text(text[: len(text) // 2])

    # 7. bookkeeping: copies, renamed files, duplicates, Unicode names, old formats, moved tests
    save(sol(GRU), root / "alice" / f"{GRU}-Copy1.ipynb")
    save(sol(SUNSPOT), root / "bob" / f"{GRU}.ipynb")  # exercise 03 under exercise 01's name
    older = edit(sol(GRU), "gru-cell", "h_next = (1 - z) * n + z * hx", "h_next = z * n + (1 - z) * hx")
    save(older, root / "carol" / f"{GRU}.ipynb")
    save(sol(GRU), root / "carol" / f"{GRU}-Copy1.ipynb")
    os.utime(root / "carol" / f"{GRU}.ipynb", (time.time() - 3600,) * 2)
    for name in ("Zoë", "Zoé", unicodedata.normalize("NFD", "zoë")):
        save(sol(GRU), root / name / f"{GRU}.ipynb")
    v3 = nbformat.convert(sol(GRU), 3)
    (root / "format3").mkdir()
    (root / "format3" / f"{GRU}.ipynb").write_text(nbformat.writes(v3, version=3))
    v44 = json.loads(nbformat.writes(sol(SCAN)))
    v44["nbformat_minor"] = 4
    for cell in v44["cells"]:
        cell.pop("id")
    (root / "format44").mkdir()
    (root / "format44" / f"{SCAN}.ipynb").write_text(json.dumps(v44))
    moved = sol(GRU)
    test = next(c for c in moved.cells if c.id == "test-gru-cell")
    moved.cells.remove(test)
    pasted = nbformat.from_dict(json.loads(json.dumps(next(c for c in moved.cells if c.id == "test-lstm-cell"))))
    moved.cells.insert(1, test)  # moved above the setup cell and the answer
    moved.cells.insert(1, pasted)  # a copy of the other test, same id and grade_id, pasted at the top
    save(moved, root / "moved_tests" / f"{GRU}.ipynb")
    deleted = sol(SUNSPOT)
    deleted.cells = [c for c in deleted.cells if "nbgrader" not in c.metadata or c.metadata.nbgrader.get("solution")]
    save(deleted, root / "deleted_tests" / f"{SUNSPOT}.ipynb")
    cheat = edit(sol(GRU), "gru-cell", "h_next = (1 - z) * n + z * hx", "h_next = z * n + (1 - z) * hx")
    next(c for c in cheat.cells if c.id == "test-gru-cell").source = "print('all tests pass')"
    save(cheat, root / "cheater" / f"{GRU}.ipynb")


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.ipynb")) if p.is_file() and not p.is_symlink()}


def leftovers() -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if TOKEN.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    solutions = base / "solutions"  # a copy, which the saboteur aims at
    shutil.copytree(ROOT / "solutions", solutions)
    outputs, submissions, tmp = base / "out", base / "submissions", base / "tmp"
    outputs.mkdir()
    tmp.mkdir()
    make_class(submissions, solutions, outputs)
    (base / "roster.txt").write_text("solution\nuntouched\ndave\n")
    before, solutions_before = digest(submissions), digest(solutions)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "seqlab", "grade", str(submissions), "--solutions", str(solutions),
         "--timeout", str(TIMEOUT), "--jobs", "2", "--memory-mb", "3072", "--max-notebook-mb", "1",
         "--roster", str(base / "roster.txt"), "--out", str(outputs / "grades.csv"),
         "--feedback-dir", str(outputs / "feedback")],
        capture_output=True, text=True, cwd=base, timeout=1800, env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    time.sleep(1)  # give a surviving background writer the chance to strike
    with open(outputs / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    grades: dict = {}
    for row in rows:
        grades.setdefault(row["student"], {}).setdefault(row["exercise"], {})[row["question"]] = row
    return {"base": base, "out": outputs, "rows": rows, "grades": grades, "stdout": result.stdout,
            "before": before, "after": digest(submissions), "tmp": tmp, "seconds": time.monotonic() - started,
            "solutions_before": solutions_before, "solutions_after": digest(solutions), "leftovers": leftovers()}


def points(graded, student, exercise) -> dict[str, float]:
    return {q: float(row["points"]) for q, row in graded["grades"][student][exercise].items()}


def reasons(graded, student, exercise) -> dict[str, str]:
    return {q: row["reason"] for q, row in graded["grades"][student][exercise].items()}


def zero(exercise: str) -> dict[str, float]:
    return dict.fromkeys(FULL[exercise], 0.0)


# -- honest work, wrong work ----------------------------------------------------------------------
def test_every_solution_scores_full_marks(graded):
    for exercise, full in FULL.items():
        assert points(graded, "solution", exercise) == full
        assert set(reasons(graded, "solution", exercise).values()) == {"passed"}


def test_every_untouched_exercise_scores_zero_with_the_stub_as_reason(graded):
    for exercise in FULL:
        assert points(graded, "untouched", exercise) == zero(exercise)
        assert set(reasons(graded, "untouched", exercise).values()) == {STUB}


def test_wrong_code_loses_its_points_and_visible_failures_say_by_how_much(graded):
    assert points(graded, "wrong_gru", GRU) == {"gru_cell": 0, "lstm_cell": 3, "gates_quiz": 1}
    assert "h_next matches torch.nn.GRUCell on a batch of 2: max abs difference" in reasons(graded, "wrong_gru", GRU)["gru_cell"]
    assert points(graded, "wrong_scan", SCAN) == {"discretize": 2, "selective_scan": 0, "step_size_quiz": 1}
    assert points(graded, "cheater", GRU) == {"gru_cell": 0, "lstm_cell": 3, "gates_quiz": 1}


def test_partial_credit_and_hidden_feedback_names_the_property_not_the_inputs(graded):
    """Singular values instead of eigenvalues pass 5 of diagnose's 6 properties."""
    assert points(graded, "wrong_hidden", GRADFLOW) == {"gradient_norms": 3, "decay_rate": 2, "diagnose": 1.67, "flow_quiz": 1}
    reason = reasons(graded, "wrong_hidden", GRADFLOW)["diagnose"]
    assert reason == "hidden check failed: the spectral radius comes from the eigenvalues, not the singular values"
    feedback = (graded["out"] / "feedback" / "wrong_hidden.md").read_text()
    assert "singular values" in feedback and "10.0" not in feedback and "shear" not in feedback


# -- 1. hiding failures, 2. patching, reading others' work: nothing earns points -------------------
@pytest.mark.parametrize("student, exercise", [
    ("hide_custom_exc", GRU), ("hide_traceback", SUNSPOT), ("hide_transformer", SCAN),
    ("patch_allclose", GRU), ("patch_tensor_subclass", GRU), ("patch_fake_torch", SUNSPOT),
    ("patch_check", SUNSPOT), ("frame_reference", SCAN), ("read_answer_key", GRU),
])
def test_attacks_on_the_verdict_earn_nothing(graded, student, exercise):
    got = points(graded, student, exercise)
    if student in ("frame_reference", "read_answer_key", "patch_allclose", "patch_tensor_subclass"):
        answered = {"frame_reference": "selective_scan"}.get(student, "gru_cell")
        assert got[answered] == 0, reasons(graded, student, exercise)
    else:
        assert got == zero(exercise), reasons(graded, student, exercise)


def test_the_course_own_implementation_earns_nothing(graded):
    assert points(graded, "import_seqlab", GRU)["gru_cell"] == 0
    assert "ImportError: seqlab.scratch cannot be imported in a graded run" in reasons(graded, "import_seqlab", GRU)["gru_cell"]
    assert points(graded, "load_seqlab_file", SCAN)["selective_scan"] == 0


@pytest.mark.parametrize("source, name, exercise", [(IMPORT_SEQLAB, "gru_cell", GRU),
                                                   (LOAD_SEQLAB_FILE, "selective_scan", SCAN)])
def test_those_answers_would_be_right_if_they_were_allowed(source, name, exercise):
    """The control for the test above: outside a graded run each cheat gives the solution's numbers."""
    import torch

    nb = solution(exercise, ROOT / "solutions")
    cells = [c.source for c in nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata
             and c.metadata.nbgrader.get("solution")]
    ours: dict = {}
    exec("import math\nimport torch\n" + "\n".join(cells), ours)
    torch.manual_seed(0)
    if name == "gru_cell":
        args = (torch.randn(2, 3), torch.randn(2, 4), torch.randn(12, 3), torch.randn(12, 4), torch.randn(12),
                torch.randn(12))
    else:
        b, d, l, n = 2, 3, 5, 4
        args = (torch.randn(b, d, l), torch.rand(b, d, l), -torch.rand(d, n), torch.randn(b, n, l),
                torch.randn(b, n, l), torch.randn(d))
    modules = {key: module for key, module in sys.modules.items() if key.split(".")[0] == "seqlab"}
    try:
        theirs: dict = {}
        exec(source, theirs)
        got = theirs[name](*args)
    finally:  # the second cheat empties sys.modules of seqlab: the other tests get theirs back
        for key in [k for k in sys.modules if k.split(".")[0] == "seqlab"]:
            del sys.modules[key]
        sys.modules.update(modules)
    torch.testing.assert_close(got, ours[name](*args))


def test_patched_builtins_and_numpy_earn_nothing(graded):
    assert points(graded, "patch_abs_polyfit", GRADFLOW)["decay_rate"] == 0


# -- 3. sabotage costs only the saboteur --------------------------------------------------------
def test_sabotage_reaches_no_file_and_no_other_student(graded):
    assert graded["after"] == graded["before"]  # every submission as handed in
    assert graded["solutions_after"] == graded["solutions_before"]
    assert points(graded, "victim", GRU) == FULL[GRU]
    assert points(graded, "victim_of_kill", GRU) == FULL[GRU]
    assert points(graded, "sabotage_files", GRU) == FULL[GRU]  # its own work still counts
    assert points(graded, "untouched", SUNSPOT) == zero(SUNSPOT)


def test_killing_its_own_runner_costs_only_that_notebook(graded):
    assert points(graded, "kill_parent", SUNSPOT) == zero(SUNSPOT)
    assert set(reasons(graded, "kill_parent", SUNSPOT).values()) == {"kernel died"}
    assert points(graded, "kill_others", GRADFLOW) == zero(GRADFLOW)


def test_nothing_outlives_the_run_and_nothing_is_left_behind(graded):
    assert graded["leftovers"] == []  # background writer and 200 sleepers: all gone
    assert not (graded["out"] / "grades.csv").read_text().startswith("hacked")
    assert list(graded["tmp"].iterdir()) == []  # no kernel connection files, no sandbox folders
    assert points(graded, "background_writer", SUNSPOT) == FULL[SUNSPOT]
    assert points(graded, "fork_many", SUNSPOT) == FULL[SUNSPOT]


# -- 4. limits ----------------------------------------------------------------------------------
def test_limits(graded):
    assert points(graded, "memory_hog", GRU) == {"gru_cell": 0, "lstm_cell": 3, "gates_quiz": 1}
    assert reasons(graded, "memory_hog", GRU)["gru_cell"].startswith("MemoryError")
    assert points(graded, "looper", SUNSPOT) == {"make_windows": 2, "combined_loss": 2, "r2_score": 0, "protocol_quiz": 0}
    assert reasons(graded, "looper", SUNSPOT)["r2_score"] == f"timed out after {TIMEOUT} s"
    assert points(graded, "quitter", GRADFLOW) == {"gradient_norms": 3, "decay_rate": 0, "diagnose": 0, "flow_quiz": 0}
    assert reasons(graded, "quitter", GRADFLOW)["diagnose"] == "kernel died"
    assert points(graded, "chatty", SCAN) == FULL[SCAN]
    assert "output beyond that was dropped" in (graded["out"] / "feedback" / "chatty.md").read_text()


def test_refused_files(graded):
    for student, words in [("link_to_key", "symbolic link"), ("link_to_device", "symbolic link"),
                           ("oversize", "over the 1 MiB limit"), ("truncated", "not valid JSON")]:
        assert points(graded, student, GRU) == zero(GRU)
        assert all(words in r for r in reasons(graded, student, GRU).values()), reasons(graded, student, GRU)


# -- 5. bookkeeping -----------------------------------------------------------------------------
def test_students_come_from_folders_and_exercises_from_metadata(graded):
    assert points(graded, "alice", GRU) == FULL[GRU]  # alice/<exercise>-Copy1.ipynb
    assert set(graded["grades"]["bob"]) == {SUNSPOT}  # exercise 03 saved under 01's name
    assert points(graded, "bob", SUNSPOT) == FULL[SUNSPOT]
    assert "Copy1" not in graded["grades"] and f"{GRU}" not in graded["grades"]


def test_the_newest_of_two_submissions_counts_and_the_row_says_which(graded):
    assert points(graded, "carol", GRU) == FULL[GRU]
    assert len(graded["grades"]["carol"][GRU]) == len(FULL[GRU])  # counted once, not twice
    assert all("newest of 2 submissions" in r and "Copy1" in r for r in reasons(graded, "carol", GRU).values())


def test_unicode_names_get_their_own_feedback(graded):
    names = {"Zoë", "Zoé", "zoë"}
    assert names <= set(graded["grades"])
    files = {p.name for p in (graded["out"] / "feedback").glob("*.md")}
    assert len({n.casefold() for n in files}) == len(files)
    for name in names:
        assert points(graded, name, GRU) == FULL[GRU]
        assert any(f"# Feedback for {name}\n" in p.read_text() for p in (graded["out"] / "feedback").glob("*.md"))


def test_old_formats_and_moved_or_pasted_tests_change_nothing(graded):
    assert points(graded, "format3", GRU) == FULL[GRU]
    assert points(graded, "format44", SCAN) == FULL[SCAN]
    assert points(graded, "moved_tests", GRU) == FULL[GRU]
    assert points(graded, "deleted_tests", SUNSPOT) == FULL[SUNSPOT]


def test_roster_and_outputs(graded):
    assert points(graded, "dave", GRU) == zero(GRU)
    assert {r["reason"] for r in graded["rows"] if r["student"] == "dave"} == {"missing"}
    rows = graded["rows"]
    assert list(rows[0]) == ["student", "exercise", "question", "points", "max_points", "reason"]
    keys = [r["student"] for r in rows]
    assert keys == sorted(keys)
    with open(graded["out"] / "grades_totals.csv", newline="", encoding="utf-8") as handle:
        totals = {(r["student"], r["exercise"]): (float(r["points"]), float(r["max_points"]))
                  for r in csv.DictReader(handle)}
    assert totals[("solution", "(all)")] == (34, 34) and totals[("untouched", "(all)")] == (0, 34)
    assert totals[("dave", "(all)")] == (0, 34)
    feedback = (graded["out"] / "feedback" / "cheater.md").read_text()
    assert "| lstm_cell | 3 / 3 | passed |" in feedback and "**Total: 4 / 7 points**" in feedback
    assert "graded without a sandbox" not in feedback
    print(f"graded {len(set(keys))} students in {graded['seconds']:.0f} s")

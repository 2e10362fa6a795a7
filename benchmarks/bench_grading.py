"""Notebooks graded per minute: the grader before the sandbox (an older commit) against today's, with and
without the sandbox, on the same kind of class, side by side.

    .venv/bin/python benchmarks/bench_grading.py                     # 24 notebooks, --jobs 2, 3 rounds
    .venv/bin/python benchmarks/bench_grading.py --notebooks 12 --rounds 1

"before" is the grader at ``--before`` (default: the last commit that ran every submission in an
unsandboxed kernel and decided in the kernel), taken from git with its own solutions and exercises;
"after" is the working tree's grader, in its sandbox and with --no-sandbox. Each round grades the
class once with each, in rotating order; the ratios are medians over rounds of within-round ratios.
The class: every exercise as a student hands it in: solved, untouched, and with one known-wrong
answer, repeated.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

WRONG = {  # exercise -> (cell id, correct text, wrong text), valid in both versions of the solutions
    "01_gru_lstm_cells": ("gru-cell", "h_next = (1 - z) * n + z * hx", "h_next = z * n + (1 - z) * hx"),
    "02_gradient_flow": ("diagnose", "float(torch.linalg.eigvals(weight_hh).abs().max())",
                         "float(torch.linalg.matrix_norm(weight_hh, ord=2))"),
    "03_sunspot_windows_loss": ("combined-loss", "return alpha * mse + (1 - alpha) * rmse",
                                "return alpha * rmse + (1 - alpha) * mse"),
    "04_selective_scan": ("selective-scan", "return y + u * D[None, :, None]", "return y"),
}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def checkout(ref: str, into: Path) -> Path:
    """``seqlab/``, ``solutions/`` and ``exercises/`` as they were at ``ref``."""
    data = subprocess.run(["git", "archive", "--format=tar", ref, "seqlab", "solutions", "exercises"],
                          cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as archive:
        archive.extractall(into, filter="data")
    return into


def make_class(tree: Path, out: Path, count: int) -> None:
    """``count`` notebooks as students hand them in (the exercise, answers filled in or not): each
    exercise solved, untouched and with one wrong answer, in turn."""
    kinds = []
    for name in sorted(WRONG):
        kinds += [(name, "solved"), (name, "untouched"), (name, "wrong")]
    for index in range(count):
        name, kind = kinds[index % len(kinds)]
        nb = nbformat.read(tree / "exercises" / f"{name}.ipynb", as_version=4)
        if kind != "untouched":
            answers = {c.get("id"): c.source for c in nbformat.read(tree / "solutions" / f"{name}.ipynb", as_version=4).cells
                       if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
            for cell in nb.cells:
                cell.source = answers.get(cell.get("id"), cell.source)
        if kind == "wrong":
            cell_id, old, new = WRONG[name]
            (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
            cell.source = cell.source.replace(old, new)
        path = out / f"student{index:02d}" / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)


# runs seqlab's CLI from another source tree: the editable install's import hook would win over PYTHONPATH
FROM_TREE = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]; "
             "sys.path.insert(0, sys.argv.pop(1)); from seqlab.cli import main; sys.exit(main(sys.argv[1:]))")


def grade(tree: Path, submissions: Path, jobs: int, extra: list[str]) -> float:
    """Seconds to grade ``submissions`` with the grader in ``tree``."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", FROM_TREE, str(tree), "grade", str(submissions), "--solutions",
                        str(tree / "solutions"), "--jobs", str(jobs), "--timeout", "300", "--out",
                        f"{out}/grades.csv", "--feedback-dir", f"{out}/feedback", *extra],
                       check=True, capture_output=True, cwd=tree)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default="38cac2c", help="git revision of the grader to compare with")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        old = checkout(args.before, scratch / "before")
        make_class(old, scratch / "class_before", args.notebooks)
        make_class(ROOT, scratch / "class_after", args.notebooks)
        contenders = {
            "before (no sandbox, verdict in the kernel)": lambda: grade(old, scratch / "class_before", args.jobs, []),
            "after, sandboxed": lambda: grade(ROOT, scratch / "class_after", args.jobs, []),
            "after, --no-sandbox": lambda: grade(ROOT, scratch / "class_after", args.jobs, ["--no-sandbox"]),
        }
        names = list(contenders)
        seconds: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            order = names[round_ % len(names):] + names[: round_ % len(names)]
            for name in order:
                seconds[name].append(contenders[name]())
    print(f"CPU: {cpu_model()}, {args.jobs} jobs, {args.notebooks} notebooks, {args.rounds} round(s)")
    base = seconds[names[0]]
    for name in names:
        ratios = [s / b for s, b in zip(seconds[name], base)]
        print(f"{name:45s} {statistics.median(seconds[name]):6.1f} s   "
              f"{60 * args.notebooks / statistics.median(seconds[name]):5.1f} notebooks/min   "
              f"time / before {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()

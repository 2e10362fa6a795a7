"""Exercises from one source, and grading a class with one command.

- ``python -m seqlab exercises build``  writes ``exercises/`` from ``solutions/`` (``build.py``)
- ``python -m seqlab exercises check``  fails when the committed ``exercises/`` differ from a fresh build
- ``python -m seqlab grade SUBMISSION...``  grades notebooks into a CSV and feedback files (``grade.py``)

Modules: ``markers`` (nbgrader's ``### BEGIN SOLUTION`` regions in one cell), ``cells`` (nbgrader cell
metadata, solution checks), ``build`` (solutions -> exercises), ``checks`` (``check(...)`` in test
cells), ``values`` (the plain data a kernel may send, and comparing it), ``submissions`` (who, which
exercise, tests merged in), ``execute`` (one notebook in a fresh kernel), ``runner`` (that, inside a
sandbox), ``sandbox`` (bubblewrap and limits), ``grade`` (a class, in parallel).
See docs/instructors.md.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["add_exercises_arguments", "run_exercises", "add_grade_arguments", "run_grade"]


def add_exercises_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("build", "check"),
                        help="build: write the exercises; check: exit 1 when they differ from a fresh build")
    parser.add_argument("--solutions", default="solutions", metavar="DIR",
                        help="hand-edited solution notebooks (default: solutions)")
    parser.add_argument("--out", default="exercises", metavar="DIR",
                        help="where the exercise notebooks go (default: exercises)")
    parser.add_argument("--check", action="store_true", help="with build: only check, write nothing")


def run_exercises(args: argparse.Namespace) -> int:
    from seqlab.grading.build import check_exercises, write_exercises
    from seqlab.grading.markers import MarkerError

    try:
        if args.action == "check" or args.check:
            problems = check_exercises(args.solutions, args.out)
            for problem in problems:
                print(f"seqlab exercises check: {problem}", file=sys.stderr)
            if problems:
                print("run `python -m seqlab exercises build` and commit the result", file=sys.stderr)
                return 1
            print(f"{args.out}/ agrees with a fresh build of {args.solutions}/")
            return 0
        changed = write_exercises(args.solutions, args.out)
    except MarkerError as error:
        print(f"seqlab exercises: error: {error}", file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(f"seqlab exercises: error: {error}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"wrote {path}")
    print(f"{args.out}/ is up to date ({len(changed)} notebook(s) changed)")
    return 0


def add_grade_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="folders of submissions laid out as <folder>/<student>/<notebook>.ipynb, an "
                             "nbgrader course folder (its submitted/ is graded), or notebooks")
    parser.add_argument("--solutions", default="solutions", metavar="DIR",
                        help="solution notebooks with the hidden tests (default: solutions)")
    parser.add_argument("--roster", metavar="FILE",
                        help="students, one a line: a student without a submission gets 0 points, reason 'missing'")
    parser.add_argument("--out", default="grades.csv", metavar="CSV",
                        help="per-question grades; totals go beside it in <name>_totals.csv (default: grades.csv)")
    parser.add_argument("--feedback-dir", default="feedback", metavar="DIR",
                        help="one <student>.md per student (default: feedback)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="notebooks graded at once, one sandbox each (default: the number of CPUs)")
    limits = parser.add_argument_group("limits per notebook")
    limits.add_argument("--timeout", type=float, default=120, metavar="S",
                        help="seconds of wall time, all cells together (default: 120)")
    limits.add_argument("--memory-mb", type=int, default=4096, metavar="MB",
                        help="address space per process (default: 4096)")
    limits.add_argument("--max-processes", type=int, default=64, metavar="N",
                        help="processes and threads at once (default: 64)")
    limits.add_argument("--cpu-time", type=int, default=0, metavar="S",
                        help="CPU seconds per process (default: the timeout plus 60)")
    limits.add_argument("--max-file-mb", type=int, default=64, metavar="MB",
                        help="size of any file the notebook writes (default: 64)")
    limits.add_argument("--max-output-kb", type=int, default=1024, metavar="KB",
                        help="output kept from a run; the rest is dropped and the feedback says so (default: 1024)")
    limits.add_argument("--max-notebook-mb", type=int, default=20, metavar="MB",
                        help="larger submitted files are refused (default: 20)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run notebooks without bubblewrap (no isolation; every row then says so)")


def run_grade(args: argparse.Namespace) -> int:
    from seqlab.grading.grade import run

    return run(args)

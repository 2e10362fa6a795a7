"""Command line: ``python -m seqlab {compare, sweep, exercises, grade, lessons, course}``.

Each sub-command's arguments and work live beside the code they drive; this file only
dispatches. A sub-command's module is imported only when that sub-command runs (so
``python -m seqlab --help`` stays fast): each entry below names its two functions explicitly.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Subcommand:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _compare_arguments(parser):
    from .compare import add_arguments
    add_arguments(parser)


def _compare(args):
    from .compare import run
    return run(args)


def _sweep_arguments(parser):
    from .sweep import add_arguments
    add_arguments(parser)


def _sweep(args):
    from .sweep import run
    return run(args)


def _exercises_arguments(parser):
    from .grading import add_exercises_arguments
    add_exercises_arguments(parser)


def _exercises(args):
    from .grading import run_exercises
    return run_exercises(args)


def _grade_arguments(parser):
    from .grading import add_grade_arguments
    add_grade_arguments(parser)


def _grade(args):
    from .grading import run_grade
    return run_grade(args)


def _lessons_arguments(parser):
    from .course import add_lessons_arguments
    add_lessons_arguments(parser)


def _lessons(args):
    from .course import run_lessons
    return run_lessons(args)


def _course_arguments(parser):
    from .course import add_course_arguments
    add_course_arguments(parser)


def _course(args):
    from .course import run_course
    return run_course(args)


SUBCOMMANDS = {
    "compare": Subcommand("train and compare the sunspot forecasters (the lab's table 3)", _compare_arguments, _compare),
    "sweep": Subcommand("run the lab's tables or a search as an Optuna study, on one machine or many",
                        _sweep_arguments, _sweep),
    "exercises": Subcommand("build exercises/ from solutions/ (or --check that they agree)", _exercises_arguments,
                            _exercises),
    "grade": Subcommand("grade submitted exercise notebooks, a class at a time", _grade_arguments, _grade),
    "lessons": Subcommand("copy the lesson and exercise notebooks into a folder", _lessons_arguments, _lessons),
    "course": Subcommand("check or write the Open in Colab badges and setup cells", _course_arguments, _course),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the sub-command named in ``argv`` gets its arguments (and imports its module)."""
    parser = argparse.ArgumentParser(prog="python -m seqlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(SUBCOMMANDS) + "}")
    wanted = next((arg for arg in argv or [] if arg in SUBCOMMANDS), None)
    for name, command in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        if name == wanted:
            command.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(SUBCOMMANDS[args.command].run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

"""Command line: ``python -m seqlab {compare, exercises, grade, lessons, course}``.

Each sub-command's arguments and work live beside the code they drive; this file only
dispatches, and imports a sub-command's module only when that sub-command runs (so
``python -m seqlab --help`` stays fast).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, help); the module defines add_<name>_arguments(parser) and run_<name>(args) -> int
SUBCOMMANDS = {
    "compare": ("seqlab.experiments", "train and compare the sunspot forecasters (the lab's table 3)"),
    "exercises": ("seqlab.grading", "build exercises/ from solutions/ (or --check that they agree)"),
    "grade": ("seqlab.grading", "grade submitted exercise notebooks, a class at a time"),
    "lessons": ("seqlab.course", "copy the lesson and exercise notebooks into a folder"),
    "course": ("seqlab.course", "check or write the Open in Colab badges and setup cells"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seqlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(SUBCOMMANDS) + "}")
    wanted = None
    for arg in argv or []:
        if arg in SUBCOMMANDS:
            wanted = arg
            break
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            getattr(importlib.import_module(module), f"add_{name}_arguments")(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    return int(getattr(module, f"run_{args.command}")(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

"""The course as people take it: notebooks handed out from an installed seqlab, and Colab badges.

- ``seqlab lessons DIR``                   copies the lesson and exercise notebooks into DIR (``files.py``)
- ``python -m seqlab course colab --check``  exit 1 when a lesson or exercise lacks its Open in Colab
  badge or setup cell; ``--write`` adds or updates them (``colab.py``; idempotent)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_lessons_arguments", "run_lessons", "add_course_arguments", "run_course"]


def add_lessons_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dest", metavar="DIR", help="where to put notebooks/ (lessons) and exercises/")
    parser.add_argument("--force", action="store_true",
                        help="overwrite notebooks already in DIR (by default they are kept: they may hold your work)")


def run_lessons(args: argparse.Namespace) -> int:
    from seqlab.course.files import copy_lessons

    try:
        copied, kept = copy_lessons(args.dest, force=args.force)
    except (FileNotFoundError, NotADirectoryError) as error:
        print(f"seqlab lessons: error: {error}", file=sys.stderr)
        return 2
    for path in copied:
        print(f"copied {path}")
    for path in kept:
        print(f"kept   {path} (already there; --force overwrites it)")
    print(f"{len(copied)} notebook(s) copied into {args.dest}; open them with: jupyter lab {args.dest}")
    return 0


def add_course_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("part", choices=("colab",), help="colab: the Open in Colab badge and setup cell")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when a notebook lacks them (default)")
    mode.add_argument("--write", action="store_true", help="add or update them in place")
    parser.add_argument("--root", default=".", metavar="DIR",
                        help="repository root holding notebooks/ and exercises/ (default: .)")


def colab_notebooks(root: str | Path) -> list[tuple[str, Path]]:
    """``(folder, path)`` of every notebook that carries a badge: lessons and exercises."""
    from seqlab.course.files import FOLDERS

    root = Path(root)
    return [(folder, path) for folder in FOLDERS for path in sorted((root / folder).glob("*.ipynb"))]


def run_course(args: argparse.Namespace) -> int:
    import nbformat

    from seqlab.course.colab import add_colab, colab_problems
    from seqlab.grading.build import render

    found = colab_notebooks(args.root)
    if not found:
        print(f"seqlab course: error: no notebooks in {Path(args.root) / 'notebooks'} or "
              f"{Path(args.root) / 'exercises'}; run from the repository root or pass --root", file=sys.stderr)
        return 2
    problems, changed = [], []
    for folder, path in found:
        data = path.read_bytes()
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        if args.write:
            try:
                add_colab(nb, folder, path.name)
            except ValueError as error:
                problems.append(str(error))
                continue
            if render(nb) != data:
                path.write_bytes(render(nb))
                changed.append(path)
        else:
            problems.extend(colab_problems(nb, folder, path.name))
    for path in changed:
        print(f"wrote {path}")
    for problem in problems:
        print(f"seqlab course colab: {problem}", file=sys.stderr)
    if problems:
        if not args.write:
            print("run `python -m seqlab course colab --write` and commit the result", file=sys.stderr)
        return 1
    print(f"{len(found)} notebook(s) have their Colab badge and setup cell ({len(changed)} changed)")
    return 0

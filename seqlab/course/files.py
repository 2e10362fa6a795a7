"""Where the course notebooks are, and handing them out: ``seqlab lessons DIR``.

An installed wheel carries the lessons and the exercise notebooks in ``seqlab/_course/`` (setup.py
copies ``notebooks/`` and ``exercises/`` there when the wheel is built; ``solutions/`` never ships).
Run from a clone (an editable install), they are read from the repository itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

FOLDERS = ("notebooks", "exercises")  # lessons, then the student exercises; same names as in the repository
DATA = ("data", "results")  # beside the lessons: the committed results they read (relative paths)
PACKAGED = Path(__file__).resolve().parents[1] / "_course"
REPOSITORY = Path(__file__).resolve().parents[2]


def course_dir() -> Path:
    """The folder holding ``notebooks/`` and ``exercises/``: the wheel's copy, else the repository."""
    for root in (PACKAGED, REPOSITORY):
        if all(any((root / folder).glob("*.ipynb")) for folder in FOLDERS):
            return root
    raise FileNotFoundError(
        "this seqlab has no course notebooks: install it from a wheel built by `pip wheel .` "
        "(or `python -m build`) in the repository, or run from a clone of the repository")


def course_notebooks() -> dict[str, list[Path]]:
    """``{"notebooks": [lessons...], "exercises": [exercises...]}``, each sorted by name."""
    root = course_dir()
    return {folder: sorted((root / folder).glob("*.ipynb")) for folder in FOLDERS}


def lesson_data() -> list[Path]:
    """The result files the lessons read, relative to ``notebooks/`` (``results/04_full_protocol.csv``, ...)."""
    lessons = course_dir() / "notebooks"
    return sorted(p.relative_to(lessons) for sub in DATA for p in (lessons / sub).glob("*") if p.is_file())


def copy_lessons(dest: str | Path, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy the lessons to ``dest/notebooks`` and the exercises to ``dest/exercises``.

    A notebook already there is kept (it may hold a student's work) unless ``force``.
    Returns ``(copied, kept)``.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(f"{dest} is a file; give a folder for the notebooks")
    copied, kept = [], []
    for folder, sources in course_notebooks().items():
        (dest / folder).mkdir(parents=True, exist_ok=True)
        for source in sources:
            target = dest / folder / source.name
            if target.exists() and not force:
                kept.append(target)
                continue
            shutil.copyfile(source, target)
            copied.append(target)
    copy_lesson_data(dest / "notebooks")
    return copied, kept


def copy_lesson_data(dest: str | Path) -> list[Path]:
    """Copy the results the lessons read (``results/``, ``data/``) into ``dest``, the lessons' folder.
    Always refreshed: they are committed results, not a student's work. Colab's setup cell calls this,
    since a notebook opened alone in Colab has nothing beside it."""
    copied = []
    for relative in lesson_data():
        target = Path(dest) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(course_dir() / "notebooks" / relative, target)
        copied.append(target)
    return copied

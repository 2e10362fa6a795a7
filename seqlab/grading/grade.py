"""Grade a class: every submission in its own fresh kernel, in parallel; a CSV and feedback files out.

Each submission is run with its test cells replaced by the solution's (visible and hidden tests,
see ``submissions.merge_tests``); a test cell that runs without an error earns its points. One bad
notebook (raises, loops, floods output, kills its kernel, is not JSON) costs its author the points
of what could not run, with the reason, and grading goes on.
"""

from __future__ import annotations

import csv
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from seqlab.grading.build import read_notebook, solution_paths
from seqlab.grading.cells import check_solution_notebook, grade_id, is_test_cell, nbgrader
from seqlab.grading.execute import run_cells
from seqlab.grading.submissions import (
    InvalidSubmission,
    find_notebooks,
    identify_exercise,
    identify_student,
    merge_tests,
    parse_notebook,
)

COLUMNS = ("student", "exercise", "question", "points", "max_points", "reason")
TOTAL_COLUMNS = ("student", "exercise", "points", "max_points")
ALL_EXERCISES = "(all)"


@dataclass(frozen=True)
class Row:
    student: str
    exercise: str
    question: str  # the test cell's grade_id
    points: float
    max_points: float
    reason: str


@dataclass(frozen=True)
class Task:
    path: str
    student: str
    exercise: str | None
    solution: str | None  # path of the solution notebook
    timeout: float


@lru_cache(maxsize=None)
def questions(solution_path: str) -> tuple[tuple[str, float], ...]:
    """``((grade_id, points), ...)`` of a solution's test cells, in notebook order."""
    nb = read_notebook(solution_path)
    return tuple((grade_id(cell), nbgrader(cell)["points"]) for cell in nb.cells if is_test_cell(cell))


def grade_task(task: Task) -> list[Row]:
    """Grade one submission (runs in a worker thread). Never raises: problems become reasons."""
    if task.solution is None:
        return [Row(task.student, "?", "-", 0, 0, "cannot tell which exercise this is; name the file "
                    "after the exercise or keep metadata.seqlab.exercise")]
    asked = questions(task.solution)

    def all_failed(reason: str) -> list[Row]:
        return [Row(task.student, task.exercise, gid, 0, points, reason) for gid, points in asked]

    try:
        submission = parse_notebook(Path(task.path).read_bytes())
        merged, graded = merge_tests(read_notebook(task.solution), submission)
        with tempfile.TemporaryDirectory(prefix="seqlab-grade-") as cwd:
            results = run_cells(merged, graded, task.timeout, cwd)
    except InvalidSubmission as error:
        return all_failed(str(error))
    except Exception as error:  # a grader bug must not stop the class
        return all_failed(f"grader error: {type(error).__name__}: {error}"[:200])
    return [
        Row(task.student, task.exercise, gid, points if results[gid].passed else 0, points, results[gid].reason)
        for gid, points in asked
    ]


def plan(submissions: list[str | Path], solutions_dir: str | Path, timeout: float) -> list[Task]:
    """One task per submitted notebook, sorted by student then exercise then path."""
    solutions = {path.stem: path for path in solution_paths(solutions_dir)}
    for path in solutions.values():
        check_solution_notebook(read_notebook(path), path)
    tasks = []
    for path in find_notebooks(submissions):
        try:
            nb = parse_notebook(path.read_bytes())
        except (InvalidSubmission, OSError):
            nb = None
        exercise = identify_exercise(path, nb, sorted(solutions))
        solution = str(solutions[exercise]) if exercise else None
        tasks.append(Task(str(path), identify_student(path, exercise), exercise, solution, timeout))
    return sorted(tasks, key=lambda t: (t.student, t.exercise or "", t.path))


def grade_all(tasks: list[Task], jobs: int, progress=None) -> list[Row]:
    """Grade ``tasks`` with ``jobs`` kernels at a time; rows in the tasks' order.

    Threads suffice: each one mostly waits on its own kernel process, which does the work.
    """
    results: dict[int, list[Row]] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(tasks)))) as pool:
        futures = {pool.submit(grade_task, task): index for index, task in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()  # grade_task turns every problem into a reason
            if progress:
                progress(len(results), len(tasks), results[futures[future]])
    return [row for index in range(len(tasks)) for row in results[index]]


def totals(rows: list[Row]) -> list[tuple[str, str, float, float]]:
    """``(student, exercise, points, max_points)`` per student and exercise, then per student (all)."""
    per: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        for key in ((row.student, row.exercise), (row.student, ALL_EXERCISES)):
            acc = per.setdefault(key, [0, 0])
            acc[0] += row.points
            acc[1] += row.max_points
    order = sorted(per, key=lambda key: (key[0], key[1] == ALL_EXERCISES, key[1]))
    return [(student, exercise, *per[(student, exercise)]) for student, exercise in order]


def number(value: float) -> str:
    return f"{value:g}"


def write_csv(rows: list[Row], path: Path) -> Path:
    """Write the per-question CSV and, beside it, ``<stem>_totals.csv``; return the totals path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow((row.student, row.exercise, row.question, number(row.points),
                             number(row.max_points), row.reason))
    totals_path = path.with_name(path.stem + "_totals.csv")
    with totals_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TOTAL_COLUMNS)
        for student, exercise, points, max_points in totals(rows):
            writer.writerow((student, exercise, number(points), number(max_points)))
    return totals_path


def safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"


def feedback_text(student: str, rows: list[Row], sources: dict[str, str]) -> str:
    """A student's feedback in markdown: one table per exercise, then the total."""
    lines = [f"# Feedback for {student}", ""]
    for exercise in dict.fromkeys(row.exercise for row in rows):
        mine = [row for row in rows if row.exercise == exercise]
        got, out_of = sum(r.points for r in mine), sum(r.max_points for r in mine)
        lines += [f"## {exercise}: {number(got)} / {number(out_of)} points", ""]
        if exercise in sources:
            lines += [f"Graded file: `{sources[exercise]}`", ""]
        lines += ["| question | points | result |", "|---|---|---|"]
        for row in mine:
            reason = row.reason.replace("|", "\\|")
            lines.append(f"| {row.question} | {number(row.points)} / {number(row.max_points)} | {reason} |")
        lines.append("")
    got, out_of = sum(r.points for r in rows), sum(r.max_points for r in rows)
    lines += [f"**Total: {number(got)} / {number(out_of)} points**", ""]
    return "\n".join(lines)


def write_feedback(rows: list[Row], tasks: list[Task], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in dict.fromkeys(row.student for row in rows):
        sources = {t.exercise: t.path for t in tasks if t.student == student and t.exercise}
        path = folder / f"{safe_name(student)}.md"
        path.write_text(feedback_text(student, [r for r in rows if r.student == student], sources),
                        encoding="utf-8")
        written.append(path)
    return written


def run(args) -> int:
    """``python -m seqlab grade``: see ``add_grade_arguments``."""
    if args.timeout <= 0 or args.jobs < 1:
        print("seqlab grade: error: --timeout and --jobs must be positive", file=sys.stderr)
        return 2
    try:
        tasks = plan(args.submissions, args.solutions, args.timeout)
    except (FileNotFoundError, ValueError) as error:
        print(f"seqlab grade: error: {error}", file=sys.stderr)
        return 2
    if not tasks:
        print(f"seqlab grade: error: no .ipynb found in {' '.join(map(str, args.submissions))}", file=sys.stderr)
        return 2
    seen: dict[tuple[str, str | None], str] = {}
    for task in tasks:
        key = (task.student, task.exercise)
        if key in seen:
            print(f"seqlab grade: warning: {task.path} and {seen[key]} are both {task.student}'s "
                  f"{task.exercise}; both are graded", file=sys.stderr)
        seen[key] = task.path

    def progress(done: int, total: int, rows: list[Row]) -> None:
        if rows:
            got, out_of = sum(r.points for r in rows), sum(r.max_points for r in rows)
            print(f"[{done}/{total}] {rows[0].student} {rows[0].exercise}: {number(got)}/{number(out_of)}",
                  file=sys.stderr, flush=True)

    rows = grade_all(tasks, args.jobs, progress)
    out = Path(args.out)
    totals_path = write_csv(rows, out)
    written = write_feedback(rows, tasks, Path(args.feedback_dir))
    print(f"graded {len(tasks)} notebook(s) of {len(written)} student(s): {out}, {totals_path}, "
          f"{args.feedback_dir}/<student>.md")
    for student, exercise, points, max_points in totals(rows):
        if exercise == ALL_EXERCISES:
            print(f"  {student}: {number(points)} / {number(max_points)}")
    return 0

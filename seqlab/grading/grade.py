"""Grade a class: each submission in its own sandbox, verdicts in the grader; a CSV and feedback out.

1. Plan: find the notebooks, copy their bytes (regular files only), name student and exercise,
   keep the newest of duplicates, add the roster's missing students.
2. References: run each needed solution notebook once, sandboxed like a submission, in
   ``reference`` mode; every check's value becomes the expected value, held in memory. A solution
   whose test cell fails stops the run with a message naming the file and the cell.
3. Submissions, in parallel: the submission with the solution's test cells (``merge_tests``), run in
   ``record`` mode; the kernel only sends back plain data (``checks``, ``values``).
4. Verdicts, here: each check's value against the reference's, with the reference's tolerances.
   A question's points are shared equally by its properties (checks with the same description);
   a property passes when all its checks do.
5. Write grades.csv, grades_totals.csv and feedback/*.md atomically. SIGINT / SIGTERM end every
   sandbox and write what is graded so far, marked incomplete.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
import tempfile
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from seqlab.grading.build import read_notebook, solution_paths
from seqlab.grading.cells import check_solution_notebook, grade_id, is_test_cell, nbgrader, where
from seqlab.grading.checks import MODE_VARIABLE
from seqlab.grading.markers import MarkerError, find_regions
from seqlab.grading.sandbox import Limits, Sandboxes, open_sandboxes
from seqlab.grading.submissions import (
    InvalidSubmission,
    find_notebooks,
    identify_exercise,
    merge_tests,
    parse_notebook,
    read_submission,
)
from seqlab.grading.values import BadValue, compare, decode

COLUMNS = ("student", "exercise", "question", "points", "max_points", "reason")
TOTAL_COLUMNS = ("student", "exercise", "points", "max_points")
ALL_EXERCISES = "(all)"
NO_SANDBOX = "graded without a sandbox"
INTERRUPTED = "not graded: the run was interrupted"
MAX_REASON = 500


@dataclass(frozen=True)
class Row:
    student: str
    exercise: str
    question: str  # the test cell's grade_id
    points: float
    max_points: float
    reason: str


@dataclass(frozen=True)
class Check:
    """One check of the solution's run: what it states, how it compares, its value."""

    property: str
    hidden: bool
    atol: float
    rtol: float
    value: object  # decoded


@dataclass
class Exercise:
    """A solution, read once and held: its notebook, questions and (after step 2) reference checks."""

    name: str
    path: Path
    notebook: nbformat.NotebookNode
    questions: list[tuple[str, float]]  # (grade_id, points) in notebook order
    checks: dict[str, list[Check]] = field(default_factory=dict)


@dataclass
class Task:
    path: str
    student: str
    exercise: str | None
    data: bytes | None = None  # the copy taken at planning time
    problem: str | None = None  # why it cannot be run (refused, unreadable, unrecognised)
    note: str = ""  # appended to every reason (duplicates)
    feedback: list[str] = field(default_factory=list)  # extra lines for the feedback


# -- 1. plan ------------------------------------------------------------------------------------
def load_exercises(solutions_dir: str | Path) -> dict[str, Exercise]:
    exercises = {}
    for path in solution_paths(solutions_dir):
        nb = read_notebook(path)
        check_solution_notebook(nb, path)
        questions = [(grade_id(c), nbgrader(c)["points"]) for c in nb.cells if is_test_cell(c)]
        exercises[path.stem] = Exercise(path.stem, path, nb, questions)
    return exercises


def plan(submissions: list[str | Path], exercises: dict[str, Exercise], max_bytes: int) -> list[Task]:
    """One task per submitted notebook, sorted by student, exercise, path; duplicates marked."""
    tasks = []
    for found in find_notebooks(submissions):
        task = Task(str(found.path), found.student or "?", None)
        try:
            task.data = read_submission(found.path, max_bytes)
            nb = parse_notebook(task.data)
        except InvalidSubmission as error:
            task.problem, nb = str(error), None
        task.exercise = identify_exercise(found.path, nb, sorted(exercises))
        if found.student is None:
            task.problem = ("cannot tell whose notebook this is: put each student's notebooks in a "
                            "folder named after the student")
            task.student = f"?{found.path.name}"
        elif task.exercise is None and task.problem is None:
            task.problem = ("cannot tell which exercise this is: the notebook has no "
                            "metadata.seqlab.exercise of this course; hand in the exercise notebook")
        tasks.append(task)
    return sorted(tasks, key=lambda t: (t.student, t.exercise or "", t.path))


def newest_only(tasks: list[Task]) -> list[Task]:
    """Of several notebooks of one student and exercise, the newest (modification time) counts."""
    groups: dict[tuple[str, str], list[Task]] = {}
    for task in tasks:
        if task.exercise:
            groups.setdefault((task.student, task.exercise), []).append(task)
    dropped = set()
    for group in groups.values():
        if len(group) > 1:
            group.sort(key=lambda t: (mtime(t.path), t.path))
            keep = group[-1]
            keep.note = f"newest of {len(group)} submissions: {keep.path}"
            others = ", ".join(t.path for t in group[:-1])
            keep.feedback.append(f"{len(group)} notebooks of this exercise were handed in; the newest, "
                                 f"`{keep.path}`, was graded (not {others}).")
            dropped.update(id(t) for t in group[:-1])
    return [t for t in tasks if id(t) not in dropped]


def mtime(path: str) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def read_roster(path: str | Path) -> list[str]:
    """Students, one a line; blank lines and ``#`` comments skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [unicodedata.normalize("NFC", s.strip()) for s in lines if s.strip() and not s.strip().startswith("#")]


# -- 2. and 3. runs -----------------------------------------------------------------------------
def parse_run(lines: list[str], keys: list[str]) -> tuple[dict[str, dict], dict]:
    """The runner's lines, validated: ``({key: {"error", "records"}}, done)``; the first well-formed
    result per key counts, anything else is ignored."""
    results: dict[str, dict] = {}
    done: dict = {}
    for line in lines:
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(item, dict):
            continue
        key = item.get("result")
        if key in keys and key not in results:
            error, records = item.get("error"), item.get("records")
            if (error is None or isinstance(error, str)) and isinstance(records, list):
                results[key] = {"error": error[:MAX_REASON] if error else None, "records": records}
        elif item.get("done") is True and not done:
            done = item
    return results, done


def run_reference(exercise: Exercise, sandboxes: Sandboxes, limits: Limits) -> str | None:
    """Fill ``exercise.checks`` from a sandboxed run of the solution; None, or what is wrong."""
    graded = {i: grade_id(c) for i, c in enumerate(exercise.notebook.cells) if is_test_cell(c)}
    cells = {gid: (i, exercise.notebook.cells[i]) for i, gid in graded.items()}
    out = sandboxes.run(exercise.notebook, graded, limits, {MODE_VARIABLE: "reference"}, whole_seqlab=True)
    results, _ = parse_run(out.lines, list(graded.values()))
    for gid, (index, cell) in cells.items():
        here = where(exercise.path, index, cell)
        result = results.get(gid)
        if result is None:
            return f"{here}: the solution's test cell did not run (timed out or the kernel died)"
        if result["error"]:
            return f"{here}: the solution fails its own test: {result['error']}"
        hidden_lines = [(r.begin + 1, r.end + 1) for r in find_regions(cell.source) if r.kind == "hidden tests"]
        checks = []
        for number, record in enumerate(result["records"]):
            try:
                value = decode(record["value"])
                prop, atol, rtol, line = record["property"], record["atol"], record["rtol"], record["line"]
                expected = decode(record["expected"]) if "expected" in record else None
            except (BadValue, KeyError, TypeError) as error:
                return f"{here}: check {number + 1} sent malformed data: {error}"
            if "expected" in record:
                problem = compare(expected, value, atol, rtol)
                if problem:
                    return f"{here}: the solution fails check {number + 1} ({prop}): {problem}"
            hidden = any(begin < line < end for begin, end in hidden_lines)
            checks.append(Check(prop, hidden, atol, rtol, value))
        if not checks:
            return f"{here}: the test cell makes no check(...); see docs/instructors.md"
        exercise.checks[gid] = checks
    return None


def verdict(checks: list[Check], result: dict | None, stopped: str) -> tuple[float, list[str]]:
    """(fraction of properties passed, failure messages) for one question."""
    error = (result or {}).get("error") or stopped
    records = (result or {}).get("records", [])
    properties = list(dict.fromkeys(c.property for c in checks))
    failed: dict[str, str] = {}
    for number, check in enumerate(checks):
        if check.property in failed:
            continue
        if number >= len(records):
            failed[check.property] = "" if error else "not reached"
            continue
        try:
            got = decode(records[number].get("value") if isinstance(records[number], dict) else None)
        except (BadValue, RecursionError) as bad:
            failed[check.property] = f"the kernel sent malformed data ({bad})"
            continue
        problem = compare(check.value, got, check.atol, check.rtol)
        if problem:
            failed[check.property] = problem
    if not failed:
        return 1.0, []
    if not records:  # nothing checked at all: the error says why
        return 0.0, [error or "no check reported a value (the test cell's output was hidden, or it did not run)"]
    messages = []
    hidden = {c.property for c in checks if c.hidden}
    for prop, problem in failed.items():
        if prop in hidden:
            messages.append(f"hidden check failed: {prop}")
        else:
            messages.append(f"{prop}: {problem}" if problem else f"{prop}: not reached")
    if any(problem == "" for problem in failed.values()) and error:
        messages.append(f"stopped by {error}")
    return (len(properties) - len(failed)) / len(properties), messages


def grade_task(task: Task, exercise: Exercise, sandboxes: Sandboxes, limits: Limits) -> list[Row]:
    """Rows for one submission. Never raises: problems become reasons."""

    def rows(reason_of) -> list[Row]:
        out = []
        for gid, points in exercise.questions:
            got, reason = reason_of(gid, points)
            reason = f"{reason}; {task.note}" if task.note else reason
            out.append(Row(task.student, exercise.name, gid, got, points, reason[:MAX_REASON]))
        return out

    if task.problem:
        return rows(lambda gid, points: (0, task.problem))
    try:
        merged, graded = merge_tests(exercise.notebook, parse_notebook(task.data))
        out = sandboxes.run(merged, graded, limits, {MODE_VARIABLE: "record"})
        results, done = parse_run(out.lines, list(graded.values()))
    except Exception as error:  # a grader bug must not stop the class
        return rows(lambda gid, points: (0, f"grader error: {type(error).__name__}: {error}"))
    if sandboxes.closed and not done:
        return rows(lambda gid, points: (0, INTERRUPTED))
    stopped = f"timed out after {limits.timeout:g} s" if out.timed_out else (
        done.get("stopped") if isinstance(done.get("stopped"), str) else None) or (
        "" if done else "kernel died")
    if out.truncated or (isinstance(done.get("output_bytes"), int) and done["output_bytes"] > limits.output):
        task.feedback.append(f"{exercise.name}: the notebook printed more than {limits.output} bytes; "
                             f"output beyond that was dropped.")

    def score(gid, points):
        fraction, messages = verdict(exercise.checks[gid], results.get(gid), stopped)
        got = points if fraction == 1 else round(points * fraction, 2)
        return got, "passed" if not messages else "; ".join(m for m in messages if m)

    return rows(score)


def grade_all(tasks: list[Task], exercises: dict[str, Exercise], sandboxes: Sandboxes, limits: Limits,
              jobs: int, progress=None) -> tuple[list[Row], bool]:
    """Grade ``tasks`` with ``jobs`` sandboxes at a time; (rows in the tasks' order, complete)."""
    results: dict[int, list[Row]] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(tasks)))) as pool:
        futures = {pool.submit(grade_task, t, exercises[t.exercise] if t.exercise else None, sandboxes, limits): i
                   for i, t in enumerate(tasks) if t.exercise}
        for index, task in enumerate(tasks):
            if not task.exercise:
                results[index] = [Row(task.student, "?", "-", 0, 0, task.problem or "not recognised")]
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress:
                    progress(len(results), len(tasks), results[futures[future]])
        finally:
            for future in futures:
                future.cancel()
    complete = len(results) == len(tasks) and not sandboxes.closed
    for index, task in enumerate(tasks):
        if index not in results:
            exercise = exercises[task.exercise]
            results[index] = [Row(task.student, exercise.name, gid, 0, points, INTERRUPTED)
                              for gid, points in exercise.questions]
    return [row for index in range(len(tasks)) for row in results[index]], complete


# -- 5. outputs ---------------------------------------------------------------------------------
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
    return f"{round(value, 2):g}"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temporary, path)  # readers see the old file or the new one, never a part
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_csv(rows: list[Row], path: Path) -> Path:
    """Write the per-question CSV and, beside it, ``<stem>_totals.csv``; return the totals path."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow((row.student, row.exercise, row.question, number(row.points), number(row.max_points),
                         row.reason))
    write_atomic(path, text.getvalue())
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TOTAL_COLUMNS)
    for student, exercise, points, max_points in totals(rows):
        writer.writerow((student, exercise, number(points), number(max_points)))
    totals_path = path.with_name(path.stem + "_totals.csv")
    write_atomic(totals_path, text.getvalue())
    return totals_path


def feedback_names(students: list[str]) -> dict[str, str]:
    """A file name per student, unique even where file systems fold case or Unicode forms.

    Letters of any script are kept; path separators, control characters and leading dots are
    not; names equal after NFC and case folding get ``-2``, ``-3``, ... in student order.
    """
    names, taken = {}, set()
    for student in sorted(students):
        base = "".join(c if (c.isalnum() or c in "._- ") else "_" for c in unicodedata.normalize("NFC", student))
        base = base.strip(" .") or "student"
        name, n = base, 1
        while unicodedata.normalize("NFC", name).casefold() in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(unicodedata.normalize("NFC", name).casefold())
        names[student] = name
    return names


def feedback_text(student: str, rows: list[Row], tasks: list[Task], header: list[str]) -> str:
    """A student's feedback in markdown: one table per exercise, then the total."""
    lines = [f"# Feedback for {student}", "", *header]
    for exercise in dict.fromkeys(row.exercise for row in rows):
        mine = [row for row in rows if row.exercise == exercise]
        got, out_of = sum(r.points for r in mine), sum(r.max_points for r in mine)
        lines += [f"## {exercise}: {number(got)} / {number(out_of)} points", ""]
        for task in tasks:
            if task.student == student and task.exercise == exercise:
                lines += [f"Graded file: `{task.path}`", "", *(f"{note}\n" for note in task.feedback)]
        lines += ["| question | points | result |", "|---|---|---|"]
        for row in mine:
            reason = row.reason.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {row.question} | {number(row.points)} / {number(row.max_points)} | {reason} |")
        lines.append("")
    got, out_of = sum(r.points for r in rows), sum(r.max_points for r in rows)
    lines += [f"**Total: {number(got)} / {number(out_of)} points**", ""]
    return "\n".join(lines)


def write_feedback(rows: list[Row], tasks: list[Task], folder: Path, header: list[str]) -> list[Path]:
    students = list(dict.fromkeys(row.student for row in rows))
    names = feedback_names(students)
    written = []
    for student in students:
        path = folder / f"{names[student]}.md"
        write_atomic(path, feedback_text(student, [r for r in rows if r.student == student], tasks, header))
        written.append(path)
    return written


# -- the command --------------------------------------------------------------------------------
def error(message: str) -> int:
    print(f"seqlab grade: error: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    """``python -m seqlab grade``: see ``add_grade_arguments``."""
    if args.timeout <= 0 or args.jobs < 1:
        return error("--timeout and --jobs must be positive")
    limits = Limits(timeout=args.timeout, memory=args.memory_mb << 20, processes=args.max_processes,
                    cpu=args.cpu_time, file_size=args.max_file_mb << 20, output=args.max_output_kb << 10)
    try:
        exercises = load_exercises(args.solutions)
        tasks = newest_only(plan(args.submissions, exercises, args.max_notebook_mb << 20))
        roster = read_roster(args.roster) if args.roster else None
    except (FileNotFoundError, MarkerError, OSError) as problem:
        return error(str(problem))
    if not tasks and not roster:
        return error(f"no .ipynb found in {' '.join(map(str, args.submissions))}")

    sandboxes, problem = open_sandboxes(not args.no_sandbox, args.jobs)
    if problem:
        return error(problem)
    interrupted = threading.Event()

    def on_signal(signum, frame):
        interrupted.set()
        print(f"seqlab grade: {signal.Signals(signum).name}: stopping; writing what is graded so far",
              file=sys.stderr, flush=True)
        sandboxes.kill_all()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        needed = sorted({t.exercise for t in tasks if t.exercise})
        with ThreadPoolExecutor(max_workers=max(1, min(args.jobs, len(needed) or 1))) as pool:
            problems = list(pool.map(lambda name: run_reference(exercises[name], sandboxes, limits), needed))
        if interrupted.is_set():
            return 130
        for problem in problems:
            if problem:
                return error(f"a solution is broken, nothing was graded: {problem}")

        def progress(done: int, total: int, rows: list[Row]) -> None:
            if rows:
                got, out_of = sum(r.points for r in rows), sum(r.max_points for r in rows)
                print(f"[{done}/{total}] {rows[0].student} {rows[0].exercise}: {number(got)}/{number(out_of)}",
                      file=sys.stderr, flush=True)

        rows, complete = grade_all(tasks, exercises, sandboxes, limits, args.jobs, progress)
        rows = add_missing(rows, roster, exercises, needed) if roster is not None else rows
        if roster is not None:
            for student in sorted({r.student for r in rows} - set(roster)):
                print(f"seqlab grade: warning: {student!r} handed in work but is not on the roster",
                      file=sys.stderr)
        header = []
        if args.no_sandbox:
            rows = [Row(r.student, r.exercise, r.question, r.points, r.max_points, f"{r.reason} ({NO_SANDBOX})")
                    for r in rows]
            header.append(f"**Note:** {NO_SANDBOX}.\n")
        if not complete:
            header.append("**Incomplete:** the grading was interrupted; questions marked "
                          f"\"{INTERRUPTED}\" were not graded.\n")
        out = Path(args.out)
        totals_path = write_csv(rows, out)
        written = write_feedback(rows, tasks, Path(args.feedback_dir), header)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    state = "graded" if complete else "INCOMPLETE (interrupted):"
    print(f"{state} {len(tasks)} notebook(s) of {len(written)} student(s): {out}, {totals_path}, "
          f"{args.feedback_dir}/<student>.md")
    for student, exercise, points, max_points in totals(rows):
        if exercise == ALL_EXERCISES:
            print(f"  {student}: {number(points)} / {number(max_points)}")
    return 0 if complete else 130


def add_missing(rows: list[Row], roster: list[str], exercises: dict[str, Exercise], needed: list[str]) -> list[Row]:
    """Rows with 0 points and reason "missing" for each roster student without a submission of an
    exercise someone in this run handed in; rows sorted by student, exercise."""
    have = {(r.student, r.exercise) for r in rows}
    extra = [Row(student, name, gid, 0, points, "missing")
             for student in roster for name in needed if (student, name) not in have
             for gid, points in exercises[name].questions]
    order = {name: i for i, name in enumerate(sorted(exercises))}
    keyed = [(r.student, order.get(r.exercise, len(order)), n, r) for n, r in enumerate(rows + extra)]
    return [r for *_, r in sorted(keyed, key=lambda k: k[:3])]

"""nbgrader-style markers inside one cell's source: find them, check them, strip them.

Conventions mirrored from nbgrader (https://nbgrader.readthedocs.io/en/stable/user_guide/creating_and_grading_assignments.html):

- a *solution cell* (``metadata.nbgrader.solution = true``) holds code between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``; the exercise gets a stub instead;
- a *test cell* (``metadata.nbgrader.grade = true``, ``solution = false``) may hold tests between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``; the exercise does not show them,
  the grader runs them.

A marker is a line whose stripped text is exactly one of the four markers above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

# marker line -> (region kind, True for BEGIN)
MARKERS = {
    BEGIN_SOLUTION: ("solution", True),
    END_SOLUTION: ("solution", False),
    BEGIN_HIDDEN: ("hidden tests", True),
    END_HIDDEN: ("hidden tests", False),
}
# a line that looks like a marker but is spelled differently (e.g. "## BEGIN SOLUTION")
NEAR_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN\s+TESTS)\b", re.IGNORECASE)

STUB_LINES = ("# YOUR CODE HERE", 'raise NotImplementedError("not implemented")')


class MarkerError(ValueError):
    """A solution notebook whose markers or nbgrader metadata are malformed."""


@dataclass(frozen=True)
class Region:
    """Lines ``begin``..``end`` (0-based, both marker lines included) of one region."""

    kind: str  # "solution" or "hidden tests"
    begin: int
    end: int
    indent: str  # the BEGIN line's leading whitespace, reused by the stub


def find_regions(source: str) -> list[Region]:
    """Return the marked regions of ``source`` in order.

    Raises ``ValueError`` (plain; the caller adds notebook and cell) for an unclosed region,
    a region nested in another, an END without its BEGIN, or a misspelled marker.
    """
    regions: list[Region] = []
    open_kind, open_line, open_indent = None, -1, ""
    for number, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if stripped not in MARKERS:
            if NEAR_MARKER.match(line):
                raise ValueError(
                    f"line {number + 1} {stripped!r} looks like a marker but is not one; "
                    f"write exactly one of {', '.join(repr(m) for m in MARKERS)}"
                )
            continue
        kind, is_begin = MARKERS[stripped]
        if is_begin:
            if open_kind is not None:
                raise ValueError(
                    f"line {number + 1} {stripped!r} is nested inside the {open_kind} region opened "
                    f"on line {open_line + 1}; close that region first (regions cannot nest)"
                )
            open_kind, open_line = kind, number
            open_indent = line[: len(line) - len(line.lstrip())]
        else:
            if open_kind is None:
                raise ValueError(
                    f"line {number + 1} {stripped!r} has no matching BEGIN before it; "
                    f"add the BEGIN marker or remove this line"
                )
            if open_kind != kind:
                raise ValueError(
                    f"line {number + 1} {stripped!r} closes a {kind} region, but the open region "
                    f"(line {open_line + 1}) is {open_kind}"
                )
            regions.append(Region(kind, open_line, number, open_indent))
            open_kind = None
    if open_kind is not None:
        closing = END_SOLUTION if open_kind == "solution" else END_HIDDEN
        raise ValueError(
            f"the {open_kind} region opened on line {open_line + 1} is never closed; "
            f"add {closing!r} after it"
        )
    return regions


def replace_regions(source: str, regions: list[Region]) -> str:
    """Return ``source`` with each solution region replaced by a stub and hidden tests removed."""
    lines = source.splitlines()
    out: list[str] = []
    start = 0
    for region in regions:
        out.extend(lines[start : region.begin])
        if region.kind == "solution":
            out.extend(region.indent + stub for stub in STUB_LINES)
        start = region.end + 1
    out.extend(lines[start:])
    return "\n".join(out).rstrip()

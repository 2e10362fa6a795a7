"""Sphinx extension: the ``learning-goals`` directive lists a notebook's learning goals, read from the
notebook itself (the list under "Learning goals" in its first markdown cell), so the syllabus never
drifts from the lessons.

    ```{learning-goals} lessons/01_gates.ipynb
    ```
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def learning_goals(path: str | Path) -> list[str]:
    """The bullet items under "Learning goals" in the notebook's first markdown cell, as markdown."""
    nb = nbformat.read(str(path), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    lines = first.source.splitlines()
    start = next((i for i, line in enumerate(lines) if "learning goals" in line.lower()), None)
    if start is None:
        raise ValueError(f"{path}: the first markdown cell has no 'Learning goals'")
    goals: list[str] = []
    for line in lines[start + 1:]:
        if line.lstrip().startswith(("- ", "* ")):
            goals.append(line.lstrip()[2:].strip())
        elif goals and line.startswith("  ") and line.strip():  # a wrapped item
            goals[-1] += " " + line.strip()
        elif goals and not line.strip():
            break
        elif goals:
            break
    if not goals:
        raise ValueError(f"{path}: no bullet list under 'Learning goals'")
    return goals


class LearningGoals(SphinxDirective):
    required_arguments = 1

    def run(self):
        relative = self.arguments[0]
        path = Path(self.env.srcdir) / Path(self.env.docname).parent / relative
        self.env.note_dependency(str(path))
        try:
            goals = learning_goals(path)
        except (OSError, ValueError, StopIteration) as error:
            raise self.error(f"learning-goals: {error}") from error
        content = StringList([f"- {goal}" for goal in goals], source=str(path))
        container = nodes.container(classes=["seqlab-learning-goals"])
        self.state.nested_parse(content, self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("learning-goals", LearningGoals)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

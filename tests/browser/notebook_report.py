"""What the browser suite found in one notebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class NotebookReport:
    """What happened to one notebook; ``problems()`` is empty when it passed."""

    path: str
    cell_errors: list[str] = field(default_factory=list)
    unexecuted_cells: list[int] = field(default_factory=list)
    widget_problems: list[str] = field(default_factory=list)
    moves: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth reading, not failures
    seconds: dict[str, float] = field(default_factory=dict)
    ui_count: int = 0

    def problems(self) -> list[str]:
        found = list(self.cell_errors)
        if self.unexecuted_cells:
            found.append(f"code cells without an execution count after Run All: "
                         f"{self.unexecuted_cells} (cell numbers count from 1, markdown included)")
        return found + self.widget_problems

    def summary(self) -> str:
        lines = [f"{self.path}: {len(self.problems())} problem(s), {self.ui_count} seqlab-ui, "
                 f"{len(self.moves)} widget moves checked; "
                 + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())]
        lines += [f"  PROBLEM: {p}" for p in self.problems()]
        lines += [f"  NOTE: {n}" for n in self.notes]
        lines += [f"  ok: {m}" for m in self.moves]
        lines += [f"  screenshot: {s}" for s in self.screenshots]
        return "\n".join(lines)


REPORTS: list[NotebookReport] = []  # every report of this test session, for the summary

"""Run one notebook in a fresh kernel, cell by cell, and collect what its graded cells reported.

This runs wherever the kernel runs: inside a submission's sandbox (``runner.py``), or directly for
the exercise self-test. For every graded cell it returns the first error (one line) and the check
records the cell published (``checks.MIMETYPE`` display outputs); everything else a cell prints is
counted and dropped. Robust to a cell that raises (the next cells still run), a notebook that never
finishes (one time budget for all cells), and a kernel that dies; ``exit()`` / ``quit()`` end the
run as in JupyterLab.

Nothing here decides a grade: the records are only what the kernel claims, and the grader
validates and compares them in its own process (``values``, ``grade``).
"""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass, field
from time import monotonic

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from seqlab.grading.checks import MIMETYPE

PASSED = "passed"
MAX_REASON = 200  # characters of an error kept in a reason (one CSV cell)
MAX_RECORDS = 1000  # check records kept per cell
MAX_RECORD_BYTES = 8 << 20  # bytes of check records kept per notebook


@dataclass
class CellResult:
    error: str | None = None  # "Name: message" of the cell's first error, or why it did not run
    records: list = field(default_factory=list)  # check records, as published

    @property
    def passed(self) -> bool:  # ran without an error (the exercise self-test uses this)
        return self.error is None

    @property
    def reason(self) -> str:
        return self.error or PASSED


class CollectingClient(NotebookClient):
    """A NotebookClient that keeps errors and check records only, and counts the rest."""

    max_output = 1 << 20

    def output(self, outs, msg, display_id, cell_index):  # noqa: D401 (nbclient's signature)
        content = msg.get("content", {})
        kind = msg.get("msg_type")
        if kind == "error":
            self.errors.setdefault(cell_index, one_line(content.get("ename"), content.get("evalue")))
        elif kind in ("display_data", "execute_result") and MIMETYPE in content.get("data", {}):
            record = content["data"][MIMETYPE]
            size = len(str(record))
            records = self.records.setdefault(cell_index, [])
            if len(records) < MAX_RECORDS and self.record_bytes + size <= MAX_RECORD_BYTES:
                records.append(record)
                self.record_bytes += size
        else:
            self.output_bytes += len(str(content))
        return None


def one_line(name, message) -> str:
    name, message = str(name or "Error"), " ".join(str(message or "").split())
    reason = f"{name}: {message}" if message else name
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."


def run_notebook(
    nb: NotebookNode,
    graded: dict[int, str],
    timeout: float,
    cwd: str,
    env: dict[str, str] | None = None,
    on_result=None,
) -> tuple[dict[str, CellResult], str | None, int]:
    """Execute ``nb`` top to bottom in a fresh kernel started in ``cwd``.

    Args:
        graded: ``{cell index: key}`` of the cells whose results are wanted.
        timeout: seconds for all cells together (kernel start-up not counted).
        on_result: called as ``on_result(key, CellResult)`` as soon as a graded cell has run.
    Returns:
        ``({key: CellResult}, why the run stopped early or None, bytes of other output dropped)``;
        graded cells that did not run have that reason as their error.
    """
    results: dict[str, CellResult] = {}
    stopped: str | None = None
    client = CollectingClient(nb, kernel_name="python3", allow_errors=True, record_timing=False,
                              startup_timeout=120, resources={"metadata": {"path": cwd}})
    client.errors, client.records, client.record_bytes, client.output_bytes = {}, {}, 0, 0
    asked_exit = []

    def on_cell_executed(cell, cell_index, execute_reply):
        reply = (execute_reply or {}).get("content", {})
        if any(p.get("source") == "ask_exit" and not p.get("keepkernel") for p in reply.get("payload", [])):
            asked_exit.append(cell_index)

    client.on_cell_executed = on_cell_executed
    try:
        # the kernel's own stdout/stderr (start-up warnings, fd-level prints) are not wanted
        with client.setup_kernel(env=dict(os.environ if env is None else env),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            deadline = monotonic() + timeout
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                remaining = deadline - monotonic()
                if remaining <= 0:
                    stopped = f"timed out after {timeout:g} s"
                    break
                client.timeout = max(1, math.ceil(remaining))
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    stopped = f"timed out after {timeout:g} s"
                except DeadKernelError:
                    stopped = "kernel died"
                if index in graded:
                    error = client.errors.get(index)
                    if error and error.startswith("NameError"):  # say why the name is missing
                        error = earlier_error(client.errors, graded, index) or error
                    result = CellResult(error or stopped, client.records.get(index, []))
                    results[graded[index]] = result
                    if on_result:
                        on_result(graded[index], result)
                if stopped:
                    break
                if asked_exit:
                    stopped = "kernel died: the notebook called exit()"
                    break
    except Exception as error:  # kernel failed to start or to shut down: report, never crash
        if stopped is None and len(results) < len(graded):
            stopped = one_line("grader error: " + type(error).__name__, error)
    for key in graded.values():
        if key not in results:
            results[key] = CellResult(stopped or "not run")
            if on_result:
                on_result(key, results[key])
    return results, stopped, client.output_bytes


def earlier_error(errors: dict[int, str], graded: dict[int, str], index: int) -> str | None:
    """The error of the last ungraded cell between the previous graded cell and ``index``, as the
    reason a graded cell then failed with a NameError (say, an answer cell whose import failed)."""
    for before in range(index - 1, -1, -1):
        if before in graded:
            return None
        if before in errors and not errors[before].startswith("NameError"):
            return one_line("an earlier cell failed", errors[before])
    return None


def run_cells(nb: NotebookNode, graded: dict[int, str], timeout: float, cwd: str) -> dict[str, CellResult]:
    """``run_notebook`` without the extras: ``{key: CellResult}``."""
    return run_notebook(nb, graded, timeout, cwd)[0]

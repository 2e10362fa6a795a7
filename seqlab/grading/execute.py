"""Run one notebook in a fresh kernel, cell by cell, and report which graded cells ran clean.

Robust to what students hand in: a cell that raises (the next cells still run, as with
``allow_errors``), a notebook that never finishes (one time budget for the whole notebook; the
kernel is killed when it runs out), megabytes of prints (only error outputs are kept, truncated),
and a kernel that dies (``os._exit``, a segfault). ``exit()`` / ``quit()`` only *ask* the front
end to shut the kernel down (an ``ask_exit`` payload); the grader honours that as JupyterLab does,
so the cells after it do not run.
"""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass
from time import monotonic

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

PASSED = "passed"
MAX_REASON = 200  # characters of an error kept in a reason (one CSV cell)
MAX_TRACEBACK_LINES = 20


class ErrorsOnlyClient(NotebookClient):
    """A NotebookClient that stores only error outputs.

    Grading needs nothing else, and a student cell printing megabytes then costs no memory:
    each stream message is dropped as it arrives.
    """

    def output(self, outs, msg, display_id, cell_index):  # noqa: D401 (nbclient's signature)
        if msg["msg_type"] != "error":
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None:
            out["evalue"] = str(out.get("evalue", ""))[: 10 * MAX_REASON]
            out["traceback"] = [line[:2000] for line in out.get("traceback", [])[-MAX_TRACEBACK_LINES:]]
        return out


@dataclass(frozen=True)
class CellResult:
    passed: bool
    reason: str  # "passed", or one line: "AssertionError: ...", "timed out after 60 s", "kernel died"


def error_reason(cell: NotebookNode) -> str | None:
    """``"Name: message"`` (one line, at most MAX_REASON chars) of the cell's first error, or None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            evalue = " ".join(str(out.get("evalue", "")).split())
            reason = f"{out.get('ename', 'Error')}: {evalue}" if evalue else str(out.get("ename", "Error"))
            return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."
    return None


def kernel_env() -> dict[str, str]:
    """The grader's environment with one thread per kernel (kernels run side by side) and a
    non-interactive matplotlib backend, unless the caller set those already."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_cells(
    nb: NotebookNode,
    graded: dict[int, str],
    timeout: float,
    cwd: str,
    kernel_name: str = "python3",
) -> dict[str, CellResult]:
    """Execute ``nb`` top to bottom in a fresh kernel started in ``cwd``.

    Args:
        nb: the notebook; its cells get error outputs only (it is the caller's copy).
        graded: ``{cell index: grade_id}`` of the cells whose outcome is wanted.
        timeout: seconds for all cells together (kernel start-up not counted).
    Returns:
        ``{grade_id: CellResult}`` for every graded cell: passed when it ran without an error;
        cells after a time-out or a dead kernel fail with that reason.
    """
    results: dict[str, CellResult] = {}
    stopped: str | None = None
    client = ErrorsOnlyClient(
        nb,
        kernel_name=kernel_name,
        allow_errors=True,
        record_timing=False,
        startup_timeout=120,
        resources={"metadata": {"path": cwd}},
    )
    asked_exit = []

    def on_cell_executed(cell, cell_index, execute_reply):
        payloads = (execute_reply or {}).get("content", {}).get("payload", [])
        if any(p.get("source") == "ask_exit" and not p.get("keepkernel") for p in payloads):
            asked_exit.append(cell_index)

    client.on_cell_executed = on_cell_executed
    try:
        # the kernel's own stdout/stderr (start-up warnings, fd-level prints) would flood the console
        with client.setup_kernel(env=kernel_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
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
                    break
                except DeadKernelError:
                    stopped = "kernel died"
                    break
                if index in graded:
                    reason = error_reason(cell)
                    results[graded[index]] = CellResult(reason is None, reason or PASSED)
                if asked_exit:
                    stopped = "kernel died: the notebook called exit()"
                    break
    except Exception as error:  # kernel failed to start or to shut down: report, never crash the class
        if stopped is None and len(results) < len(graded):
            stopped = f"grader error: {type(error).__name__}: {error}"[:MAX_REASON]
    for gid in graded.values():
        results.setdefault(gid, CellResult(False, stopped or "not run"))
    return results

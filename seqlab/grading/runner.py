"""Inside a submission's sandbox: set the limits, run the notebook, stream results to stdout.

``python -m seqlab.grading.runner < job.json``, where the job is
``{"notebook": {...}, "graded": {"<cell index>": "<key>"}, "timeout": s, "limits": {...}}``.
Each graded cell's result is printed as one JSON line as soon as it is known, so a run killed from
outside (wall time) still reports the cells before; the last line is ``{"done": ...}``.

The student's code shares this sandbox, so everything printed here is untrusted: the grader parses
it strictly and only ever compares the values with the solution's (``grade``, ``values``).
"""

from __future__ import annotations

import json
import os
import resource
import sys

import nbformat

from seqlab.grading.execute import run_notebook

LIMITS = {  # job key -> rlimit
    "memory": resource.RLIMIT_AS,
    "processes": resource.RLIMIT_NPROC,
    "cpu": resource.RLIMIT_CPU,
    "file_size": resource.RLIMIT_FSIZE,
}


def set_limits(limits: dict[str, int]) -> None:
    """Switch to the sandbox's own uid when given one (the grader runs as root), then set soft and
    hard limits alike, so code in the sandbox cannot raise them again; no core dumps."""
    uid = limits.get("uid")
    if uid:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)  # drops every capability for good
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, rlimit in LIMITS.items():
        if limits.get(key):
            resource.setrlimit(rlimit, (int(limits[key]), int(limits[key])))


def main() -> int:
    job = json.loads(sys.stdin.read())
    set_limits(job.get("limits", {}))
    os.chdir(os.environ.get("HOME", "."))  # the private folder holding the notebook
    os.makedirs(os.environ.get("TMPDIR", ".tmp"), exist_ok=True)
    if job["notebook"].get("probe"):  # the grader checking that sandboxes work here
        print(json.dumps({"probe": "ok"}), flush=True)
        return 0
    out = sys.stdout

    def emit(payload: dict) -> None:
        out.write(json.dumps(payload) + "\n")
        out.flush()

    nb = nbformat.from_dict(job["notebook"])
    graded = {int(index): key for index, key in job["graded"].items()}
    _, stopped, output_bytes = run_notebook(
        nb, graded, float(job["timeout"]), os.getcwd(),
        on_result=lambda key, r: emit({"result": key, "error": r.error, "records": r.records}),
    )
    emit({"done": True, "stopped": stopped, "output_bytes": output_bytes})
    return 0


if __name__ == "__main__":
    sys.exit(main())

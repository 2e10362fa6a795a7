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


# An IPython start-up file for a submission's kernel: importing seqlab beyond ``check`` fails with a
# message saying why. The sandbox holds only those files anyway (``sandbox.GRADED_RUN_FILES``); this
# turns a bare ModuleNotFoundError into feedback, and covers --no-sandbox runs of honest notebooks.
IMPORT_GUARD = """\
import sys as _sys


class _GradedRunImports:
    allowed = {"seqlab", "seqlab.grading", "seqlab.grading.checks", "seqlab.grading.values"}

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "seqlab" and name not in self.allowed:
            raise ImportError(f"{name} cannot be imported in a graded run: an answer computes its result "
                              "itself; only seqlab.grading.checks is available")
        return None


_sys.meta_path.insert(0, _GradedRunImports())
del _sys, _GradedRunImports
"""


def write_import_guard(ipython_dir: str) -> None:
    startup = os.path.join(ipython_dir, "profile_default", "startup")
    os.makedirs(startup, exist_ok=True)
    with open(os.path.join(startup, "00-graded-run.py"), "w", encoding="utf-8") as f:
        f.write(IMPORT_GUARD)


def main() -> int:
    job = json.loads(sys.stdin.read())
    set_limits(job.get("limits", {}))
    os.chdir(os.environ.get("HOME", "."))  # the private folder holding the notebook
    os.makedirs(os.environ.get("TMPDIR", ".tmp"), exist_ok=True)
    if job["notebook"].get("probe"):  # the grader checking that sandboxes work here
        print(json.dumps({"probe": "ok"}), flush=True)
        return 0
    if not job.get("whole_seqlab", False):
        write_import_guard(os.environ.get("IPYTHONDIR") or os.path.join(os.getcwd(), ".ipython"))
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

"""Session set-up shared by the unit tests (tests/) and the nbval runs (notebooks/, solutions/).

The product downloads the sunspot series from SILSO; tests and CI have no network, so they
point SEQLAB_SUNSPOTS at the course's copy in ../shared/data when it is there. Kernels that
nbval starts inherit this environment.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SHARED_SUNSPOTS = ROOT.parent / "shared" / "data" / "sunspots_monthly.csv"

if "SEQLAB_SUNSPOTS" not in os.environ and SHARED_SUNSPOTS.is_file():
    os.environ["SEQLAB_SUNSPOTS"] = str(SHARED_SUNSPOTS)
os.environ.setdefault("MPLBACKEND", "Agg")
# One thread, as seqlab.train does by default: these models are small, and on a shared 2-core machine
# two OpenMP threads were measured 10-35x slower (benchmarks/README.md); on a quiet one, the same.
os.environ.setdefault("OMP_NUM_THREADS", "1")


# `make test` runs the suite in 2 pytest-xdist workers. What must stay together goes to one worker as a
# unit: a notebook's cells (nbval runs them in order in one kernel), a test file, every test that starts
# JupyterLab and Chromium, and every test that grades in sandboxes (as root, concurrent sandboxes take
# uids by slot, so two graders at once would share them).
SANDBOX_TESTS = {"test_grading.py", "test_grading_units.py", "test_grading_nbgrader.py"}


def work_unit(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    if path.startswith("tests/browser/"):
        return "browser"
    if Path(path).name in SANDBOX_TESTS:
        return "sandbox"
    return path


def pytest_collection_modifyitems(items):
    # the two longest units first (a stable sort: a notebook's cells keep their order), so that the
    # workers start on them together and share out the rest
    first = {"browser": 0, "sandbox": 1}
    items.sort(key=lambda item: first.get(work_unit(item.nodeid), 2))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnits(LoadScopeScheduling):
        def __init__(self, config, log=None):
            super().__init__(config, log)
            config.option.loadscopereorder = False  # keep the order above, not "most tests first"

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnits(config, log)

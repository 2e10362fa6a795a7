"""Session set-up shared by the unit tests (tests/) and the nbval runs (notebooks/, solutions/).

The product downloads the sunspot series from SILSO; tests and CI have no network, so they
point SEQLAB_SUNSPOTS at the course's copy in ../shared/data when it is there. Kernels that
nbval starts inherit this environment.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SHARED_SUNSPOTS = ROOT.parent / "shared" / "data" / "sunspots_monthly.csv"

if "SEQLAB_SUNSPOTS" not in os.environ and SHARED_SUNSPOTS.is_file():
    os.environ["SEQLAB_SUNSPOTS"] = str(SHARED_SUNSPOTS)
os.environ.setdefault("MPLBACKEND", "Agg")
# One thread, as seqlab.train does by default: these models are small, and on a shared 2-core machine
# two OpenMP threads were measured 10-35x slower (benchmarks/README.md); on a quiet one, the same.
os.environ.setdefault("OMP_NUM_THREADS", "1")

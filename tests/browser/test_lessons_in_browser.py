"""Every lesson and solution notebook, as a student meets it: in JupyterLab, in Chromium.

nbval executes notebooks but never renders them. Here each notebook is opened in JupyterLab,
its outputs cleared, Run All clicked from the Run menu; the saved notebook must have no error
output and an execution count on every code cell. Then every control of every ``.seqlab-ui``
is moved twice and the UI's output must change each time, without a traceback.
Notebooks are found when the tests are collected, so new lessons are covered as they land.
Screenshots go to the test's tmp dir; their paths are in the failure message.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab_page import check_notebook

REPO = Path(__file__).resolve().parent.parent.parent
PATTERNS = os.environ.get("SEQLAB_BROWSER_NOTEBOOKS", "notebooks/*.ipynb solutions/*.ipynb").split()
NOTEBOOKS = sorted({str(path.relative_to(REPO)) for pattern in PATTERNS for path in REPO.glob(pattern)
                    if path.parent.name in ("notebooks", "solutions")})  # the folders served

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_runs_and_every_widget_responds(path, lab_page, lab_server, screenshot_dir):
    report = check_notebook(lab_page, lab_server, path, screenshot_dir)
    print(report.summary())
    assert not report.problems(), report.summary()

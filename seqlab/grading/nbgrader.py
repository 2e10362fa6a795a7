"""For nbgrader users: partial credit per check in ``nbgrader autograde``, as ``seqlab grade`` gives it.

Under nbgrader's autograde, ``check`` publishes whether each property held instead of raising
(``checks.NBGRADER_MIMETYPE``). ``PartialCredit``, placed after nbgrader's ``Execute`` (see
docs/nbgrader_config.py), turns those into the score nbgrader reads: a test cell whose properties did
not all hold gets an ``execute_result`` of ``points * passed / properties`` (rounded to 2 decimals),
which nbgrader's ``determine_grade`` takes as partial credit. A cell that raised keeps its error
(nbgrader: 0 points).
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool

from seqlab.grading.cells import is_test_cell, nbgrader
from seqlab.grading.checks import NBGRADER_MIMETYPE


class PartialCredit(Preprocessor):
    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if not is_test_cell(cell):
            return cell, resources
        outputs = cell.get("outputs", [])
        records = [out["data"][NBGRADER_MIMETYPE] for out in outputs
                   if out.get("output_type") == "display_data" and NBGRADER_MIMETYPE in out.get("data", {})]
        passed: dict[str, bool] = {}
        for record in records:
            prop = str(record.get("property"))
            passed[prop] = passed.get(prop, True) and record.get("passed") is True
        if not passed or all(passed.values()) or any(o.get("output_type") == "error" for o in outputs):
            return cell, resources
        points = float(nbgrader(cell)["points"])
        score = round(points * sum(passed.values()) / len(passed), 2)
        cell.outputs = [new_output("execute_result", data={"text/plain": f"{score:g}"}, execution_count=1),
                        *outputs]
        return cell, resources

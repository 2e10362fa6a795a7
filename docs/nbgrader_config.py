# Add these lines to your course's nbgrader_config.py (nbgrader 0.9.6) to use seqlab's solutions with
# nbgrader: `nbgrader generate_assignment` then releases exactly the notebooks in exercises/, and
# `nbgrader autograde` agrees with `python -m seqlab grade`. See docs/nbgrader.md.
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from seqlab.grading.nbgrader import PartialCredit

c = get_config()  # noqa: F821 (nbgrader's config loader defines it)

# the stub that replaces each solution region, as in exercises/
c.ClearSolutions.code_stub = {"python": '# YOUR CODE HERE\nraise NotImplementedError("not implemented")'}
# a test cell a student deleted is put back and graded, as seqlab grade does (default: 0, manual grading)
c.OverwriteCells.add_missing_cells = True
# partial credit per check, as seqlab grade gives it (after Execute, before the scores are saved)
c.Autograde.autograde_preprocessors = [
    Execute, PartialCredit, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]

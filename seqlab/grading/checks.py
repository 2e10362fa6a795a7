"""``check``: one named property of a student's answer, as test cells state it.

A test cell computes inputs, calls the student's function and hands the result to ``check``::

    got = gru_cell(x, h, ...)
    check("h_next matches torch.nn.GRUCell", got, lambda: reference(x, h), atol=1e-5)

What ``check`` does depends on who runs the cell:

- a student in JupyterLab (no grader): computes ``expected`` (a value, or a function called now)
  and raises ``AssertionError("<property>: max abs difference 0.726")`` when they differ, so visible
  tests read and run like ordinary asserts;
- the grader, on a submission (``SEQLAB_CHECK_MODE=record``): converts ``got`` to plain data
  (``values``) and publishes it as a display output; ``expected`` is never computed, and nothing is
  decided in the kernel: the grader compares in its own process with the solution's value;
- the grader, on the solution (``SEQLAB_CHECK_MODE=reference``): publishes ``got``, the tolerances,
  the line and ``expected`` too, which the grader requires to match (a broken solution stops the run);
- nbgrader's autograde (``NBGRADER_EXECUTION=autograde``, set by nbgrader): compares here, publishes
  whether the property held and never raises, so ``nbgrader.PartialCredit`` can give partial credit
  as ``seqlab grade`` does (nbgrader's verdicts are computed in the student's kernel, as always).

``got`` may be a tensor, a numpy array or scalar, a Python number, bool, string or None, or a
list / tuple of those. Hidden checks may omit ``expected``: the solution's output is the reference.
"""

from __future__ import annotations

import base64
import os
import sys

from seqlab.grading import values

MIMETYPE = "application/vnd.seqlab.check+json"
MODE_VARIABLE = "SEQLAB_CHECK_MODE"
NBGRADER_MIMETYPE = "application/vnd.seqlab.nbgrader-check+json"

__all__ = ["check", "encode"]


def check(property: str, got, expected=None, *, atol: float = 0.0, rtol: float = 0.0) -> None:
    """State that ``got`` matches ``expected`` within ``atol + rtol * |expected|`` (see module doc).

    Args:
        property: what is checked, in words a student learns from; feedback names it when it fails.
        got: the value computed by the student's code.
        expected: the reference value, or a function of no arguments returning it (computed only
            when needed), or None (hidden checks: the solution's own output is the reference).
    """
    mode = os.environ.get(MODE_VARIABLE)
    if mode in ("record", "reference"):
        record = {"property": str(property), "value": encode(got), "atol": float(atol), "rtol": float(rtol)}
        if mode == "reference":
            frame = sys._getframe(1)
            record["line"] = frame.f_lineno
            if expected is not None:
                record["expected"] = encode(expected() if callable(expected) else expected)
        from IPython.display import publish_display_data

        publish_display_data({MIMETYPE: record})
        return
    if expected is None:
        return
    want = values.decode(encode(expected() if callable(expected) else expected))
    problem = values.compare(want, values.decode(encode(got)), atol=atol, rtol=rtol)
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        from IPython.display import publish_display_data

        publish_display_data({NBGRADER_MIMETYPE: {"property": str(property), "passed": problem is None}})
    elif problem:
        raise AssertionError(f"{property}: {problem}")


def encode(value, depth: int = 0) -> dict:
    """``value`` as plain JSON-able data (see ``values``); raises TypeError for anything else."""
    if depth > values.MAX_DEPTH:
        raise TypeError("check: value nested too deeply")
    if value is None:
        return {"type": "none", "value": None}
    if isinstance(value, bool):
        return {"type": "bool", "value": bool(value)}
    if isinstance(value, int):
        return {"type": "int", "value": int(value)}
    if isinstance(value, float):
        return {"type": "float", "value": float(value)}
    if isinstance(value, str):
        return {"type": "str", "value": str(value)[: values.MAX_STRING]}
    if isinstance(value, (list, tuple)):
        return {"type": "list" if isinstance(value, list) else "tuple",
                "items": [encode(item, depth + 1) for item in value]}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return array("tensor", value.detach().cpu().resolve_conj().resolve_neg().numpy())
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        return array("ndarray", numpy.asarray(value))
    raise TypeError(f"check: cannot send a {type(value).__name__}; use tensors, arrays, numbers or strings")


def array(type_: str, a) -> dict:
    import numpy as np

    a = np.asarray(a)
    if a.dtype.kind == "c":
        kind, flat = "complex", a.astype("<c16")
    else:
        kind = {"f": "float", "b": "bool"}.get(a.dtype.kind, "int" if a.dtype.kind in "iu" else None)
        if kind is None:
            raise TypeError(f"check: cannot send an array of dtype {a.dtype}")
        flat = a.astype("<f8")
    data = base64.b64encode(np.ascontiguousarray(flat).tobytes()).decode("ascii")
    return {"type": type_, "kind": kind, "shape": [int(n) for n in a.shape], "data": data}

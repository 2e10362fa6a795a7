"""The one way the lessons' UIs show a figure: ``show_in_output``."""

from __future__ import annotations

import base64
import io

import ipywidgets as W
import matplotlib.pyplot as plt

__all__ = ["show_in_output"]


def show_in_output(out: W.Output, fig: plt.Figure | None, text: str = "") -> None:
    """Replace what ``out`` shows with the figure (PNG) and a text block; closes the figure.

    Sets ``out.outputs`` directly instead of ``with out: display(...)``, which captures only
    inside a kernel: this way the same callback also works (and is testable) in plain Python.
    """
    outputs = []
    if fig is not None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        plt.close(fig)
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        outputs.append({"output_type": "display_data", "metadata": {},
                        "data": {"image/png": png, "text/plain": "<Figure>"}})
    if text:
        outputs.append({"output_type": "stream", "name": "stdout", "text": text + "\n"})
    out.outputs = tuple(outputs)

"""Lesson 06 UI: pick a sequence length, see each model's measured time and memory there.

The numbers come from one ``seqlab.cost.sweep`` run (measured once, in the lesson), so moving
the slider re-reads measurements; it does not re-time anything.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import matplotlib.pyplot as plt

from seqlab.cost import crossovers
from seqlab.plots.attention import plot_cost_vs_length

__all__ = ["cost_explorer", "cost_summary"]


def cost_summary(result, length: int) -> str:
    """Text for one length: ms and MiB per contender, which beat softmax there, and the crossovers."""
    i = result.lengths.index(length)
    soft_t, soft_m = result.seconds["softmax"][i], result.memory["softmax"][i]
    lines = [f"L = {length}:"]
    for name in result.seconds:
        t, m = result.seconds[name][i], result.memory[name][i]
        if math.isnan(t):
            lines.append(f"  {name:17s} skipped (too slow at this length)")
            continue
        note = ""
        if name != "softmax" and not math.isnan(soft_t):
            note = f"  time {t / soft_t:5.2f}x softmax, memory {m / max(soft_m, 1):5.2f}x"
        lines.append(f"  {name:17s} {t * 1e3:9.2f} ms {m / 2**20:9.2f} MiB{note}")
    others = {n: result.seconds[n] for n in result.seconds if n != "softmax"}
    cross = crossovers(result.lengths, result.seconds["softmax"], others)
    text = ", ".join(f"{n} {'> ' + str(result.lengths[-1]) if v is None else f'~{v:.0f}'}" for n, v in cross.items())
    lines.append(f"softmax stops being the faster one at L: {text}")
    return "\n".join(lines)


def cost_explorer(result, length: int | None = None):
    """A length slider over ``result.lengths``; draws the log-log figure with the length marked. Returns the box."""
    slider = widgets.SelectionSlider(options=list(result.lengths), value=length or result.lengths[len(result.lengths) // 2],
                                     description="L", continuous_update=False)
    out = widgets.Output()

    def draw(*_):
        out.clear_output(wait=True)
        with out:
            fig = plot_cost_vs_length(result, slider.value)
            plt.show()
            plt.close(fig)
            print(cost_summary(result, slider.value))

    slider.observe(draw, names="value")
    box = widgets.VBox([slider, out])
    box.add_class("seqlab-ui")
    draw()
    return box

"""Lesson 05 UI: move Δ and A, watch one state channel's memory (impulse response) change."""

from __future__ import annotations

import math

import ipywidgets as widgets

from ..plots.ssm import memory_half_life, plot_impulse_response
from .display import show_in_output

__all__ = ["memory_summary", "ssm_memory_explorer"]


def memory_summary(delta: float, A: float) -> str:
    """One line on what (Δ, A) keep and let in; the text the UI shows under its plot."""
    kept = math.exp(delta * A)
    return (f"Δ = {delta:.3g}, A = {A:.3g}: the state keeps {kept:.1%} of itself per step "
            f"(half-life {memory_half_life(delta, A):.1f} steps) and takes in the input with weight ΔB = {delta:.3g}.")


def ssm_memory_explorer(delta: float = 0.1, A: float = -1.0, length: int = 48):
    """Sliders for Δ (log scale) and A, live plot of the impulse response. Returns the container."""
    delta_slider = widgets.FloatLogSlider(value=delta, base=10, min=-3, max=1, step=0.05, description="Δ",
                                          continuous_update=False, readout_format=".3g")
    A_slider = widgets.FloatSlider(value=A, min=-16.0, max=-0.1, step=0.1, description="A",
                                   continuous_update=False)
    out = widgets.Output()

    def draw(*_):
        fig = plot_impulse_response(delta_slider.value, A_slider.value, length)
        show_in_output(out, fig, memory_summary(delta_slider.value, A_slider.value))

    delta_slider.observe(draw, names="value")
    A_slider.observe(draw, names="value")
    box = widgets.VBox([widgets.HBox([delta_slider, A_slider]), out])
    box.add_class("seqlab-ui")
    box.controls, box.output = {"delta": delta_slider, "A": A_slider}, out  # handles for tests
    draw()
    return box

"""Lesson 02 widget: ||dh_T/dh_{T-k}|| against the lag for RNN, GRU and LSTM, with the knobs that
move it: sequence length, spectral radius of each (H, H) block of W_hh, the RNN's nonlinearity
and the GRU update-gate / LSTM forget-gate bias. Measured by seqlab.gradflow.jacobian_norms.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from ..gradflow import jacobian_norms, memory_horizon
from ..plots.gradients import plot_jacobian_norms
from .display import show_in_output

__all__ = ["gradient_flow_curves", "gradient_flow_summary", "gradient_flow_ui"]


def gradient_flow_curves(
    seq_len: int = 100,
    spectral_radius: float = 1.0,
    nonlinearity: str = "tanh",
    gate_bias: float = 0.0,
    *,
    hidden_size: int = 32,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Norms against the lag, (seq_len + 1,) each, keyed by a label that names the settings."""
    common = dict(seq_len=seq_len, hidden_size=hidden_size, spectral_radius=spectral_radius, seed=seed)
    return {
        f"RNN ({nonlinearity})": jacobian_norms("rnn", nonlinearity=nonlinearity, **common),
        f"GRU (z bias {gate_bias:+g})": jacobian_norms("gru", gate_bias=gate_bias, **common),
        f"LSTM (f bias {gate_bias:+g}), dh/dh": jacobian_norms("lstm", gate_bias=gate_bias, **common),
    }


def gradient_flow_summary(curves: dict[str, np.ndarray], lags=(10, 50)) -> str:
    """One line per curve: the norm at a few lags and the 1% memory horizon."""
    lines = []
    for label, norms in curves.items():
        at = "  ".join(f"k={k}: {norms[k]:.1e}" for k in lags if k < len(norms))
        lines.append(f"{label:28s} {at}  horizon(1%): {memory_horizon(norms)}")
    return "\n".join(lines)


def gradient_flow_ui(hidden_size: int = 32, seed: int = 0) -> W.VBox:
    """Sliders (sequence length, spectral radius, gate bias) and a nonlinearity dropdown.

    Returns the container (DOM class ``seqlab-ui``); each control redraws when released.
    """
    controls = {
        "seq_len": W.IntSlider(value=100, min=10, max=200, step=10, description="length T",
                               continuous_update=False),
        "spectral_radius": W.FloatSlider(value=1.0, min=0.25, max=2.0, step=0.05, description="radius ρ",
                                         continuous_update=False),
        "nonlinearity": W.Dropdown(options=["tanh", "relu", "linear"], value="tanh", description="RNN σ"),
        "gate_bias": W.FloatSlider(value=0.0, min=-2.0, max=6.0, step=0.5, description="z / f bias",
                                   continuous_update=False),
    }
    out = W.Output()

    def redraw(_=None):
        values = {k: c.value for k, c in controls.items()}
        curves = gradient_flow_curves(**values, hidden_size=hidden_size, seed=seed)
        fig = plot_jacobian_norms(curves, title=f"ρ(W_hh blocks) = {values['spectral_radius']:.2f}, "
                                                f"H = {hidden_size}")
        show_in_output(out, fig, gradient_flow_summary(curves))

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([controls["seq_len"], controls["spectral_radius"]]),
                  W.HBox([controls["nonlinearity"], controls["gate_bias"]]), out])
    box.add_class("seqlab-ui")
    box.controls, box.output = controls, out  # handles for tests
    return box

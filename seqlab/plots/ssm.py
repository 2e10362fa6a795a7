"""Figures for lesson 05 (Mamba): the memory of one state channel, set by Δ and A.

One channel of the scan with B = C = 1 answers an impulse u = (1, 0, 0, ...) with

    y_t = Δ exp(Δ A)^t                          (x_0 = Δ B u_0, then x_t = exp(Δ A) x_{t-1})

so Ā = exp(Δ A) is the fraction of the state kept per step, and the memory half-life is
ln 2 / (Δ |A|) steps: a large Δ forgets fast (and lets the new input in strongly), a small Δ
keeps the past. The curve is computed by seqlab.mamba.selective_scan_sequential itself.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from seqlab.mamba import selective_scan_sequential

__all__ = ["impulse_response", "memory_half_life", "plot_impulse_response"]


def impulse_response(delta: float, A: float, length: int = 48) -> np.ndarray:
    """y (length,) of one scan channel (B = C = 1, no D, no gate) to an impulse at t = 0.

    ``delta`` > 0 is the step size Δ (no softplus applied), ``A`` < 0 the state's pole.
    """
    if not delta > 0 or not A < 0 or length < 1:
        raise ValueError(f"need delta > 0, A < 0 and length >= 1, got delta={delta}, A={A}, length={length}")
    u = torch.zeros(1, 1, length, dtype=torch.float64)
    u[..., 0] = 1.0  # the impulse
    ones = torch.ones(1, 1, length, dtype=torch.float64)  # (b, n, l) with n = 1
    y = selective_scan_sequential(u, delta * ones, torch.tensor([[A]], dtype=torch.float64), ones, ones)
    return y[0, 0].numpy()


def memory_half_life(delta: float, A: float) -> float:
    """Steps until the state has decayed to half: ln 2 / (Δ |A|)."""
    return math.log(2) / (delta * abs(A))


def plot_impulse_response(delta: float, A: float, length: int = 48, ax=None):
    """Plot the impulse response for (Δ, A) beside two reference Δ's; returns the figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.2))
    else:
        fig = ax.figure
    t = np.arange(length)
    for ref in (0.01, 1.0):  # fixed references so the chosen curve has something to move against
        if not math.isclose(ref, delta):
            y_ref = impulse_response(ref, A, length)
            ax.plot(t, y_ref / y_ref[0], color="0.75", lw=1, label=f"Δ = {ref:g} (reference)")
    y = impulse_response(delta, A, length)
    ax.plot(t, y / y[0], color="C0", lw=2.5, label=f"Δ = {delta:.3g}")
    half = memory_half_life(delta, A)
    if half < length:
        ax.axvline(half, color="C3", ls="--", lw=1, label=f"half-life {half:.1f} steps")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("steps after the impulse t")
    ax.set_ylabel("y_t / y_0")
    ax.set_title(f"Ā = exp(ΔA) = {math.exp(delta * A):.3f} kept per step;  input weight ΔB = {delta:.3g}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig

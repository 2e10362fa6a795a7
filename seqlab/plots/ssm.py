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

from .style import accessible, describe, series_style

__all__ = ["impulse_response", "memory_half_life", "plot_impulse_response", "plot_ssm_kernel", "plot_variant_accuracy"]


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


@accessible
def plot_impulse_response(delta: float, A: float, length: int = 48, ax=None):
    """Plot the impulse response for (Δ, A) beside two reference Δ's; returns the figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.2))
    else:
        fig = ax.figure
    t = np.arange(length)
    for i, ref in ((1, 0.01), (2, 1.0)):  # fixed references so the chosen curve has something to move against
        if not math.isclose(ref, delta):
            y_ref = impulse_response(ref, A, length)
            ax.plot(t, y_ref / y_ref[0], lw=1, label=f"Δ = {ref:g} (reference)", **series_style(i))
    y = impulse_response(delta, A, length)
    ax.plot(t, y / y[0], lw=2.5, label=f"Δ = {delta:.3g}", **series_style(0))
    half = memory_half_life(delta, A)
    if half < length:
        ax.axvline(half, color="black", ls=":", lw=1, marker="", label=f"half-life {half:.1f} steps")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("steps after the impulse t")
    ax.set_ylabel("y_t / y_0")
    ax.set_title(f"Ā = exp(ΔA) = {math.exp(delta * A):.3f} kept per step;  input weight ΔB = {delta:.3g}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return describe(fig, f"Impulse response of one state channel, y_t / y_0 against the step t, for Δ = {delta:.3g} "
                         f"and A = {A:.3g} (thick line) beside two reference step sizes; the state keeps "
                         f"{math.exp(delta * A):.1%} of itself per step, half-life {half:.1f} steps.")


@accessible
def plot_ssm_kernel(K, y_conv, y_rec, *, channels=(0, 1, 2)):
    """Left: the kernel K (d, l) of a time-invariant SSM for a few channels. Right: one channel's
    output by the convolution (line) and by the recurrence (markers), which coincide.

    K (d, l); y_conv, y_rec (l,) one channel of one sequence.
    """
    K, y_conv, y_rec = (np.asarray(v.detach() if isinstance(v, torch.Tensor) else v, dtype=float) for v in (K, y_conv, y_rec))
    fig, (ax_k, ax_y) = plt.subplots(1, 2, figsize=(10, 3.2))
    t = np.arange(K.shape[1])
    for i, c in enumerate(channels):
        ax_k.plot(t, K[c], label=f"channel {c}", **series_style(i))
    ax_k.axhline(0, color="0.5", lw=0.6)
    ax_k.set(title="kernel K_k = C Ā^k B̄", xlabel="tap k (steps back)", ylabel="K_k")
    ax_k.legend()
    ax_y.plot(t, y_conv, label="convolution K * u", **{**series_style(0), "marker": ""})
    ax_y.plot(t, y_rec, label="recurrence x_t = Ā x_(t-1) + B̄ u_t", **{**series_style(1), "linestyle": ""})
    ax_y.set(title="one output channel, two ways", xlabel="step t", ylabel="y_t")
    ax_y.legend()
    fig.tight_layout()
    diff = float(np.abs(y_conv - y_rec).max())
    return describe(fig, f"Left: the first {len(t)} taps of the kernel of {len(channels)} channels, each a sum of "
                         f"decaying exponentials. Right: one output channel computed by the convolution (line) "
                         f"and by the recurrence (markers); they coincide (largest difference {diff:.1e}).")


@accessible
def plot_variant_accuracy(results, *, chance: float | None = None, title: str = "selective copying"):
    """Accuracy of every seed (markers) and the mean (bar) per variant; results: DataFrame with
    columns variant, seed, accuracy (as from seqlab.mamba.selective_copying.run_variants)."""
    groups = list(results.groupby("variant", sort=False))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(groups) + 2), 3.4))
    for i, (name, g) in enumerate(groups):
        values = g["accuracy"].to_numpy(dtype=float)
        jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
        style = series_style(i)
        ax.scatter(i + jitter, values, color=style["color"], marker=style["marker"], zorder=3, s=24)
        ax.hlines(values.mean(), i - 0.3, i + 0.3, color="black", lw=2)
    if chance is not None:
        ax.axhline(chance, color="black", ls=":", lw=1)
        ax.text(len(groups) - 0.5, chance, " chance", va="bottom", ha="right", fontsize=8)
    ax.set_xticks(range(len(groups)), [str(n) for n, _ in groups], rotation=20, ha="right")
    ax.set(ylim=(0, 1.02), xlabel="variant", ylabel="test accuracy per answer token", title=title)
    fig.tight_layout()
    means = ", ".join(f"{n} {g['accuracy'].mean():.2f} ± {g['accuracy'].std(ddof=1):.2f}" for n, g in groups)
    return describe(fig, f"{title}: test accuracy of each seed (markers) and the mean (black bar) per variant; "
                         f"mean ± std over seeds: {means}" + (f"; dotted line: chance {chance:.2f}." if chance else "."))

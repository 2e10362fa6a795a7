"""Figures for lesson 06 (efficient sequence models): where attention looks, what it costs.

- ``plot_lag_attention``: the last month's softmax attention over lags, one row per forecast
  month (does the model look about one solar cycle, ~11 years = 132 months, back?);
- ``plot_cost_vs_length``: forward+backward time and peak memory against L, log-log (``seqlab.cost``);
- ``plot_lag_weights``: SAMoVAR's per-window AR weights beside the least-squares AR(p) coefficients.

Lines differ by marker and line style as well as colour, so the figures read in grayscale.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import OKABE_ITO, accessible, describe, series_style

__all__ = ["last_query_attention", "plot_cost_vs_length", "plot_lag_attention", "plot_lag_weights"]

SOLAR_CYCLE_MONTHS = 132  # ~11 years
MARK = OKABE_ITO["vermillion"]


def last_query_attention(weights) -> np.ndarray:
    """Attention of the last position over lags, averaged over heads: (b, h, l, l) -> (b, l), lag 0 first."""
    w = np.asarray(weights.mean(1)[:, -1] if hasattr(weights, "mean") else weights)  # (b, l): oldest .. newest
    return w[:, ::-1].copy()


@accessible
def plot_lag_attention(lag_attention: np.ndarray, months=None, ax=None):
    """Heatmap (forecast month x lag) of attention weights, and their mean over months above it.

    ``lag_attention`` (n, l): row = one forecast window, column j = weight on the month j + 1 before
    the forecast month (lag 0 = the newest month in the window). Returns the figure.
    """
    lag_attention = np.asarray(lag_attention)
    n, l = lag_attention.shape
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.2), sharex=True, gridspec_kw={"height_ratios": [1, 2.2]})
    lags = np.arange(1, l + 1)  # months before the forecast month
    top.plot(lags, lag_attention.mean(0), color="k", lw=1.5, marker=".", markersize=3, label="mean over months")
    top.axhline(1 / l, color="0.5", ls=":", lw=1, label="uniform 1/l")
    if SOLAR_CYCLE_MONTHS <= l:
        for a in (top, bottom):
            a.axvline(SOLAR_CYCLE_MONTHS, color=MARK, ls="--", lw=1)
        top.text(SOLAR_CYCLE_MONTHS, top.get_ylim()[1], " 11 years", va="top", fontsize=8, color=MARK)
    top.set_ylabel("weight")
    top.legend(fontsize=8, loc="upper right")
    image = bottom.imshow(lag_attention, aspect="auto", cmap="viridis", interpolation="nearest",
                          extent=(0.5, l + 0.5, n - 0.5, -0.5))
    bottom.set_xlabel("months before the forecast month (lag)")
    bottom.set_ylabel("forecast month")
    if months is not None and len(months) == n:
        ticks = np.linspace(0, n - 1, 5).astype(int)
        bottom.set_yticks(ticks, [str(months[i]) for i in ticks])
    fig.colorbar(image, ax=[top, bottom], label="attention weight", shrink=0.8)
    top.set_title("Last position's softmax attention over the window (last layer, mean over heads)")
    mean = lag_attention.mean(0)
    return describe(fig, f"Attention of the last position over {l} lags for {n} forecast months (heatmap) and its "
                         f"mean (top, against uniform 1/l = {1 / l:.4f}); the most attended lag is {mean.argmax() + 1}, "
                         "the dashed line marks 11 years (132 months).")


@accessible
def plot_cost_vs_length(result, length: int | None = None, axes=None):
    """Time and peak memory against L on log-log axes, one line per contender; ``length`` marked."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    fig = axes[0].figure
    for ax, data, label in ((axes[0], result.seconds, "forward+backward ms"), (axes[1], result.memory, "peak MiB")):
        scale = 1e3 if label.endswith("ms") else 1 / 2**20
        for i, (name, values) in enumerate(data.items()):
            ax.plot(result.lengths, np.asarray(values, dtype=float) * scale, label=name, **series_style(i))
        if length is not None:
            ax.axvline(length, color="0.4", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length L")
        ax.set_ylabel(label)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[0].set_title("time: softmax ~L², the others ~L")
    axes[1].set_title("memory (torch's allocator, profiler)")
    fig.tight_layout()
    return describe(fig, f"Forward+backward time (left) and peak memory (right) against sequence length "
                         f"{result.lengths[0]}..{result.lengths[-1]}, log-log, one line per contender"
                         + (f"; the vertical line marks L = {length}." if length else "."))


@accessible
def plot_lag_weights(lag_weights: np.ndarray, ar_coef: np.ndarray, ax=None):
    """SAMoVAR's weights on each month of the window (median and 10-90% band over windows) vs AR(p)'s.

    ``lag_weights`` (n, l) from ``SAMoVARForecaster.lag_weights`` (oldest .. newest), ``ar_coef`` the
    AR's ``coef_`` (intercept, oldest .. newest of its p months).
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 3.2))
    fig = ax.figure
    w = np.asarray(lag_weights)[:, ::-1]  # lag 0 first
    lags = np.arange(1, w.shape[1] + 1)
    lo, mid, hi = np.percentile(w, [10, 50, 90], axis=0)
    ax.fill_between(lags, lo, hi, color="0.8", label="SAMoVAR, 10-90% of windows")
    ax.plot(lags, mid, label="SAMoVAR, median", **series_style(0))
    ar = np.asarray(ar_coef)[1:][::-1]
    ax.plot(np.arange(1, len(ar) + 1), ar, label=f"AR({len(ar)}) least squares", **series_style(1))
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("months before the forecast month (lag)")
    ax.set_ylabel("weight on that month")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return describe(fig, f"Weight on each month of the window against its lag: SAMoVAR's median and 10-90% band over "
                         f"{w.shape[0]} windows, and the fixed least-squares AR({len(ar)}) coefficients.")

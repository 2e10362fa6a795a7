"""Figures and tables for lesson 01 (gates): how a gate mixes old state and candidate, gate
activations over a sequence, and the GRU/LSTM parameter count.

Glossary: H hidden_size, I input_size, L sequence length, G gate blocks (RNN 1, GRU 3, LSTM 4).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from .style import DIVERGING_CMAP, SEQUENTIAL_CMAP, accessible, bar_style, describe

__all__ = ["parameter_count", "parameter_count_table", "plot_gate_mix", "plot_gate_heatmaps"]

GATE_BLOCKS = {"RNN": 1, "GRU": 3, "LSTM": 4}


def parameter_count(mode: str, input_size: int, hidden_size: int) -> int:
    """Parameters of a one-layer torch.nn.RNN/GRU/LSTM with biases: G * (H*I + H*H + 2*H).

    Each of the G gate blocks has W_ih (H, I), W_hh (H, H), b_ih (H,) and b_hh (H,).
    """
    if mode not in GATE_BLOCKS:
        raise ValueError(f"mode must be one of {tuple(GATE_BLOCKS)}, got {mode!r}")
    H, I = hidden_size, input_size
    return GATE_BLOCKS[mode] * (H * I + H * H + 2 * H)


def parameter_count_table(hidden_sizes: Sequence[int], input_size: int = 1) -> pd.DataFrame:
    """GRU vs LSTM parameter counts: the formula next to sum(p.numel()) of the torch.nn module.

    Returns a DataFrame indexed by hidden_size with columns GRU, LSTM (formula), GRU (torch.nn),
    LSTM (torch.nn), GRU/LSTM (ratio) and "GRU fewer %".
    """
    rows = []
    for H in hidden_sizes:
        gru, lstm = parameter_count("GRU", input_size, H), parameter_count("LSTM", input_size, H)
        rows.append(
            {
                "hidden_size": H,
                "GRU": gru,
                "LSTM": lstm,
                "GRU (torch.nn)": sum(p.numel() for p in nn.GRU(input_size, H).parameters()),
                "LSTM (torch.nn)": sum(p.numel() for p in nn.LSTM(input_size, H).parameters()),
                "GRU/LSTM": gru / lstm,
                "GRU fewer %": 100 * (1 - gru / lstm),
            }
        )
    return pd.DataFrame(rows).set_index("hidden_size")


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@accessible
def plot_gate_mix(
    state: Mapping[str, Mapping[str, np.ndarray]],
    *,
    units: int | None = None,
    ylims: Mapping[str, float] | None = None,
) -> plt.Figure:
    """Grouped bars per hidden unit: what goes into the new state and what comes out.

    state: {"GRU": {"h_old", "n", "h_new"}, "LSTM": {"c_old", "g", "c_new", "h_new"}} with (H,)
    arrays (any subset of the two cells), as returned by seqlab.widgets.gate_mix_state.
    ylims: cell -> half-height of the y axis; fixed values keep the axes still while a slider
    moves (default: from the data).
    """
    fig, axes = plt.subplots(1, len(state), figsize=(5.2 * len(state), 3.2), squeeze=False)
    # the old state, the candidate and the new state keep one colour and hatch in both cells
    styles = {"h_old": 5, "c_old": 5, "n": 4, "g": 4, "c_new": 0, "h_new": 2}
    for ax, (cell, vectors) in zip(axes[0], state.items()):
        names = list(vectors)
        H = len(_np(vectors[names[0]])) if units is None else units
        width = 0.8 / len(names)
        for j, name in enumerate(names):
            ax.bar(np.arange(H) + (j - (len(names) - 1) / 2) * width, _np(vectors[name])[:H],
                   width, label=name, **bar_style(styles.get(name, j)))
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(range(H), [f"unit {u}" for u in range(H)], fontsize=8)
        lim = (ylims or {}).get(cell) or max(1.05, 1.05 * max(np.abs(_np(v)).max() for v in vectors.values()))
        ax.set_ylim(-lim, 1.45 * lim)  # headroom for the legend
        ax.set_title(cell)
        ax.legend(fontsize=8, ncol=len(names), loc="upper center")
    fig.tight_layout()
    parts = [f"{cell}: " + ", ".join(vectors) for cell, vectors in state.items()]
    return describe(fig, "Grouped bars, one group per hidden unit: the old state, the candidate and the new "
                         "state the gates mix from them (" + "; ".join(parts) + ").")


@accessible
def plot_gate_heatmaps(
    gates: Mapping[str, np.ndarray | torch.Tensor],
    series: np.ndarray | None = None,
    *,
    title: str = "",
    time_index: Sequence | None = None,
) -> plt.Figure:
    """One heatmap per gate, time on x and hidden unit on y, plus the input series on top.

    gates: name -> (L, H) activations (sigmoid gates in [0, 1], tanh ones in [-1, 1]).
    series: (L,) input drawn above the heatmaps. time_index: labels for the x axis (e.g. years).
    """
    names = list(gates)
    n_rows = len(names) + (series is not None)
    fig, axes = plt.subplots(n_rows, 1, figsize=(9, 1.0 + 1.25 * n_rows), sharex=True, squeeze=False)
    axes = axes[:, 0]
    if series is not None:
        axes[0].plot(_np(series), color="k", lw=0.8)
        axes[0].set_xlim(-0.5, len(_np(series)) - 0.5)  # the heatmaps' pixel edges
        axes[0].set_ylabel("input", fontsize=8)
        axes[0].set_title(title)
        # an invisible colorbar, so that the line lines up with the heatmaps below it
        spacer = fig.colorbar(plt.cm.ScalarMappable(), ax=axes[0], pad=0.01, fraction=0.03)
        spacer.ax.set_visible(False)
    for ax, name in zip(axes[series is not None :], names):
        values = _np(gates[name])  # (L, H)
        squashed = name in ("n", "g", "c")  # tanh outputs (and the cell) are signed
        lim = max(1.0, float(np.abs(values).max())) if name == "c" else 1.0
        im = ax.imshow(values.T, aspect="auto", interpolation="nearest",
                       cmap=DIVERGING_CMAP if squashed else SEQUENTIAL_CMAP,
                       vmin=-lim if squashed else 0.0, vmax=lim)
        ax.set_ylabel(f"{name}\nunit", fontsize=8)
        fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03)
    if time_index is not None:
        L = len(time_index)
        ticks = np.linspace(0, L - 1, 6).astype(int)
        axes[-1].set_xticks(ticks, [str(time_index[t]) for t in ticks], fontsize=8)
    axes[-1].set_xlabel("time step (month)")
    if series is None and title:
        axes[0].set_title(title)
    fig.tight_layout()
    L = len(_np(gates[names[0]]))
    return describe(fig, f"{title + ': ' if title else ''}heatmaps of the gate activations over {L} time steps "
                         f"(x) for each hidden unit (y), one panel per gate ({', '.join(names)})"
                         f"{', below the input series' if series is not None else ''}. Sigmoid gates run "
                         f"from 0 (dark) to 1 (light); signed values (tanh outputs, the cell) from negative (dark) to positive (light).")

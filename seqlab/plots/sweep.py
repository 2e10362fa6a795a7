"""Figures for sweeps (lesson 03): every seed's validation score per configuration, one panel per model."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_validation_spread"]

MARKERS = "osD^v<>"


def plot_validation_spread(results: pd.DataFrame, metric: str = "val_r2",
                           reported: Mapping[tuple[str, str], float] | None = None, title: str | None = None):
    """One panel per model: each configuration's ``metric`` per seed (markers) and the mean (a bar).

    ``results`` has one row per (model, label, seed). ``reported`` maps (model, label) to a number
    drawn as a cross (e.g. the lab's single-run R^2; it was measured on the lab's own split).
    Readable in grayscale: seeds differ by marker, the mean is a black bar, the lab a cross.
    """
    models = list(dict.fromkeys(results["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(3.3 * len(models) + 0.6, 3.8), sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models):
        part = results[results.model == model]
        labels = list(dict.fromkeys(part["label"]))
        for i, label in enumerate(labels):
            g = part[part.label == label].sort_values("seed")
            values = g[metric].to_numpy(dtype=float)
            jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
            for j, (x, v) in enumerate(zip(i + jitter, values)):
                ax.scatter(x, v, marker=MARKERS[j % len(MARKERS)], facecolors="none", edgecolors="0.3", s=26,
                           label=f"seed {int(g.seed.iloc[j])}" if i == 0 else None, zorder=3)
            ax.hlines(values.mean(), i - 0.3, i + 0.3, color="black", lw=2, label="mean" if i == 0 else None)
            if reported and (model, label) in reported:
                ax.scatter(i, reported[(model, label)], marker="x", color="black", s=40,
                           label="lab (one run)" if i == 0 else None, zorder=4)
        short = [label if len(label) <= 28 else label[:27] + "…" for label in labels]
        ax.set_xticks(range(len(labels)), short, rotation=35, ha="right", fontsize=8)
        ax.set_title(model)
        ax.grid(axis="y", ls=":", lw=0.6)
    axes[0][0].set_ylabel(metric.replace("val_", "validation ").replace("r2", "R^2").replace("rmse", "RMSE"))
    axes[0][-1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig

"""Figures for lessons 03-04 and ``python -m seqlab compare``: the lab's figures 1-3 and the
run-to-run spread.

- ``plot_loss_curves``   figure 1: training and validation loss per epoch, one panel per model
- ``plot_metrics``       figure 2: RMSE, R^2, training and inference time, mean ± std over seeds
- ``plot_predictions``   figure 3: predicted vs actual sunspot numbers on the test months
- ``plot_r2_spread``     R^2 of every seed per configuration (how much one run can be trusted)
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import OKABE_ITO, accessible, bar_style, describe, series_style

__all__ = ["plot_loss_curves", "plot_metrics", "plot_predictions", "plot_r2_spread"]


def _grid(n: int, width: float = 5.0, height: float = 3.2):
    cols = 1 if n == 1 else 2
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


@accessible
def plot_loss_curves(histories: Mapping[str, object], title: str = "Loss curves"):
    """One panel per model: ``history.train_loss`` and ``history.val_loss`` against epoch.

    ``histories`` maps a name to a ``TrainResult`` (or anything with those two lists).
    """
    if not histories:
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.text(0.5, 0.5, "no trained networks (baselines only)", ha="center", va="center")
        ax.set_axis_off()
        return describe(fig, "No trained networks to show (baselines only).")
    fig, axes = _grid(len(histories))
    for ax, (name, h) in zip(axes, histories.items()):
        epochs = np.arange(1, len(h.train_loss) + 1)
        ax.plot(epochs, h.train_loss, label="train", **{**series_style(name), "linestyle": "-", "marker": "o"})
        ax.plot(epochs, h.val_loss, "s--", label="validation", color="black", alpha=0.7)
        best = getattr(h, "best_epoch", 0)
        if best:
            ax.axvline(best, color="gray", lw=0.8, ls=":", label=f"best epoch {best}")
        ax.set(title=name, xlabel="epoch", ylabel="loss")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    best = ", ".join(f"{name} {min(h.val_loss):.4g}" for name, h in histories.items())
    return describe(fig, f"{title}: training loss (solid, circles) and validation loss (dashed, squares) per epoch, "
                         f"one panel per model; lowest validation loss: {best}.")


@accessible
def plot_metrics(results: pd.DataFrame, label_column: str = "model"):
    """Bars of test RMSE, R^2 (scaled units), training and inference time; error bars = std over seeds."""
    metrics = [("rmse", "RMSE (scaled)"), ("r2", "R^2"), ("train_time_s", "training time (s)"),
               ("inference_time_s", "inference time (s)")]
    grouped = results.groupby(label_column, sort=False)
    names = list(grouped.groups)
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    for ax, (col, title) in zip(axes.ravel(), metrics):
        mean, std = grouped[col].mean(), grouped[col].std(ddof=1).fillna(0.0)
        for i, n in enumerate(names):  # one colour and hatch per model, its name under the bar
            ax.bar(i, mean[n], yerr=std[n], capsize=4, **bar_style(str(n)))
        ax.set_xticks(range(len(names)), names, rotation=20)
        ax.set_title(title)
        if col == "r2":
            low = float(np.nanmin(mean[names] - std[names]))
            ax.set_ylim(max(0.0, low - 0.02), min(1.0, float(np.nanmax(mean[names] + std[names])) + 0.01))
    fig.suptitle(f"Test metrics, mean ± std over {results['seed'].nunique()} seed(s)")
    fig.tight_layout()
    r2 = grouped["r2"].mean()
    return describe(fig, f"Four bar charts (test RMSE, R^2, training time, inference time), one bar per model with "
                         f"the standard deviation over {results['seed'].nunique()} seed(s) as error bars; mean R^2: "
                         + ", ".join(f"{n} {r2[n]:.3f}" for n in names) + ".")


@accessible
def plot_predictions(actual: pd.Series, predictions: Mapping[str, np.ndarray], period=None,
                     title: str = "Predictions vs actual (test months)"):
    """One panel per model: actual monthly sunspot numbers and the one-step-ahead predictions.

    Args:
        actual: sunspot numbers on a monthly PeriodIndex (the test months).
        predictions: name -> array aligned with ``actual`` (sunspot numbers).
        period: ``(first, last)`` years or months to show (default: all).
    """
    if not predictions:
        raise ValueError("plot_predictions needs at least one model's predictions.")
    frame = pd.DataFrame({"actual": np.asarray(actual, dtype=float)}, index=actual.index)
    for name, p in predictions.items():
        p = np.asarray(p, dtype=float).reshape(-1)
        if len(p) != len(actual):
            raise ValueError(f"{name}: {len(p)} predictions for {len(actual)} months; they must align.")
        frame[name] = p
    if period is not None:
        first, last = (str(x) for x in period)
        frame = frame.loc[pd.Period(first, "M") if "-" in first else pd.Period(f"{first}-01", "M"):
                          pd.Period(last, "M") if "-" in last else pd.Period(f"{last}-12", "M")]
        if frame.empty:
            raise ValueError(f"No test months in period {period}; the test months are "
                             f"{actual.index[0]}..{actual.index[-1]}.")
    t = frame.index.to_timestamp()
    fig, axes = _grid(len(predictions), width=6.0, height=2.8)
    for ax, name in zip(axes, predictions):
        ax.plot(t, frame["actual"], color="black", lw=1.0, linestyle="-", marker="", label="actual")
        ax.plot(t, frame[name], lw=1.0, label=f"{name} prediction", **{**series_style(name), "linestyle": "--"})
        ax.set(title=name, ylabel="sunspot number")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return describe(fig, f"{title}: the actual monthly sunspot numbers (black solid line) and each model's "
                         f"one-step-ahead prediction (dashed line with markers), one panel per model "
                         f"({', '.join(predictions)}), {frame.index[0]}..{frame.index[-1]}.")


@accessible
def plot_r2_spread(results: pd.DataFrame, by: str = "label", metric: str = "r2",
                   reference: Mapping[str, float] | None = None, title: str | None = None):
    """Every seed's ``metric`` as a dot per configuration, with the mean as a bar.

    ``reference`` draws horizontal lines (e.g. ``{"AR(36)": 0.8936}``).
    """
    groups = list(results.groupby(by, sort=False))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(groups) + 2), 3.6))
    for i, (name, g) in enumerate(groups):
        values = g[metric].to_numpy(dtype=float)
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
        model = str(g["model"].iloc[0]) if "model" in g else str(name)
        style = series_style(model)
        ax.scatter(i + jitter, values, color=style["color"], marker=style["marker"], zorder=3, s=22)
        ax.hlines(values.mean(), i - 0.25, i + 0.25, color="black", lw=2)
    for j, (name, value) in enumerate((reference or {}).items()):
        ax.axhline(value, color=OKABE_ITO["black"], ls="--", lw=1)
        ax.text(len(groups) - 0.5, value, f" {name}", va="bottom", ha="right", fontsize=8, color=OKABE_ITO["black"])
    ax.set_xticks(range(len(groups)), [str(n) for n, _ in groups], rotation=25, ha="right")
    ax.set_ylabel(f"test {metric}" if metric == "r2" else metric)
    ax.set_title(title or f"{metric} of each seed (dots) and their mean (bar)")
    fig.tight_layout()
    means = ", ".join(f"{name} {g[metric].mean():.3f}" for name, g in groups)
    refs = "".join(f"; dashed line: {name} {value:.3f}" for name, value in (reference or {}).items())
    return describe(fig, f"Test {metric} of every seed as a marker per configuration, with the mean as a short black "
                         f"bar; means: {means}{refs}.")

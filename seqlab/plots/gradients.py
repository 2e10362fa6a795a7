"""Figures for lesson 02 (gradient flow): Jacobian norms against the lag, and training runs.

Glossary: k lag T - t; ||dh_T/dh_{T-k}|| spectral norm of the Jacobian (see seqlab.gradflow).
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from .style import accessible, describe

__all__ = ["plot_jacobian_norms", "plot_training_runs"]


@accessible
def plot_jacobian_norms(
    curves: Mapping[str, np.ndarray],
    *,
    threshold: float | None = 1e-2,
    title: str = r"$\|\partial h_T / \partial h_{T-k}\|_2$ against the lag $k$",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """Log-scale norms against the lag, one line per label.

    curves: label -> (T + 1,) norms indexed by lag k (as from seqlab.gradflow.jacobian_norms).
    threshold: a dotted line (1% by default, the 'memory horizon' of gradflow.memory_horizon).
    Zeros (a relu RNN can kill the gradient exactly) are drawn at the bottom of the axis.
    """
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.6))
    for label, norms in curves.items():
        norms = np.asarray(norms, dtype=float)
        ax.semilogy(np.arange(len(norms)), np.where(norms > 0, norms, np.nan), label=label)
    if threshold is not None:
        ax.axhline(threshold, color="k", ls=":", lw=0.8, label=f"{threshold:g}")
    ax.axhline(1.0, color="0.5", lw=0.6)
    ax.set_xlabel("lag k = T - t (steps back)")
    ax.set_ylabel("spectral norm")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    ends = ", ".join(f"{label} {np.asarray(n, dtype=float)[-1]:.1e}" for label, n in curves.items())
    return describe(fig, f"Gradient norm against the lag k on a log scale, one line per model; at the "
                         f"largest lag: {ends}.")


@accessible
def plot_training_runs(runs: Mapping[str, Mapping[str, np.ndarray]], *, title: str = "") -> plt.Figure:
    """Loss and gradient norm (before clipping) per step, side by side, one line per run.

    runs: label -> {"loss": (steps,), "grad_norm": (steps,)} as from seqlab.gradflow.train_recall.
    A run that blew up (inf/NaN) stops where its line stops; its last finite step is marked with x.
    """
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(10, 3.4))
    for label, run in runs.items():
        for ax, key in ((ax_loss, "loss"), (ax_grad, "grad_norm")):
            values = np.asarray(run[key], dtype=float)
            finite = np.isfinite(values)
            (line,) = ax.semilogy(np.where(finite, values, np.nan), label=label, lw=0.9)
            if not finite.all() and finite.any():
                last = np.nonzero(finite)[0][-1]
                ax.plot(last, values[last], "x", color=line.get_color(), ms=8)
    ax_loss.set_title("loss (MSE; 1.0 = no memory)")
    ax_grad.set_title("gradient norm before clipping")
    for ax in (ax_loss, ax_grad):
        ax.set_xlabel("training step")
    ax_loss.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    finals = ", ".join(f"{label} {np.asarray(run['loss'], dtype=float)[-1]:.3g}" for label, run in runs.items())
    return describe(fig, f"{title + ': ' if title else ''}training loss (left) and gradient norm before "
                         f"clipping (right) per step, log scale, one line per run; final loss: {finals}.")

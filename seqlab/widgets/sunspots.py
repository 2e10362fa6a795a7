"""UIs for lessons 03-04: train one forecaster live (tuning), and browse the final predictions.

Each UI's work is a plain function (``train_one``, ``draw_training``, ``draw_comparison``),
unit-tested by calling it with different control values.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["train_one", "timing_text", "draw_training", "tuning_ui", "draw_comparison", "comparison_ui"]


def train_one(model: str = "lstm", hidden_size: int = 64, num_layers: int = 2, dropout: float = 0.0,
              lr: float = 1e-3, batch_size: int = 64, alpha: float = 0.5, *, splits, epochs: int = 5,
              seed: int = 0, time_budget_s: float | None = 6.0) -> dict:
    """Train one forecaster on ``splits``; returns ``history``, ``val``/``test`` metrics, ``params``.

    For ``"mamba"``, ``hidden_size`` is ``d_model`` and ``num_layers`` the number of blocks;
    dropout does not apply to it (the lab's Mamba had none). Training stops after the first epoch
    that ends past ``time_budget_s`` so that a live UI stays responsive.
    """
    from ..models import count_parameters, make_forecaster
    from ..train import evaluate, train

    if model == "mamba":
        kwargs = {"d_model": hidden_size, "num_layers": num_layers}
    else:
        kwargs = {"hidden_size": hidden_size, "num_layers": num_layers,
                  "dropout": dropout if num_layers > 1 else 0.0}  # torch.nn: dropout acts between layers
    net = make_forecaster(model, seed=seed, **kwargs)
    history = train(net, splits, epochs=epochs, lr=lr, batch_size=batch_size, alpha=alpha, seed=seed,
                    progress=False, time_budget_s=time_budget_s)
    return {"model": model, "params": count_parameters(net), "history": history,
            "val": evaluate(net, splits, "val"), "test": evaluate(net, splits, "test")}


def timing_text(result: dict) -> str:
    """How long the run took (machine-dependent, so the UI shows it apart from the plot)."""
    h = result["history"]
    budget = " (stopped early: time budget reached)" if h.stopped_early else ""
    return f"{len(h.train_loss)} epoch(s) in {h.train_time_s:.1f} s{budget}"


def draw_training(result: dict):
    """Loss curves of one ``train_one`` result, with its validation metrics in the title."""
    h = result["history"]
    epochs = np.arange(1, len(h.train_loss) + 1)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(epochs, h.train_loss, "o-", label="train")
    ax.plot(epochs, h.val_loss, "s--", color="black", label="validation")
    ax.axvline(h.best_epoch, color="gray", ls=":", lw=0.8, label=f"best epoch {h.best_epoch}")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="loss", title=(
        f"{result['model']} ({result['params']:,} parameters): validation RMSE "
        f"{result['val']['rmse']:.4f}, R^2 {result['val']['r2']:.3f}"))
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tuning_ui(splits, epochs: int = 5, models=("rnn", "gru", "lstm", "mamba")):
    """Controls for model and hyper-parameters, a Run button, and the run's loss curves."""
    import ipywidgets as W
    from IPython.display import display

    style = {"description_width": "110px"}
    controls = {
        "model": W.Dropdown(options=list(models), value="lstm" if "lstm" in models else models[0], description="model", style=style),
        "hidden_size": W.Dropdown(options=[16, 32, 48, 64, 128], value=64, description="hidden size", style=style),
        "num_layers": W.Dropdown(options=[1, 2, 3], value=2, description="layers", style=style),
        "dropout": W.Dropdown(options=[0.0, 0.1, 0.2, 0.3], value=0.2, description="dropout", style=style),
        "lr": W.Dropdown(options=[3e-4, 1e-3, 3e-3, 1e-2], value=1e-3, description="learning rate", style=style),
        "batch_size": W.Dropdown(options=[32, 64, 128], value=64, description="batch size", style=style),
        "alpha": W.Dropdown(options=[0.5, 0.7, 1.0], value=0.5, description="loss alpha", style=style),
    }
    for control in controls.values():
        control.add_class("seqlab-no-live")
    button = W.Button(description=f"Train ({epochs} epochs)", button_style="primary")
    button.add_class("seqlab-run")
    out = W.Output()
    timing = W.HTML()
    timing.add_class("seqlab-volatile")  # differs run to run; the browser tests leave it out

    def run(_=None):
        values = {name: c.value for name, c in controls.items()}
        with out:
            out.clear_output(wait=True)
            result = train_one(**values, splits=splits, epochs=epochs)
            timing.value = timing_text(result)
            fig = draw_training(result)
            display(fig)
            plt.close(fig)

    button.on_click(run)
    box = W.VBox([W.HBox([W.VBox(list(controls.values())[:4]), W.VBox([*list(controls.values())[4:], button])]), timing, out])
    box.add_class("seqlab-ui")
    run()
    return box


def _period_months(period, index: pd.PeriodIndex):
    first, last = period
    return index[(index.year >= first) & (index.year <= last)]


def draw_comparison(actual: pd.Series, predictions: Mapping[str, np.ndarray], model: str, period):
    """Predicted vs actual for ``model`` (or ``"all"``) over the years ``period = (first, last)``,
    with that period's RMSE in sunspot numbers in the title."""
    from ..plots.sunspots import plot_predictions

    names = list(predictions) if model == "all" else [model]
    if any(n not in predictions for n in names):
        raise ValueError(f"Unknown model {model!r}; choose from {list(predictions)} or 'all'.")
    months = _period_months(period, actual.index)
    if len(months) == 0:
        raise ValueError(f"No test months in {period}; they run {actual.index[0]}..{actual.index[-1]}.")
    mask = actual.index.isin(months)
    rmse = {n: float(np.sqrt(np.mean((np.asarray(predictions[n])[mask] - actual.to_numpy()[mask]) ** 2)))
            for n in names}
    fig = plot_predictions(actual, {n: predictions[n] for n in names}, period=period,
                           title="RMSE in this period: " + ", ".join(f"{n} {v:.1f}" for n, v in rmse.items()))
    return fig


def comparison_ui(actual: pd.Series, predictions: Mapping[str, np.ndarray]):
    """Pick a model (or all) and a range of years; the predictions plot redraws live."""
    import ipywidgets as W
    from IPython.display import display

    years = (int(actual.index.year.min()), int(actual.index.year.max()))
    model = W.Dropdown(options=["all", *predictions], value=next(iter(predictions)), description="model")
    period = W.IntRangeSlider(value=years, min=years[0], max=years[1], description="years",
                              continuous_update=False, layout=W.Layout(width="420px"))
    out = W.Output()

    def redraw(_=None):
        with out:
            out.clear_output(wait=True)
            fig = draw_comparison(actual, predictions, model.value, period.value)
            display(fig)
            plt.close(fig)

    model.observe(redraw, names="value")
    period.observe(redraw, names="value")
    box = W.VBox([W.HBox([model, period]), out])
    box.add_class("seqlab-ui")
    redraw()
    return box

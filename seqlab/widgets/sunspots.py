"""UIs for lessons 03-04: train one forecaster live (tuning), and browse the final predictions.

Each UI's work is a plain function (``train_one``, ``draw_training``, ``draw_comparison``),
unit-tested by calling it with different control values.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .display import show_in_output

__all__ = ["train_one", "inactive_controls", "hidden_size_options", "timing_text", "draw_training", "tuning_ui", "draw_comparison", "comparison_ui"]


# Live training does a fixed amount of work (epochs, not seconds), so that the same settings give
# the same numbers on every machine. Sizes measured on a 2-core laptop CPU, 628 windows, 5 epochs:
# LSTM 64x2 ~1 s, LSTM 128x3 ~4 s, Mamba d_model 64 x 3 blocks ~5 s, but Mamba 128 x 3 ~15 s,
# hence the smaller cap on Mamba's d_model.
HIDDEN_SIZES = (16, 32, 48, 64, 128)
MAMBA_D_MODELS = (16, 32, 48, 64)


def train_one(kind: str = "lstm", hidden_size: int = 64, num_layers: int = 2, dropout: float = 0.0,
              lr: float = 1e-3, batch_size: int = 64, alpha: float = 0.5, *, splits, epochs: int = 5,
              seed: int = 0) -> dict:
    """Train one forecaster on ``splits`` for exactly ``epochs`` epochs.

    Returns ``kind``, ``params``, ``history`` (a ``TrainResult``), ``val``/``test`` metrics. Same
    arguments, same numbers: the seed fixes weights, batch order and dropout masks.
    For ``"mamba"``, ``hidden_size`` is ``d_model`` and ``num_layers`` the number of blocks;
    ``dropout`` is ignored there (the lab's Mamba had none) and with one recurrent layer
    (torch.nn applies it between layers): see ``inactive_controls``.
    """
    from ..models import count_parameters, make_forecaster
    from ..train import TrainConfig, evaluate, train

    if kind == "mamba":
        kwargs = {"d_model": hidden_size, "num_layers": num_layers}
    else:
        kwargs = {"hidden_size": hidden_size, "num_layers": num_layers,
                  "dropout": dropout if num_layers > 1 else 0.0}  # torch.nn: dropout acts between layers
    model = make_forecaster(kind, seed=seed, **kwargs)
    config = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, alpha=alpha, seed=seed, progress=False)
    history = train(model, splits, config)
    return {"kind": kind, "params": count_parameters(model), "history": history,
            "val": evaluate(model, splits, "val"), "test": evaluate(model, splits, "test")}


def inactive_controls(kind: str, num_layers: int) -> dict[str, str]:
    """Controls of ``tuning_ui`` that cannot change ``train_one``'s result for these settings,
    mapped to the reason (the UI disables them and shows the reason)."""
    if kind == "mamba":
        return {"dropout": "dropout: not used by Mamba (the lab's Mamba had none)"}
    if num_layers < 2:
        return {"dropout": "dropout acts between recurrent layers: it needs 2+ layers"}
    return {}


def hidden_size_options(kind: str) -> tuple[int, ...]:
    """Hidden sizes offered for ``kind`` (Mamba's ``d_model`` is capped to keep a click short)."""
    return MAMBA_D_MODELS if kind == "mamba" else HIDDEN_SIZES


def timing_text(result: dict) -> str:
    """How long the run took (machine-dependent, so the UI shows it apart from the plot)."""
    h = result["history"]
    return f"{len(h.train_loss)} epoch(s) trained in {h.train_time_s:.1f} s on this machine"


def draw_training(result: dict):
    """Loss curves of one ``train_one`` result, with its epochs and validation metrics in the title."""
    h = result["history"]
    epochs = np.arange(1, len(h.train_loss) + 1)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(epochs, h.train_loss, "o-", label="train")
    ax.plot(epochs, h.val_loss, "s--", color="black", label="validation")
    ax.axvline(h.best_epoch, color="gray", ls=":", lw=0.8, label=f"best epoch {h.best_epoch}")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="loss", title=(
        f"{result['kind']} ({result['params']:,} parameters, {len(h.train_loss)} epochs): "
        f"validation RMSE {result['val']['rmse']:.4f}, R^2 {result['val']['r2']:.3f}"))
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tuning_ui(splits, epochs: int = 5, models=("rnn", "gru", "lstm", "mamba")):
    """Controls for model and hyper-parameters, a Train button, and the run's loss curves.

    Each click trains exactly ``epochs`` epochs with seed 0, so a result depends on the settings
    only, never on the machine's speed. Controls that cannot act for the chosen model and layers
    (``inactive_controls``) are disabled, with the reason shown.
    """
    import ipywidgets as W

    style = {"description_width": "110px"}
    first = "lstm" if "lstm" in models else models[0]
    controls = {
        "kind": W.Dropdown(options=list(models), value=first, description="model", style=style),
        "hidden_size": W.Dropdown(options=list(hidden_size_options(first)), value=64, description="hidden size", style=style),
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
    note = W.HTML()
    about = W.HTML(f"<small>Each click trains exactly {epochs} epochs on {len(splits.y_train)} training "
                   "windows with seed 0: the same settings give the same numbers on any machine.</small>")
    out = W.Output()
    timing = W.HTML()
    timing.add_class("seqlab-volatile")  # differs run to run; the browser tests leave it out

    def update_controls(_=None):
        kind = controls["kind"].value
        sizes = list(hidden_size_options(kind))
        hidden = controls["hidden_size"]
        if list(hidden.options) != sizes:
            value = hidden.value if hidden.value in sizes else max(s for s in sizes if s <= hidden.value)
            hidden.options = sizes
            hidden.value = value
        reasons = inactive_controls(kind, controls["num_layers"].value)
        for name, control in controls.items():
            control.disabled = name in reasons
            control.tooltip = reasons.get(name)
        notes = list(reasons.values())
        if kind == "mamba":
            notes.append(f"Mamba: hidden size = d_model (up to {max(MAMBA_D_MODELS)} here, to keep a click "
                         "short), layers = blocks")
        note.value = "<small>" + "<br>".join(notes) + "</small>" if notes else ""

    def run(_=None):
        values = {name: c.value for name, c in controls.items()}
        result = train_one(**values, splits=splits, epochs=epochs)
        timing.value = timing_text(result)
        show_in_output(out, draw_training(result))

    controls["kind"].observe(update_controls, names="value")
    controls["num_layers"].observe(update_controls, names="value")
    button.on_click(run)
    update_controls()
    items = list(controls.values())
    box = W.VBox([W.HBox([W.VBox(items[:4]), W.VBox([*items[4:], button])]), note, about, timing, out])
    box.add_class("seqlab-ui")
    box.controls, box.output = {**controls, "train": button}, out  # handles for tests
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

    years = (int(actual.index.year.min()), int(actual.index.year.max()))
    model = W.Dropdown(options=["all", *predictions], value=next(iter(predictions)), description="model")
    period = W.IntRangeSlider(value=years, min=years[0], max=years[1], description="years",
                              continuous_update=False, layout=W.Layout(width="420px"))
    out = W.Output()

    def redraw(_=None):
        show_in_output(out, draw_comparison(actual, predictions, model.value, period.value))

    model.observe(redraw, names="value")
    period.observe(redraw, names="value")
    box = W.VBox([W.HBox([model, period]), out])
    box.add_class("seqlab-ui")
    box.controls, box.output = {"model": model, "period": period}, out  # handles for tests
    redraw()
    return box

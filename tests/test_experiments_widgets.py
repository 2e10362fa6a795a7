"""Lessons 03-04 UIs and figures: each callback's work changes its output when a control moves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from seqlab.data import load_sunspots, split_series  # noqa: E402
from seqlab.plots.sunspots import plot_loss_curves, plot_metrics, plot_predictions, plot_r2_spread  # noqa: E402
from seqlab.widgets.sunspots import (  # noqa: E402
    comparison_ui, draw_comparison, draw_training, inactive_controls, train_one, tuning_ui)


@pytest.fixture(scope="module")
def splits():
    return split_series(load_sunspots(start="1990-01"), 12)


def _lines(fig):
    return [line.get_ydata() for ax in fig.axes for line in ax.get_lines()]


def test_train_one_changes_with_controls(splits):
    a = train_one("gru", hidden_size=16, num_layers=1, splits=splits, epochs=2)
    b = train_one("gru", hidden_size=32, num_layers=1, splits=splits, epochs=2)
    c = train_one("gru", hidden_size=16, num_layers=1, lr=1e-2, splits=splits, epochs=2)
    assert a["params"] != b["params"]
    assert a["history"].train_loss != b["history"].train_loss != c["history"].train_loss
    d = train_one("rnn", hidden_size=16, num_layers=1, alpha=1.0, splits=splits, epochs=2)
    assert d["history"].train_loss[0] < a["history"].train_loss[0]  # MSE alone is smaller than MSE+RMSE mix
    fig_a, fig_c = draw_training(a), draw_training(c)
    assert fig_a.axes[0].get_title() != fig_c.axes[0].get_title()
    plt.close("all")


def _controls(box):
    return {c.description: c for c in box.children[0].children[0].children + box.children[0].children[1].children}


def test_tuning_ui_classes_and_run(splits):
    box = tuning_ui(splits, epochs=1, models=("rnn",))
    assert "seqlab-ui" in box._dom_classes
    controls = list(_controls(box).values())
    button = [c for c in controls if "seqlab-run" in c._dom_classes]
    assert len(button) == 1 and button[0].description == "Train (1 epochs)"
    assert all("seqlab-no-live" in c._dom_classes for c in controls if c is not button[0])
    button[0].click()  # runs the callback (output capture needs a kernel; no error is the check here)
    plt.close("all")


def test_tuning_ui_disables_controls_that_cannot_act(splits):
    box = tuning_ui(splits, epochs=1)
    c = _controls(box)
    assert not c["dropout"].disabled  # lstm, 2 layers
    c["hidden size"].value = 128
    c["model"].value = "mamba"
    assert c["dropout"].disabled and "Mamba" in c["dropout"].tooltip
    assert max(c["hidden size"].options) == 64 and c["hidden size"].value == 64  # capped d_model
    assert not c["layers"].disabled  # Mamba's layers are its blocks
    c["model"].value = "lstm"
    assert not c["dropout"].disabled and c["dropout"].tooltip is None and 128 in c["hidden size"].options
    c["layers"].value = 1
    assert c["dropout"].disabled and "2+ layers" in c["dropout"].tooltip
    c["layers"].value = 3
    assert not c["dropout"].disabled
    plt.close("all")


def _fingerprint(result):
    return (result["params"], tuple(result["history"].train_loss), tuple(result["history"].val_loss),
            result["val"]["rmse"])


BASE = {"kind": "lstm", "hidden_size": 16, "num_layers": 2, "dropout": 0.2, "lr": 1e-3, "batch_size": 64,
        "alpha": 0.5}
OTHER = {"kind": "gru", "hidden_size": 32, "num_layers": 3, "dropout": 0.1, "lr": 1e-2, "batch_size": 32,
         "alpha": 1.0}


@pytest.mark.parametrize("start", [BASE, {**BASE, "kind": "mamba", "num_layers": 1},
                                   {**BASE, "kind": "rnn", "num_layers": 1}])
def test_each_enabled_control_changes_the_result_and_disabled_ones_cannot(splits, start):
    """The oracle behind the UI's disabling: an enabled control always moves the result, a disabled
    one (``inactive_controls``) never does; the same settings give the same numbers (no time limit)."""
    base = _fingerprint(train_one(**start, splits=splits, epochs=1))
    assert _fingerprint(train_one(**start, splits=splits, epochs=1)) == base  # deterministic
    inactive = inactive_controls(start["kind"], start["num_layers"])
    assert set(inactive) == (set() if start is BASE else {"dropout"})
    for name, value in OTHER.items():
        if name == "kind" and start["kind"] != "lstm":
            value = "lstm"
        changed = _fingerprint(train_one(**{**start, name: value}, splits=splits, epochs=1))
        assert (changed == base) == (name in inactive), name


def test_comparison_draw_changes_with_model_and_period(splits):
    actual = splits.series.loc[splits.months_test]
    preds = {"lstm": actual.to_numpy() + 5.0, "ar": actual.to_numpy() * 0.9}
    one = draw_comparison(actual, preds, "lstm", (2017, 2026))
    other = draw_comparison(actual, preds, "ar", (2017, 2026))
    short = draw_comparison(actual, preds, "lstm", (2023, 2024))
    both = draw_comparison(actual, preds, "all", (2017, 2026))
    assert not np.array_equal(_lines(one)[1], _lines(other)[1])
    assert len(_lines(short)[0]) == 24 and len(_lines(one)[0]) > 24
    assert len(both.axes) == 2 and "lstm 5.0" in both._suptitle.get_text()
    with pytest.raises(ValueError, match="No test months"):
        draw_comparison(actual, preds, "lstm", (1800, 1801))
    box = comparison_ui(actual, preds)
    assert "seqlab-ui" in box._dom_classes
    box.children[0].children[0].value = "ar"  # the observer redraws without error
    plt.close("all")


def test_figures_from_results():
    df = pd.DataFrame({"model": ["rnn", "rnn", "ar", "ar"], "label": ["final", "final", "AR", "AR"],
                       "seed": [0, 1, 0, 1], "rmse": [0.06, 0.058, 0.053, 0.053], "r2": [0.88, 0.89, 0.894, 0.894],
                       "train_time_s": [3.0, 3.2, 0.0, 0.0], "inference_time_s": [0.01, 0.01, 0.0, 0.0]})
    fig = plot_metrics(df)
    heights = [p.get_height() for p in fig.axes[1].patches]
    assert heights == pytest.approx([0.885, 0.894])
    spread = plot_r2_spread(df, reference={"AR(36)": 0.894})
    dots = [c for c in spread.axes[0].collections if type(c).__name__ == "PathCollection"]
    assert [len(c.get_offsets()) for c in dots] == [2, 2]
    class H:
        train_loss, val_loss, best_epoch = [0.3, 0.2], [0.35, 0.25], 2
    assert len(plot_loss_curves({"rnn": H(), "gru": H()}).axes) == 2
    actual = pd.Series([1.0, 2.0, 3.0], index=pd.period_range("2000-01", periods=3, freq="M"))
    with pytest.raises(ValueError, match="must align"):
        plot_predictions(actual, {"x": [1.0, 2.0]})
    plt.close("all")

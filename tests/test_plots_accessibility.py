"""Every lesson figure is readable without colour and described in words.

Each public ``plot_*`` function of seqlab.plots is rendered here on small inputs, and each figure
is checked: labelled lines in one axes differ by line style or marker (not colour alone), their
colours come from the colour-blind-safe palette (or are gray), labelled bar series differ by hatch,
heatmaps use an approved grayscale-monotone colormap, and the figure has a text description. A new
plotting function without a case here fails ``test_every_plot_function_has_a_case``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

import seqlab.plots as plots  # noqa: E402
from seqlab.plots import style  # noqa: E402


class _History:
    def __init__(self, shift=0.0):
        self.train_loss = [1.0 - shift, 0.6, 0.5, 0.45]
        self.val_loss = [1.1, 0.7, 0.65, 0.66]
        self.best_epoch = 3


def _results():
    rows = [{"model": m, "label": m, "seed": s, "rmse": 0.06 + 0.01 * s, "r2": 0.88 + 0.005 * s,
             "train_time_s": 1.0 + s, "inference_time_s": 0.01} for m in ("rnn", "gru", "lstm", "mamba") for s in range(3)]
    return pd.DataFrame(rows)


def _actual():
    index = pd.period_range("2000-01", periods=40, freq="M")
    return pd.Series(np.sin(np.arange(40) / 5.0) * 50 + 60, index=index)


CASES = {
    "plot_gate_mix": lambda: plots.plot_gate_mix(
        {"GRU": {"h_old": np.ones(4) * 0.2, "n": -np.ones(4) * 0.3, "h_new": np.zeros(4)},
         "LSTM": {"c_old": np.ones(4), "g": np.ones(4) * 0.5, "c_new": np.ones(4) * 1.2, "h_new": np.ones(4) * 0.7}}),
    "plot_gate_heatmaps": lambda: plots.plot_gate_heatmaps(
        {"z": np.random.default_rng(0).random((20, 4)), "n": np.tanh(np.random.default_rng(1).normal(size=(20, 4)))},
        series=np.arange(20.0), title="gates"),
    "plot_jacobian_norms": lambda: plots.plot_jacobian_norms(
        {name: 0.9 ** (np.arange(41) * (i + 1)) for i, name in enumerate(["RNN", "GRU", "LSTM"])}),
    "plot_training_runs": lambda: plots.plot_training_runs(
        {name: {"loss": np.linspace(1, 0.5, 60), "grad_norm": np.linspace(2, 1, 60)} for name in ("a", "b", "c", "d")}),
    "plot_loss_curves": lambda: plots.plot_loss_curves({"rnn": _History(), "gru": _History(0.1)}),
    "plot_metrics": lambda: plots.plot_metrics(_results()),
    "plot_predictions": lambda: plots.plot_predictions(
        _actual(), {m: _actual().to_numpy() + i for i, m in enumerate(("rnn", "gru", "lstm"))}),
    "plot_r2_spread": lambda: plots.plot_r2_spread(_results(), reference={"AR(36)": 0.894}),
    "plot_lag_attention": lambda: plots.plot_lag_attention(np.full((5, 140), 1 / 140), months=list("abcde")),
    "plot_cost_vs_length": lambda: plots.plot_cost_vs_length(__import__("seqlab.cost", fromlist=["CostResult"]).CostResult(
        [64, 128, 256], {"softmax": [1e-3, 4e-3, 1.6e-2], "lstm": [2e-3, 4e-3, 8e-3]},
        {"softmax": [1e4, 4e4, 1.6e5], "lstm": [2e4, 4e4, 8e4]}), 128),
    "plot_lag_weights": lambda: plots.plot_lag_weights(np.random.default_rng(0).normal(size=(10, 36)), np.arange(37.0)),
    "plot_impulse_response": lambda: plots.plot_impulse_response(0.1, -1.0),
    "plot_ssm_kernel": lambda: plots.plot_ssm_kernel(torch.rand(3, 20), torch.arange(20.0), torch.arange(20.0)),
    "plot_variant_accuracy": lambda: plots.plot_variant_accuracy(
        pd.DataFrame({"variant": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 2,
                      "accuracy": [0.9, 0.95, 0.92, 0.5, 0.6, 0.55]}), chance=0.125),
}


def _plot_functions():
    return sorted(name for name in dir(plots) if name.startswith("plot_") and callable(getattr(plots, name)))


def test_every_plot_function_has_a_case():
    missing = set(_plot_functions()) - set(CASES)
    assert not missing, f"add a case to CASES in {__file__} for {sorted(missing)}"
    unstyled = [n for n in _plot_functions() if not getattr(getattr(plots, n), "accessible", False)]
    assert not unstyled, f"decorate {unstyled} with seqlab.plots.style.accessible"


def _norm_ls(ls):
    return "None" if ls in (None, "", " ", "None", "none") else str(ls)


def _norm_marker(m):
    return "None" if m in (None, "", " ", "None", "none") else str(m)


def _is_gray(color) -> bool:
    r, g, b, _ = mcolors.to_rgba(color)
    return max(r, g, b) - min(r, g, b) < 1e-6


ALLOWED = {mcolors.to_hex(c) for c in style.PALETTE}


@pytest.fixture(params=sorted(CASES))
def figure(request):
    fig = CASES[request.param]()
    yield request.param, fig
    plt.close(fig)


def test_lines_differ_by_more_than_colour(figure):
    name, fig = figure
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        seen = {}
        for ln in lines:
            key = (_norm_ls(ln.get_linestyle()), _norm_marker(ln.get_marker()))
            assert key not in seen, (f"{name}: lines {seen.get(key)!r} and {ln.get_label()!r} in "
                                     f"'{ax.get_title()}' differ by colour only ({key})")
            seen[key] = ln.get_label()
            color = ln.get_color()
            assert _is_gray(color) or mcolors.to_hex(color) in ALLOWED, f"{name}: {ln.get_label()!r} colour {color}"


def test_bars_differ_by_hatch_and_use_the_palette(figure):
    name, fig = figure
    for ax in fig.axes:
        labelled = [c for c in ax.containers if isinstance(c, BarContainer) and not str(c.get_label()).startswith("_")]
        hatches = [c.patches[0].get_hatch() or "" for c in labelled]
        assert len(set(hatches)) == len(hatches), f"{name}: bar series {[c.get_label() for c in labelled]} share a hatch"
        for patch in ax.patches:
            color = patch.get_facecolor()
            assert _is_gray(color) or mcolors.to_hex(color) in ALLOWED, f"{name}: bar colour {color}"


def test_colormaps_are_approved(figure):
    name, fig = figure
    for ax in fig.axes:
        for mappable in list(ax.get_images()) + [c for c in ax.collections if c.get_array() is not None]:
            assert mappable.get_cmap().name in style.APPROVED_CMAPS, f"{name}: colormap {mappable.get_cmap().name}"


def test_figure_is_described(figure):
    name, fig = figure
    text = plots.alt_text(fig)
    assert len(text) > 40 and getattr(fig, "_seqlab_summary", ""), f"{name} has no description: {text!r}"
    html = style._figure_html(fig)
    assert 'alt="' in html and "<figcaption" in html and "data:image/png;base64," in html


def test_description_names_the_line_styles():
    fig = plots.plot_jacobian_norms({"RNN": np.ones(5), "GRU": np.ones(5) * 0.5})
    text = plots.alt_text(fig)
    assert "RNN: solid line with circles" in text and "GRU: dashed line with squares" in text
    plt.close(fig)


def test_series_style_is_stable_per_model_and_distinct():
    assert plots.series_style("lstm") == plots.series_style("LSTM (h 64)")
    styles = [plots.series_style(i) for i in range(len(style.PALETTE))]
    assert len({(s["linestyle"], s["marker"]) for s in styles}) == len(styles)
    assert len({s["color"] for s in styles}) == len(styles)


def test_notebook_display_shows_image_with_alt_text_and_caption():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        style._register_with_ipython()
        fig = plots.plot_impulse_response(0.1, -1.0)
        data, _ = shell.display_formatter.format(fig)
        assert "text/html" in data and 'alt="Impulse response' in data["text/html"]
        plain = plt.figure()  # not one of ours: no HTML, IPython shows it as before
        data, _ = shell.display_formatter.format(plain)
        assert "text/html" not in data
    finally:
        plt.close("all")
        InteractiveShell.clear_instance()

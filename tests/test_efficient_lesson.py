"""Lesson 06 helpers: the cost sweep (slopes, crossovers, memory), its figure and the length widget."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

from seqlab.cost import CostResult, crossovers, log_log_slope, peak_memory_bytes, sweep
from seqlab.plots.attention import last_query_attention, plot_cost_vs_length, plot_lag_attention, plot_lag_weights
from seqlab.widgets.attention import cost_explorer, cost_summary

matplotlib.use("Agg")


def _fake_result():
    lengths = [64, 128, 256, 512, 1024]
    soft = [1e-4 * (L / 64) ** 2 for L in lengths]  # quadratic
    lin = [4e-4 * (L / 64) for L in lengths]  # linear, 4x dearer at 64
    return CostResult(lengths, {"softmax": soft, "linear": lin, "lstm": [1.0] * 5},
                      {"softmax": [L * L * 4.0 for L in lengths], "linear": [L * 1e4 for L in lengths], "lstm": [1e5] * 5})


def test_slope_and_crossover_on_known_curves():
    r = _fake_result()
    assert log_log_slope(r.lengths, r.seconds["softmax"], above=128) == pytest.approx(2.0)
    assert log_log_slope(r.lengths, r.seconds["linear"], above=128) == pytest.approx(1.0)
    assert math.isnan(log_log_slope([64, 128], [1.0, 2.0], above=512))
    cross = crossovers(r.lengths, r.seconds["softmax"], {"linear": r.seconds["linear"], "lstm": r.seconds["lstm"]})
    # 1e-4 (L/64)^2 = 4e-4 (L/64)  <=>  L = 256; softmax never reaches 1 s here
    assert cross["linear"] == pytest.approx(256.0)
    assert cross["lstm"] is None


def test_peak_memory_grows_quadratically_for_softmax_and_linearly_for_linear_attention():
    from seqlab.attention import linear_attention, softmax_attention

    peaks = {}
    for L in (256, 512):
        q = torch.randn(1, 1, L, 64, requires_grad=True)
        peaks[("softmax", L)] = peak_memory_bytes(lambda: softmax_attention(q, q, q).sum().backward())
        peaks[("linear", L)] = peak_memory_bytes(lambda: linear_attention(q, q, q).sum().backward())
    soft = peaks[("softmax", 512)] / peaks[("softmax", 256)]
    lin = peaks[("linear", 512)] / peaks[("linear", 256)]
    assert 3.2 < soft < 4.5 and 1.7 < lin < 2.3, (soft, lin)
    # the L x L scores alone are L^2 floats: the measured peak holds at least that
    assert peaks[("softmax", 512)] >= 512 * 512 * 4


def test_sweep_measures_and_skips_with_a_note():
    r = sweep(lengths=(16, 32, 64), names=("softmax", "lstm"), reps=1, max_call_s=10.0)
    assert set(r.seconds) == {"softmax", "lstm"} and all(len(v) == 3 for v in r.seconds.values())
    assert all(t > 0 for v in r.seconds.values() for t in v) and all(m > 0 for m in r.memory["softmax"])
    r = sweep(lengths=(16, 32, 64), names=("lstm",), reps=1, max_call_s=1e-9)
    assert math.isnan(r.seconds["lstm"][2]) and "lstm at L=64" in r.skipped[0]
    assert len(r.table()) == 3


def test_cost_summary_and_widget_follow_the_length(monkeypatch):
    import seqlab.widgets.attention as ui

    r = _fake_result()
    text = cost_summary(r, 512)
    assert "L = 512" in text and "linear" in text and "lstm" in text and "~256" in text
    assert cost_summary(r, 64) != text
    drawn = []
    real = ui.plot_cost_vs_length
    monkeypatch.setattr(ui, "plot_cost_vs_length", lambda res, L: drawn.append(L) or real(res, L))
    box = cost_explorer(r, length=128)
    assert "seqlab-ui" in box._dom_classes
    box.children[0].value = 1024
    assert drawn == [128, 1024]


def test_lesson_figures_draw():
    r = _fake_result()
    fig = plot_cost_vs_length(r, 256)
    assert len(fig.axes[0].lines) == 4  # three contenders and the marker
    matplotlib.pyplot.close(fig)
    weights = torch.softmax(torch.randn(3, 2, 150, 150).masked_fill(~torch.ones(150, 150, dtype=torch.bool).tril(),
                                                                      float("-inf")), -1)
    lag = last_query_attention(weights)
    assert lag.shape == (3, 150)
    np.testing.assert_allclose(lag[:, 0], weights.mean(1)[:, -1, -1].numpy(), rtol=1e-6)  # lag 1 = the newest month
    fig = plot_lag_attention(lag, months=[f"m{i}" for i in range(3)])
    matplotlib.pyplot.close(fig)
    fig = plot_lag_weights(np.random.default_rng(0).normal(size=(10, 36)), np.arange(37.0))
    assert fig.axes[0].lines[1].get_ydata()[0] == 36.0  # AR's newest-month coefficient at lag 1
    matplotlib.pyplot.close(fig)

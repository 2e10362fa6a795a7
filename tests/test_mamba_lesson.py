"""Lesson 05 helpers: the parallel scan, the impulse-response plot and the Δ/A widget."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

from seqlab.mamba import selective_scan_sequential
from seqlab.mamba.parallel import combine, hillis_steele_scan
from seqlab.plots.ssm import impulse_response, memory_half_life, plot_impulse_response
from seqlab.widgets.ssm import memory_summary, ssm_memory_explorer

matplotlib.use("Agg")


def loop_scan(a, b):
    h, hs = torch.zeros_like(a[..., 0]), []
    for t in range(a.shape[-1]):
        h = a[..., t] * h + b[..., t]
        hs.append(h)
    return torch.stack(hs, dim=-1)


@pytest.mark.parametrize("length", [1, 2, 7, 16, 33])
def test_hillis_steele_equals_the_loop_values_and_gradients(length):
    g = torch.Generator().manual_seed(length)
    a = torch.rand(2, 3, length, generator=g, dtype=torch.float64).requires_grad_()
    b = torch.randn(2, 3, length, generator=g, dtype=torch.float64).requires_grad_()
    h_par, h_loop = hillis_steele_scan(a, b), loop_scan(a, b)
    torch.testing.assert_close(h_par, h_loop)
    w = torch.randn(h_loop.shape, generator=g, dtype=torch.float64)
    kw = dict(allow_unused=True, materialize_grads=True)  # a_0 never matters: h_{-1} = 0
    torch.testing.assert_close(
        torch.autograd.grad((h_par * w).sum(), (a, b), **kw), torch.autograd.grad((h_loop * w).sum(), (a, b), **kw)
    )


def test_combine_is_associative_and_not_commutative():
    g = torch.Generator().manual_seed(0)
    s1, s2, s3 = [(torch.rand(4, generator=g), torch.randn(4, generator=g)) for _ in range(3)]
    left, right = combine(combine(s1, s2), s3), combine(s1, combine(s2, s3))
    torch.testing.assert_close(left, right)
    assert not torch.allclose(combine(s1, s2)[1], combine(s2, s1)[1])


def test_impulse_response_is_delta_times_abar_to_the_t():
    y = impulse_response(0.3, -2.0, length=10)
    np.testing.assert_allclose(y, 0.3 * np.exp(-0.6) ** np.arange(10), rtol=1e-12)
    assert memory_half_life(0.3, -2.0) == pytest.approx(math.log(2) / 0.6)
    # at the half-life the response has halved
    half = impulse_response(0.05, -1.0, length=200)
    t = memory_half_life(0.05, -1.0)
    assert np.interp(t, np.arange(200), half / half[0]) == pytest.approx(0.5, abs=1e-3)
    with pytest.raises(ValueError, match="A < 0"):
        impulse_response(0.1, 1.0)


def test_plot_and_summary_change_with_delta_and_A():
    curves = []
    for delta, A in [(0.1, -1.0), (1.0, -1.0), (0.1, -8.0)]:
        fig = plot_impulse_response(delta, A, length=24)
        curves.append(fig.axes[0].lines[-2 if memory_half_life(delta, A) < 24 else -1].get_ydata().copy())
        matplotlib.pyplot.close(fig)
    assert not np.allclose(curves[0], curves[1]) and not np.allclose(curves[0], curves[2])
    assert memory_summary(0.1, -1.0) != memory_summary(1.0, -1.0) != memory_summary(1.0, -3.0)
    assert "90.5%" in memory_summary(0.1, -1.0)  # exp(-0.1)


def test_widget_redraws_when_a_slider_moves(monkeypatch):
    import seqlab.widgets.ssm as ui

    drawn = []
    real = ui.plot_impulse_response
    monkeypatch.setattr(ui, "plot_impulse_response", lambda d, a, n: drawn.append((d, a)) or real(d, a, n))
    box = ssm_memory_explorer()
    assert "seqlab-ui" in box._dom_classes
    delta_slider, A_slider = box.children[0].children
    delta_slider.value = 2.0
    A_slider.value = -5.0
    assert drawn == [(0.1, -1.0), (2.0, -1.0), (2.0, -5.0)]


def test_impulse_response_uses_the_scan():
    # the same numbers straight from the reference scan, float32
    u = torch.zeros(1, 1, 5)
    u[..., 0] = 1
    ones = torch.ones(1, 1, 5)
    y = selective_scan_sequential(u, 0.5 * ones, torch.tensor([[-1.0]]), ones, ones)
    np.testing.assert_allclose(impulse_response(0.5, -1.0, 5), y[0, 0].numpy(), rtol=1e-6)


def test_variant_accuracy_plot_draws_every_seed_and_the_means():
    import pandas as pd

    from seqlab.plots.ssm import plot_variant_accuracy

    results = pd.DataFrame({"variant": ["selective"] * 3 + ["time-invariant"] * 3, "seed": [0, 1, 2] * 2,
                            "accuracy": [0.9, 0.8, 0.85, 0.4, 0.5, 0.45]})
    fig = plot_variant_accuracy(results, chance=0.125)
    ax = fig.axes[0]
    points = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets()) == 3])
    np.testing.assert_allclose(sorted(points[:, 1]), sorted(results.accuracy))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["selective", "time-invariant"]
    assert "selective 0.85 ± 0.05" in fig._seqlab_summary and "time-invariant 0.45 ± 0.05" in fig._seqlab_summary
    matplotlib.pyplot.close(fig)

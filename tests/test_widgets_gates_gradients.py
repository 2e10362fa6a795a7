"""Lesson 01/02 widgets and figures: callbacks checked against torch.nn and gradflow, then moved.

nbval fires a widget once; these tests move every control at least twice and check the output
changes each time."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from torch import nn

from seqlab import gradflow as gf
from seqlab.plots import plot_gate_heatmaps, plot_gate_mix, plot_jacobian_norms, plot_training_runs
from seqlab.widgets import gates as gate_widgets
from seqlab.widgets import (
    gate_mix_state,
    gate_mix_ui,
    gradient_flow_curves,
    gradient_flow_summary,
    gradient_flow_ui,
)

BIG = 1e4  # sigmoid(+-BIG) is exactly 1 or 0 in float32


def _torch_cells(hidden_size=5, seed=0):
    """torch.nn cells with the widget's fixed weights, x, h, c."""
    gru, lstm, x, h, c = gate_widgets._fixed_example(hidden_size, seed)
    nn_gru, nn_lstm = nn.GRUCell(3, hidden_size), nn.LSTMCell(3, hidden_size)
    nn_gru.load_state_dict(gru.state_dict())
    nn_lstm.load_state_dict(lstm.state_dict())
    return nn_gru, nn_lstm, x, h, c


@torch.no_grad()
def test_gru_candidate_matches_torch_with_gates_pinned():
    nn_gru, _, x, h, _ = _torch_cells()
    H = 5
    # pin r = 1 and z = 0 through the biases: then torch's h' is the candidate n
    nn_gru.bias_ih[:H] += BIG
    nn_gru.bias_ih[H : 2 * H] -= BIG
    state = gate_mix_state(z=0.0, r=1.0)
    np.testing.assert_allclose(state["GRU"]["n"], nn_gru(x[None], h[None])[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(state["GRU"]["h_new"], state["GRU"]["n"], atol=1e-7)
    # r = 0 ignores W_hn h + b_hn: torch with b_ir = -BIG gives that n
    nn_gru.bias_ih[:H] -= 2 * BIG
    np.testing.assert_allclose(gate_mix_state(z=0.0, r=0.0)["GRU"]["n"],
                               nn_gru(x[None], h[None])[0].numpy(), atol=1e-6)


@torch.no_grad()
def test_lstm_pieces_match_torch_with_gates_pinned():
    _, nn_lstm, x, h, c = _torch_cells()
    H = 5
    nn_lstm.bias_ih[:H] += BIG  # i = 1
    nn_lstm.bias_ih[H : 2 * H] -= BIG  # f = 0
    nn_lstm.bias_ih[3 * H :] += BIG  # o = 1  -> c' = g, h' = tanh(g)
    h_torch, c_torch = nn_lstm(x[None], (h[None], c[None]))
    state = gate_mix_state(i=1.0, f=0.0, o=1.0)["LSTM"]
    np.testing.assert_allclose(state["g"], c_torch[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(state["h_new"], h_torch[0].numpy(), atol=1e-6)


def test_gate_mix_limits_and_interpolation():
    keep = gate_mix_state(z=1.0, f=1.0, i=0.0)
    np.testing.assert_allclose(keep["GRU"]["h_new"], keep["GRU"]["h_old"])  # z = 1 keeps h (PyTorch)
    np.testing.assert_allclose(keep["LSTM"]["c_new"], keep["LSTM"]["c_old"])  # f = 1, i = 0 keeps c
    for z in (0.2, 0.7):
        s = gate_mix_state(z=z)["GRU"]
        np.testing.assert_allclose(s["h_new"], (1 - z) * s["n"] + z * s["h_old"], atol=1e-6)
    s = gate_mix_state(o=0.3)["LSTM"]
    np.testing.assert_allclose(s["h_new"], 0.3 * np.tanh(s["c_new"]), atol=1e-6)
    assert np.all(gate_mix_state(o=0.0)["LSTM"]["h_new"] == 0)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        gate_mix_state(z=1.5)


def _snapshot(output):
    return tuple((o.get("data", {}).get("image/png"), o.get("text")) for o in output.outputs)


def test_gate_mix_ui_every_slider_redraws():
    ui = gate_mix_ui()
    assert "seqlab-ui" in ui._dom_classes
    seen = [_snapshot(ui.output)]
    assert seen[0][0][0] is not None and "h_new" in seen[0][1][1]  # a PNG and the text readout
    moves = [("z", 0.1), ("z", 0.9), ("r", 0.0), ("r", 0.6), ("i", 0.0), ("i", 1.0),
             ("f", 0.2), ("f", 0.95), ("o", 0.1), ("o", 0.8)]
    for name, v in moves:
        ui.controls[name].value = v
        seen.append(_snapshot(ui.output))
        assert seen[-1][0][0] != seen[-2][0][0], f"moving {name} to {v} did not redraw the plot"
        assert seen[-1][1][1] != seen[-2][1][1], f"moving {name} to {v} did not change the readout"


def test_gradient_flow_curves_are_gradflow_measurements_and_move():
    a = gradient_flow_curves(seq_len=40, spectral_radius=0.8, nonlinearity="tanh", gate_bias=0.0, hidden_size=8)
    np.testing.assert_allclose(a["RNN (tanh)"], gf.jacobian_norms("rnn", 40, 8, spectral_radius=0.8))
    np.testing.assert_allclose(a["GRU (z bias +0)"], gf.jacobian_norms("gru", 40, 8, spectral_radius=0.8, gate_bias=0.0))
    b = gradient_flow_curves(seq_len=40, spectral_radius=0.8, nonlinearity="tanh", gate_bias=3.0, hidden_size=8)
    assert b["GRU (z bias +3)"][40] > 100 * a["GRU (z bias +0)"][40]  # the update gate carries h
    c = gradient_flow_curves(seq_len=40, spectral_radius=1.5, nonlinearity="linear", gate_bias=0.0, hidden_size=8)
    assert c["RNN (linear)"][40] >= 1.5**40 * (1 - 1e-9)  # ||W^k|| >= rho^k
    assert "horizon(1%)" in gradient_flow_summary(a)


def test_gradient_flow_ui_every_control_redraws():
    ui = gradient_flow_ui(hidden_size=8)
    assert "seqlab-ui" in ui._dom_classes
    seen = [_snapshot(ui.output)]
    moves = [("seq_len", 30), ("seq_len", 60), ("spectral_radius", 0.5), ("spectral_radius", 1.6),
             ("nonlinearity", "relu"), ("nonlinearity", "linear"), ("gate_bias", 2.0), ("gate_bias", 4.0)]
    for name, v in moves:
        ui.controls[name].value = v
        seen.append(_snapshot(ui.output))
        assert seen[-1][0][0] != seen[-2][0][0], f"moving {name} to {v} did not redraw the plot"
        assert seen[-1][1][1] != seen[-2][1][1], f"moving {name} to {v} did not change the readout"


def test_plots_draw_the_data_they_are_given():
    gates = {"r": np.random.default_rng(0).random((30, 4)), "n": np.tanh(np.random.default_rng(1).normal(size=(30, 4)))}
    fig = plot_gate_heatmaps(gates, series=np.arange(30.0), time_index=list(range(1900, 1930)))
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 2
    np.testing.assert_allclose(images[0].get_array(), gates["r"].T)
    np.testing.assert_allclose(images[1].get_array(), gates["n"].T)

    curves = {"a": np.array([1.0, 0.5, 0.0]), "b": np.array([1.0, 2.0, 4.0])}
    fig = plot_jacobian_norms(curves)
    lines = {l.get_label(): l for l in fig.axes[0].get_lines()}
    np.testing.assert_allclose(lines["b"].get_ydata(), [1, 2, 4])
    assert np.isnan(lines["a"].get_ydata()[2])  # an exact zero is not drawn on a log axis

    runs = {"x": {"loss": np.array([1.0, 0.5, np.nan]), "grad_norm": np.array([1.0, np.inf, np.nan])}}
    fig = plot_training_runs(runs)
    assert len(fig.axes) == 2
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata()[:2], [1.0, 0.5])

    fig = plot_gate_mix(gate_mix_state())
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 3 * 5

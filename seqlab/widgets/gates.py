"""Lesson 01 widget: set the gates by hand and watch the new state move between old and candidate.

GRU (torch.nn.GRUCell):  n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
LSTM (torch.nn.LSTMCell): g = tanh(W_ig x + b_ig + W_hg h + b_hg),  c' = f * c + i * g,  h' = o * tanh(c')

The gates are normally computed from x and h; here each slider overrides one gate with a single
value for all units, so the only thing that changes is how the pieces are mixed. Weights, x, h
and c are fixed random draws (seeded), the same every time.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import torch

from ..plots.gates import plot_gate_mix
from ..scratch import GRUCell, LSTMCell
from .display import show_in_output

__all__ = ["gate_mix_state", "gate_mix_readout", "gate_mix_ui"]


def _fixed_example(hidden_size: int, seed: int):
    """A seeded GRU and LSTM cell (input_size 3) and fixed x (3,), h (H,), c (H,)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    gru, lstm = GRUCell(3, hidden_size), LSTMCell(3, hidden_size)
    with torch.no_grad():  # larger weights than the default init, so the candidates are not all ~0
        for cell in (gru, lstm):
            for p in cell.parameters():
                p.mul_(2.0)
    x = torch.randn(3, generator=g)
    h = torch.tanh(2 * torch.randn(hidden_size, generator=g))
    c = 1.5 * torch.tanh(torch.randn(hidden_size, generator=g))
    return gru, lstm, x, h, c


@torch.no_grad()
def gate_mix_state(
    z: float = 0.5, r: float = 1.0, i: float = 0.5, f: float = 0.5, o: float = 1.0,
    *, hidden_size: int = 5, seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """The new GRU and LSTM states with the gates set by hand (each gate one value in [0, 1]).

    Returns {"GRU": {"h_old", "n", "h_new"}, "LSTM": {"c_old", "g", "c_new", "h_new"}}, each (H,).
    """
    for name, value in dict(z=z, r=r, i=i, f=f, o=o).items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"gate {name} must be in [0, 1] (a sigmoid output), got {value}")
    gru, lstm, x, h, c = _fixed_example(hidden_size, seed)
    H = hidden_size
    x_n = gru.weight_ih[2 * H :] @ x + gru.bias_ih[2 * H :]  # (H,) chunk 2 = n, gate order r, z, n
    h_n = gru.weight_hh[2 * H :] @ h + gru.bias_hh[2 * H :]
    n = torch.tanh(x_n + r * h_n)
    gru_h_new = (1 - z) * n + z * h
    pre_g = lstm.weight_ih[2 * H : 3 * H] @ x + lstm.bias_ih[2 * H : 3 * H]  # chunk 2 = g (i, f, g, o)
    pre_g = pre_g + lstm.weight_hh[2 * H : 3 * H] @ h + lstm.bias_hh[2 * H : 3 * H]
    g = torch.tanh(pre_g)
    c_new = f * c + i * g
    lstm_h_new = o * torch.tanh(c_new)
    return {
        "GRU": {"h_old": h.numpy(), "n": n.numpy(), "h_new": gru_h_new.numpy()},
        "LSTM": {"c_old": c.numpy(), "g": g.numpy(), "c_new": c_new.numpy(), "h_new": lstm_h_new.numpy()},
    }


def gate_mix_readout(state: dict[str, dict[str, np.ndarray]]) -> str:
    """A text table of the vectors in ``state`` (2 decimals), one line per vector."""
    lines = []
    for cell, vectors in state.items():
        for name, v in vectors.items():
            lines.append(f"{cell:4s} {name:6s} " + " ".join(f"{x:+.2f}" for x in v))
    return "\n".join(lines)


def gate_mix_ui(hidden_size: int = 5, seed: int = 0) -> W.VBox:
    """Sliders for the GRU gates z, r and the LSTM gates i, f, o; bars and a text readout.

    Returns the container (DOM class ``seqlab-ui``); every slider redraws live.
    """
    def slider(description, value):
        return W.FloatSlider(value=value, min=0.0, max=1.0, step=0.05, description=description,
                             continuous_update=True, readout_format=".2f")

    sliders = {
        "z": slider("GRU z", 0.5), "r": slider("GRU r", 1.0),
        "i": slider("LSTM i", 0.5), "f": slider("LSTM f", 0.5), "o": slider("LSTM o", 1.0),
    }
    out = W.Output()

    def redraw(_=None):
        state = gate_mix_state(**{k: s.value for k, s in sliders.items()}, hidden_size=hidden_size, seed=seed)
        # fixed axes: |h|, |n|, |g| <= 1 and |c'| <= |c| + 1
        ylims = {"GRU": 1.05, "LSTM": 1.05 * (1 + float(np.abs(state["LSTM"]["c_old"]).max()))}
        show_in_output(out, plot_gate_mix(state, ylims=ylims), gate_mix_readout(state))

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([sliders["z"], sliders["r"]]),
                  W.HBox([sliders["i"], sliders["f"], sliders["o"]]), out])
    box.add_class("seqlab-ui")
    box.controls, box.output = sliders, out  # handles for tests
    return box

"""RNN, GRU and LSTM cells from scratch: one time step, written to be read.

Drop-in for ``torch.nn.RNNCell`` / ``GRUCell`` / ``LSTMCell``: same constructor, parameter
names and shapes, initialisation, forward signature and return values, same equations and gate
order. Equations as in the torch.nn docs:
https://pytorch.org/docs/stable/generated/torch.nn.RNNCell.html
https://pytorch.org/docs/stable/generated/torch.nn.GRUCell.html
https://pytorch.org/docs/stable/generated/torch.nn.LSTMCell.html

Glossary
    N  batch size (absent for unbatched input)
    I  input_size, number of input features
    H  hidden_size, number of hidden (and cell) features
    G  number of gate blocks stacked in the weights: RNN 1, GRU 3 (r, z, n), LSTM 4 (i, f, g, o)
    x  input at this step (N, I);  h  hidden state (N, H);  c  LSTM cell state (N, H)
    W_ih (G*H, I), W_hh (G*H, H), b_ih (G*H,), b_hh (G*H,): gate blocks stacked in gate order,
       e.g. GRU W_ih = [W_ir; W_iz; W_in]
    sigma  logistic sigmoid;  *  elementwise product

Each cell has ``forward_with_gates(input, hx)`` returning the new state and a dict of the
gate activations (shape like the state), for the lessons' plots; ``forward`` is the same
computation without the dict. The pure step functions ``rnn_step``, ``gru_step`` and
``lstm_step`` below are the reference that the multi-layer modules' reference path reuses.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import _checks

__all__ = ["RNNCell", "GRUCell", "LSTMCell", "rnn_step", "gru_step", "lstm_step"]


# --- the equations, as plain functions on batched tensors (N, I), (N, H) --------------------


def rnn_step(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """One Elman RNN step.

        pre = W_ih x + b_ih + W_hh h + b_hh
        h'  = tanh(pre)        (or relu(pre) when nonlinearity="relu")

    Args: x (N, I), h (N, H), weights as in the glossary.
    Returns: h' (N, H) and gates ``{"pre": pre}`` (N, H), the pre-activation, whose
    derivative tanh'(pre) = 1 - h'^2 is what the gradient lesson looks at.
    """
    pre = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)  # (N, H)
    h_new = torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)
    return h_new, {"pre": pre}


def gru_step(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU step, gate order r, z, n as in torch.nn.GRUCell.

        r  = sigma(W_ir x + b_ir + W_hr h + b_hr)          reset gate
        z  = sigma(W_iz x + b_iz + W_hz h + b_hz)          update gate
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))     candidate (r inside, on W_hn h + b_hn)
        h' = (1 - z) * n + z * h

    Args: x (N, I), h (N, H), weights as in the glossary.
    Returns: h' (N, H) and gates ``{"r", "z", "n"}``, each (N, H).
    """
    x_r, x_z, x_n = F.linear(x, weight_ih, bias_ih).chunk(3, dim=1)  # 3 x (N, H)
    h_r, h_z, h_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=1)  # 3 x (N, H)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    h_new = (1 - z) * n + z * h
    return h_new, {"r": r, "z": z, "n": n}


def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step, gate order i, f, g, o as in torch.nn.LSTMCell.

        i  = sigma(W_ii x + b_ii + W_hi h + b_hi)     input gate
        f  = sigma(W_if x + b_if + W_hf h + b_hf)     forget gate
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)      candidate cell
        o  = sigma(W_io x + b_io + W_ho h + b_ho)     output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    Args: x (N, I), h (N, H), c (N, H), weights as in the glossary.
    Returns: (h', c') each (N, H) and gates ``{"i", "f", "g", "o", "c"}`` (c = c'), each (N, H).
    """
    pre = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)  # (N, 4H)
    pre_i, pre_f, pre_g, pre_o = pre.chunk(4, dim=1)  # 4 x (N, H)
    i = torch.sigmoid(pre_i)
    f = torch.sigmoid(pre_f)
    g = torch.tanh(pre_g)
    o = torch.sigmoid(pre_o)
    c_new = f * c + i * g
    h_new = o * torch.tanh(c_new)
    return (h_new, c_new), {"i": i, "f": f, "g": g, "o": o, "c": c_new}


# --- the modules ----------------------------------------------------------------------------


class _CellBase(nn.Module):
    """Parameters, initialisation and input handling shared by the three cells."""

    num_gates = 1  # G, overridden

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gh = self.num_gates * hidden_size
        # Registered in torch.nn's order, so the same seed gives the same initial weights.
        self.weight_ih = nn.Parameter(torch.empty(gh, input_size, **factory))  # (G*H, I)
        self.weight_hh = nn.Parameter(torch.empty(gh, hidden_size, **factory))  # (G*H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(gh, **factory))  # (G*H,)
            self.bias_hh = nn.Parameter(torch.empty(gh, **factory))  # (G*H,)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as torch.nn does."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _prepare(self, input, state, what="hx", index=0):
        """Check input/state; return batched input (N, I), batched state (N, H), is_batched."""
        batched = _checks.check_cell_input(self, input)
        if state is None:
            n = input.shape[0] if batched else 1
            state = torch.zeros(n, self.hidden_size, dtype=input.dtype, device=input.device)
        else:
            _checks.check_cell_state(self, input, state, what, index)
            state = state if batched else state.unsqueeze(0)
        _checks.check_dtype(input, self.weight_ih.dtype, "input", type(self).__name__)
        return (input if batched else input.unsqueeze(0)), state, batched


def _unbatch(tensors: dict, batched: bool) -> dict:
    return tensors if batched else {k: v.squeeze(0) for k, v in tensors.items()}


class RNNCell(_CellBase):
    """Elman RNN cell: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu).

    Args: input_size (I), hidden_size (H), bias, nonlinearity ("tanh" or "relu"), device, dtype.
    Input: input (N, I) or (I,); hx (N, H) or (H,), zeros when None.
    Output: h' (N, H) or (H,).
    Gates of ``forward_with_gates``: ``{"pre": pre-activation}``.
    """

    num_gates = 1

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: unknown nonlinearity {nonlinearity!r}, expected 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward_with_gates(self, input: Tensor, hx: Tensor | None = None):
        x, h, batched = self._prepare(input, hx)
        h_new, gates = rnn_step(x, h, *self._weights(), nonlinearity=self.nonlinearity)
        return (h_new if batched else h_new.squeeze(0)), _unbatch(gates, batched)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self.forward_with_gates(input, hx)[0]


class GRUCell(_CellBase):
    """GRU cell with torch.nn.GRUCell's equations and gate order (r, z, n); see ``gru_step``.

    Args: input_size (I), hidden_size (H), bias, device, dtype.
    Input: input (N, I) or (I,); hx (N, H) or (H,), zeros when None.
    Output: h' (N, H) or (H,).
    Gates of ``forward_with_gates``: ``{"r", "z", "n"}``, with h' = (1 - z) * n + z * h.
    """

    num_gates = 3

    def forward_with_gates(self, input: Tensor, hx: Tensor | None = None):
        x, h, batched = self._prepare(input, hx)
        h_new, gates = gru_step(x, h, *self._weights())
        return (h_new if batched else h_new.squeeze(0)), _unbatch(gates, batched)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self.forward_with_gates(input, hx)[0]


class LSTMCell(_CellBase):
    """LSTM cell with torch.nn.LSTMCell's equations and gate order (i, f, g, o); see ``lstm_step``.

    Args: input_size (I), hidden_size (H), bias, device, dtype.
    Input: input (N, I) or (I,); hx = (h_0, c_0), each (N, H) or (H,), zeros when None.
    Output: (h_1, c_1), each (N, H) or (H,).
    Gates of ``forward_with_gates``: ``{"i", "f", "g", "o", "c"}`` where "c" is c_1.
    """

    num_gates = 4

    def forward_with_gates(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        if hx is None:
            h0 = c0 = None
        else:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise ValueError(
                    f"LSTMCell: hx must be a tuple (h_0, c_0) of two tensors, got "
                    f"{type(hx).__name__}. Fix: pass hx=(h_0, c_0), or none for zeros."
                )
            h0, c0 = hx
            if c0 is None or h0 is None:
                raise ValueError("LSTMCell: hx=(h_0, c_0) needs both tensors, got a None.")
        x, h, batched = self._prepare(input, h0, "h_0")
        _, c, _ = self._prepare(input, c0, "c_0", index=1)
        (h_new, c_new), gates = lstm_step(x, h, c, *self._weights())
        if not batched:
            h_new, c_new = h_new.squeeze(0), c_new.squeeze(0)
        return (h_new, c_new), _unbatch(gates, batched)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        return self.forward_with_gates(input, hx)[0]

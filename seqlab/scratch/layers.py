"""Multi-layer, optionally bidirectional RNN, GRU and LSTM, drop-in for torch.nn's.

Same constructor, forward signature, return values and ``state_dict`` keys as
``torch.nn.RNN`` / ``GRU`` / ``LSTM`` (https://pytorch.org/docs/stable/nn.html#recurrent-layers),
so weights load both ways. Layer ``l`` reads the output of layer ``l - 1`` (both directions
concatenated), with dropout between layers in training mode only, never after the last.

Glossary
    L  sequence length;  N  batch;  I  input_size;  H  hidden_size
    D  number of directions (2 when bidirectional);  K = num_layers * D rows of h_n,
       row ``layer * D + direction`` like torch.nn

Two implementations of one layer/direction, picked by ``fast_path`` (default True):
- fast (fast_path.py): whole-sequence input projection and a hand-written backward through
  time; what you train with.
- reference: the cells' step functions (cells.py) called once per time step under autograd;
  what you read. Both are tested against torch.nn to float tolerance.

Extras over torch.nn: keyword-only ``fast_path`` in the constructor, and
``forward(..., return_gates=True)``, which appends a dict of gate activations, each
(K, L, N, H) (unbatched: (K, L, H)), time in natural order for both directions. With the fast
path the gates are detached (for plotting; "c" of the LSTM excepted); use
``fast_path=False`` to backpropagate through them.
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import _checks
from .cells import gru_step, lstm_step, rnn_step
from .fast_path import gru_layer, lstm_layer, rnn_layer

__all__ = ["RNN", "GRU", "LSTM"]


class _RNNBase(nn.Module):
    mode = ""  # "RNN", "GRU" or "LSTM"
    num_gates = 1  # G: gate blocks stacked in each weight

    def __init__(
        self, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        device, dtype, nonlinearity="tanh", fast_path=True,
    ):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                f"{type(self).__name__}: dropout should be a number in [0, 1] giving the "
                f"probability of zeroing an element between layers, got {dropout!r}."
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"dropout={dropout} has no effect with num_layers=1: dropout is applied between "
                "layers only (not after the last), as in torch.nn.",
                stacklevel=3,
            )
        for name, value in [("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)]:
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"{type(self).__name__}: {name} must be a positive int, got {value!r}."
                )
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}, expected 'tanh' or 'relu'.")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.nonlinearity = nonlinearity
        self.proj_size = 0
        self.fast_path = fast_path
        factory = {"device": device, "dtype": dtype}
        num_directions = 2 if bidirectional else 1
        gh = self.num_gates * hidden_size
        # Registered in torch.nn's order (layer, direction, w_ih, w_hh, b_ih, b_hh) so the same
        # seed gives the same weights and state_dict keys match.
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * num_directions
            for direction in range(num_directions):
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                self.register_parameter("weight_ih" + sfx, nn.Parameter(torch.empty(gh, layer_input, **factory)))
                self.register_parameter("weight_hh" + sfx, nn.Parameter(torch.empty(gh, hidden_size, **factory)))
                if bias:
                    self.register_parameter("bias_ih" + sfx, nn.Parameter(torch.empty(gh, **factory)))
                    self.register_parameter("bias_hh" + sfx, nn.Parameter(torch.empty(gh, **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as torch.nn does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        for name, default in [("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)]:
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        if not self.fast_path:
            s += ", fast_path=False"
        return s

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_weights(self, layer: int, direction: int):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer/direction; biases may be None."""
        sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = lambda name: getattr(self, name + sfx, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def flatten_parameters(self) -> None:
        """No-op, for code written for torch.nn (which packs weights for cuDNN here)."""

    @property
    def all_weights(self):
        return [
            [w for w in self.layer_weights(layer, d) if w is not None]
            for layer in range(self.num_layers)
            for d in range(self.num_directions)
        ]

    # --- one layer, one direction ---------------------------------------------------------

    def _run_direction(self, x, state, weights, reverse):
        """x (L, N, I_layer); state tuple of (N, H). Returns out (L, N, H), final states, gates."""
        if self.fast_path:
            if self.mode == "LSTM":
                out, c_all, gates = lstm_layer(x, *state, *weights, reverse=reverse)
            elif self.mode == "GRU":
                out, gates = gru_layer(x, *state, *weights, reverse=reverse)
            else:
                out, gates = rnn_layer(x, *state, *weights, reverse, self.nonlinearity)
            last = 0 if reverse else -1
            final = (out[last], c_all[last]) if self.mode == "LSTM" else (out[last],)
            return out, final, gates
        return self._reference_direction(x, state, weights, reverse)

    def _reference_direction(self, x, state, weights, reverse):
        """Step the cell equations (cells.py) through time, under autograd."""
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outs, gate_steps = [None] * x.shape[0], [None] * x.shape[0]
        for t in steps:
            if self.mode == "LSTM":
                state, gates = lstm_step(x[t], *state, *weights)
            elif self.mode == "GRU":
                h, gates = gru_step(x[t], *state, *weights)
                state = (h,)
            else:
                h, gates = rnn_step(x[t], *state, *weights, nonlinearity=self.nonlinearity)
                state = (h,)
            outs[t], gate_steps[t] = state[0], gates
        gates = {k: torch.stack([g[k] for g in gate_steps]) for k in gate_steps[0]}
        return torch.stack(outs), state, gates

    # --- the whole stack ------------------------------------------------------------------

    def _initial_states(self, hx, batch, input):
        """Return a tuple of state tensors each (K, N, H) (batch None -> unbatched checks)."""
        n_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            rows = self.num_layers * self.num_directions
            zeros = torch.zeros(rows, batch or 1, self.hidden_size, dtype=input.dtype, device=input.device)
            return (zeros,) * n_states
        names = ("h_0", "c_0") if n_states == 2 else ("hx",)
        if n_states == 2:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise ValueError(
                    f"LSTM: hx must be a tuple (h_0, c_0) of two tensors, got "
                    f"{type(hx).__name__}. Fix: pass hx=(h_0, c_0), or none for zeros."
                )
            states = tuple(hx)
        else:
            if isinstance(hx, (tuple, list)):
                raise ValueError(
                    f"{self.mode}: hx must be one tensor (K, N, H), got a {type(hx).__name__}. "
                    "Only the LSTM takes a pair (h_0, c_0)."
                )
            states = (hx,)
        for state, name in zip(states, names):
            _checks.check_layer_state(self, state, batch, input.dtype, name)
        return tuple(s if batch is not None else s.unsqueeze(1) for s in states)

    def forward(self, input: Tensor, hx=None, *, return_gates: bool = False):
        """Run the stack over a sequence.

        Args:
            input: (L, N, I), or (N, L, I) when batch_first, or unbatched (L, I).
            hx: initial hidden state (K, N, H) (unbatched (K, H)); for the LSTM a pair
                (h_0, c_0). Zeros when None.
            return_gates: also return a dict of gate activations, each (K, L, N, H)
                (unbatched (K, L, H)).
        Returns:
            output (L, N, D*H) (batch_first: (N, L, D*H); unbatched (L, D*H)), and h_n (K, N, H)
            - for the LSTM (h_n, c_n) - and, with return_gates, the gates dict.
        """
        batched = _checks.check_layer_input(self, input)
        x = input if batched else input.unsqueeze(1)  # (L, N, I) or (N, L, I)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (L, N, I)
        states = self._initial_states(hx, x.shape[1] if batched else None, input)

        finals, gate_rows = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                row = layer * self.num_directions + direction
                state = tuple(s[row] for s in states)  # (N, H) each
                out, final, gates = self._run_direction(
                    x, state, self.layer_weights(layer, direction), reverse=direction == 1
                )
                outs.append(out)
                finals.append(final)
                gate_rows.append(gates)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)  # (L, N, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)

        output = x.transpose(0, 1) if (batched and self.batch_first) else x
        h_n = torch.stack([f[0] for f in finals])  # (K, N, H)
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
        result = [output]
        if self.mode == "LSTM":
            c_n = torch.stack([f[1] for f in finals])
            result.append((h_n, c_n if batched else c_n.squeeze(1)))
        else:
            result.append(h_n)
        if return_gates:
            gates = {k: torch.stack([g[k] for g in gate_rows]) for k in gate_rows[0]}  # (K, L, N, H)
            if not batched:
                gates = {k: v.squeeze(2) for k, v in gates.items()}
            result.append(gates)
        return tuple(result)


class RNN(_RNNBase):
    """Elman RNN stack, drop-in for ``torch.nn.RNN``; gates dict ``{"pre": pre-activation}``."""

    mode, num_gates = "RNN", 1

    def __init__(
        self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
        batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, *,
        fast_path=True,
    ):
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, nonlinearity=nonlinearity, fast_path=fast_path,
        )


class GRU(_RNNBase):
    """GRU stack, drop-in for ``torch.nn.GRU``; gates dict ``{"r", "z", "n"}``."""

    mode, num_gates = "GRU", 3

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, device=None, dtype=None, *, fast_path=True,
    ):
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, fast_path=fast_path,
        )


class LSTM(_RNNBase):
    """LSTM stack, drop-in for ``torch.nn.LSTM`` (without projections, ``proj_size=0``).

    Gates dict ``{"i", "f", "g", "o", "c"}`` (c = the cell state after each step).
    """

    mode, num_gates = "LSTM", 4

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, proj_size=0, device=None, dtype=None, *, fast_path=True,
    ):
        if proj_size != 0:
            raise NotImplementedError(
                f"LSTM: proj_size={proj_size} (LSTM with projections) is not implemented in "
                "seqlab.scratch; use proj_size=0, or torch.nn.LSTM for projections."
            )
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, fast_path=fast_path,
        )

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

Also as torch.nn: ``PackedSequence`` input (output packed the same way, sequences of
different lengths, sorted or not), LSTM projections (``proj_size``, reference path), an empty
batch, and ``torch.func`` transforms (vmap, jvp, grad) and forward-mode AD, under which the
reference path runs (the fast path's Functions have no vmap rule or jvp); double backward
(``create_graph=True``) through the fast path is exact: its backward then differentiates the
reference equations instead of running the hand-written one.

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

from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from . import _checks
from .cells import gru_step, lstm_step, rnn_step
from .fast_path import fast_path_applies, gru_layer, lstm_layer, rnn_layer

__all__ = ["RNN", "GRU", "LSTM"]


class _RNNBase(nn.Module):
    mode = ""  # "RNN", "GRU" or "LSTM"
    num_gates = 1  # G: gate blocks stacked in each weight

    def __init__(
        self, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        device, dtype, nonlinearity="tanh", fast_path=True, proj_size=0,
    ):
        super().__init__()
        name = type(self).__name__
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed. {name}: dropout zeroes elements between layers, got {dropout!r}."
            )
        for flag, value in [("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)]:
            if not isinstance(value, bool):  # batch_first="False" would be truthy: batch-first
                raise _checks.ArgumentTypeError(
                    f"{flag} should be of type bool, got: {type(value).__name__}. {name}: pass "
                    f"{flag}=True or {flag}=False (got {value!r})."
                )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"dropout={dropout} has no effect with num_layers=1: dropout is applied between "
                "layers only (not after the last), as in torch.nn.",
                stacklevel=3,
            )
        for arg, value in [("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)]:
            if not isinstance(value, int) or isinstance(value, bool):
                raise _checks.ArgumentTypeError(
                    f"{arg} should be of type int, got: {type(value).__name__}. {name}: {arg} must "
                    f"be a positive int, got {value!r}."
                )
            if value <= 0:
                raise ValueError(
                    f"{arg} must be greater than zero. {name}: {arg} must be a positive int, got {value!r}."
                )
        if not isinstance(proj_size, int) or isinstance(proj_size, bool) or proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections. "
                f"{name}: got proj_size={proj_size!r}."
            )
        if proj_size >= hidden_size:
            raise ValueError(
                f"proj_size has to be smaller than hidden_size. {name}: proj_size={proj_size}, "
                f"hidden_size={hidden_size}; the projection maps h (hidden_size) to proj_size features."
            )
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'. RNN: "
                f"nonlinearity is the activation of h' = act(W_ih x + b_ih + W_hh h + b_hh)."
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.nonlinearity = nonlinearity
        if self.mode.startswith("RNN"):  # torch.nn's mode string: "RNN_TANH" or "RNN_RELU"
            self.mode = f"RNN_{nonlinearity.upper()}"
        self.proj_size = proj_size
        self.fast_path = fast_path
        factory = {"device": device, "dtype": dtype}
        num_directions = 2 if bidirectional else 1
        gh = self.num_gates * hidden_size
        real_hidden = proj_size or hidden_size  # features of h (and of each layer's output)
        # Registered in torch.nn's order (layer, direction, w_ih, w_hh, b_ih, b_hh, w_hr) so the
        # same seed gives the same weights and state_dict keys match.
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * num_directions
            for direction in range(num_directions):
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                self.register_parameter("weight_ih" + sfx, nn.Parameter(torch.empty(gh, layer_input, **factory)))
                self.register_parameter("weight_hh" + sfx, nn.Parameter(torch.empty(gh, real_hidden, **factory)))
                if bias:
                    self.register_parameter("bias_ih" + sfx, nn.Parameter(torch.empty(gh, **factory)))
                    self.register_parameter("bias_hh" + sfx, nn.Parameter(torch.empty(gh, **factory)))
                if proj_size > 0:  # (P, H): h = W_hr (o * tanh(c))
                    self.register_parameter("weight_hr" + sfx, nn.Parameter(torch.empty(proj_size, hidden_size, **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as torch.nn does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
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

    def _projection(self, layer: int, direction: int):
        """weight_hr (P, H) of one layer/direction, None without projections."""
        return getattr(self, f"weight_hr_l{layer}" + ("_reverse" if direction == 1 else ""), None)

    @property
    def all_weights(self):
        return [
            [w for w in (*self.layer_weights(layer, d), self._projection(layer, d)) if w is not None]
            for layer in range(self.num_layers)
            for d in range(self.num_directions)
        ]

    # --- one layer, one direction ---------------------------------------------------------

    def _use_fast_path(self, x) -> bool:
        """The fast path, unless: asked not to, LSTM projections, an empty batch, or under a
        torch.func transform / forward-mode AD (see fast_path.fast_path_applies)."""
        return self.fast_path and self.proj_size == 0 and x.shape[1] > 0 and fast_path_applies()

    def _run_direction(self, x, state, weights, reverse, w_hr=None):
        """x (L, N, I_layer); state tuple of (N, H). Returns out (L, N, H), final states, gates."""
        if self._use_fast_path(x):
            if self.mode == "LSTM":
                out, c_all, gates = lstm_layer(x, *state, *weights, reverse=reverse)
            elif self.mode == "GRU":
                out, gates = gru_layer(x, *state, *weights, reverse=reverse)
            else:
                out, gates = rnn_layer(x, *state, *weights, reverse, self.nonlinearity)
            last = 0 if reverse else -1
            final = (out[last], c_all[last]) if self.mode == "LSTM" else (out[last],)
            return out, final, gates
        return self._reference_direction(x, state, weights, reverse, w_hr)

    def _reference_direction(self, x, state, weights, reverse, w_hr=None):
        """Step the cell equations (cells.py) through time, under autograd. ``w_hr`` (P, H):
        the LSTM's projection h = W_hr (o * tanh(c)), None without."""
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outs, gate_steps = [None] * x.shape[0], [None] * x.shape[0]
        for t in steps:
            if self.mode == "LSTM":
                state, gates = lstm_step(x[t], *state, *weights)
                if w_hr is not None:
                    state = (F.linear(state[0], w_hr), state[1])
            elif self.mode == "GRU":
                h, gates = gru_step(x[t], *state, *weights)
                state = (h,)
            else:
                h, gates = rnn_step(x[t], *state, *weights, nonlinearity=self.nonlinearity)
                state = (h,)
            outs[t], gate_steps[t] = state[0], gates
        if not outs:  # zero time steps
            return x.new_zeros(0, x.shape[1], state[0].shape[-1]), state, {}
        gates = {k: torch.stack([g[k] for g in gate_steps]) for k in gate_steps[0]}
        return torch.stack(outs), state, gates

    def _run_direction_packed(self, x, state, weights, reverse, lengths, w_hr=None):
        """Like _run_direction for a padded batch (L, N, I) of sequences of ``lengths`` (N,).

        Each sequence's final state is the one after its own last step; the reverse direction
        must start at each sequence's own end, so its input is flipped within each length, run
        forwards and flipped back. Steps past a sequence's end compute values that nothing reads
        (the output is packed again), so they get no gradient.
        """
        if reverse:
            x = _flip_within_lengths(x, lengths)
        out, _, gates = self._run_direction(x, state, weights, reverse=False, w_hr=w_hr)
        last, rows = lengths - 1, torch.arange(x.shape[1], device=x.device)
        final = (out[last, rows],) + ((gates["c"][last, rows],) if self.mode == "LSTM" else ())
        if reverse:
            out = _flip_within_lengths(out, lengths)
            gates = {k: _flip_within_lengths(v, lengths) for k, v in gates.items()}
        return out, final, gates

    # --- the whole stack ------------------------------------------------------------------

    def _initial_states(self, hx, batch, input):
        """Return a tuple of state tensors each (K, N, H) (batch None -> unbatched checks).
        With LSTM projections h_0 is (K, N, proj_size)."""
        n_states = 2 if self.mode == "LSTM" else 1
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)[:n_states]
        if hx is None:
            rows = self.num_layers * self.num_directions
            n = 1 if batch is None else batch
            return tuple(torch.zeros(rows, n, size, dtype=input.dtype, device=input.device) for size in sizes)
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
                    f"{type(self).__name__}: hx must be one tensor (K, N, H), got a "
                    f"{type(hx).__name__}. Only the LSTM takes a pair (h_0, c_0)."
                )
            states = (hx,)
        for k, (state, name, size) in enumerate(zip(states, names, sizes)):
            index = k if n_states == 2 else None
            _checks.check_layer_state(self, state, batch, input.dtype, name, size, index)
        return tuple(s if batch is not None else s.unsqueeze(1) for s in states)

    def _run_stack(self, x, states, lengths=None):
        """All layers and directions. x (L, N, I), states tuple of (K, N, H); ``lengths`` (N,)
        for a padded batch of packed sequences. Returns output (L, N, D*H), finals, gate rows."""
        finals, gate_rows = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                row = layer * self.num_directions + direction
                state = tuple(s[row] for s in states)  # (N, H) each
                args = (x, state, self.layer_weights(layer, direction), direction == 1)
                w_hr = self._projection(layer, direction)
                if lengths is None:
                    out, final, gates = self._run_direction(*args, w_hr=w_hr)
                else:
                    out, final, gates = self._run_direction_packed(*args, lengths, w_hr=w_hr)
                outs.append(out)
                finals.append(final)
                gate_rows.append(gates)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)  # (L, N, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, finals, gate_rows

    def _final_states(self, finals):
        """h_n (K, N, H), and for the LSTM the pair (h_n, c_n)."""
        h_n = torch.stack([f[0] for f in finals])  # (K, N, H)
        return (h_n, torch.stack([f[1] for f in finals])) if self.mode == "LSTM" else h_n

    def forward(self, input: Tensor, hx=None, *, return_gates: bool = False):
        """Run the stack over a sequence.

        Args:
            input: (L, N, I), or (N, L, I) when batch_first, or unbatched (L, I); or a
                ``PackedSequence`` (then the output is one too, and batch_first does not apply).
            hx: initial hidden state (K, N, H) (unbatched (K, H)); for the LSTM a pair
                (h_0, c_0), h_0 with proj_size features when proj_size > 0. Zeros when None.
            return_gates: also return a dict of gate activations, each (K, L, N, H)
                (unbatched (K, L, H)).
        Returns:
            output (L, N, D*H) (batch_first: (N, L, D*H); unbatched (L, D*H)), and h_n (K, N, H)
            - for the LSTM (h_n, c_n) - and, with return_gates, the gates dict.
        """
        if isinstance(input, PackedSequence):
            if return_gates:
                raise ValueError(
                    f"{type(self).__name__}: return_gates is not available for a PackedSequence. "
                    "Fix: pad the batch (torch.nn.utils.rnn.pad_packed_sequence) to plot gates."
                )
            return self._forward_packed(input, hx)
        batched = _checks.check_layer_input(self, input)
        x = input if batched else input.unsqueeze(1)  # (L, N, I) or (N, L, I)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (L, N, I)
        states = self._initial_states(hx, x.shape[1] if batched else None, input)

        x, finals, gate_rows = self._run_stack(x, states)
        output = x.transpose(0, 1) if (batched and self.batch_first) else x
        state = self._final_states(finals)
        if not batched:
            output = output.squeeze(1)
            state = tuple(s.squeeze(1) for s in state) if self.mode == "LSTM" else state.squeeze(1)
        result = [output, state]
        if return_gates:
            gates = {k: torch.stack([g[k] for g in gate_rows]) for k in gate_rows[0]}  # (K, L, N, H)
            if not batched:
                gates = {k: v.squeeze(2) for k, v in gates.items()}
            result.append(gates)
        return tuple(result)

    def _forward_packed(self, packed: PackedSequence, hx):
        """PackedSequence in and out, as torch.nn: hx and h_n are in the caller's batch order,
        the packed data in the order of decreasing length (``sorted_indices``)."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        _checks.check_packed_data(self, data)
        # (L, N, I) padded, sequences sorted by decreasing length, and their lengths (N,)
        padded, lengths = pad_packed_sequence(PackedSequence(data, batch_sizes))
        states = self._initial_states(hx, padded.shape[1], data)
        if hx is not None and sorted_indices is not None:
            states = tuple(s.index_select(1, sorted_indices) for s in states)
        x, finals, _ = self._run_stack(padded, states, lengths.to(data.device))
        out = pack_padded_sequence(x, lengths)  # same batch_sizes as the input
        state = self._final_states(finals)
        if unsorted_indices is not None:
            state = (
                tuple(s.index_select(1, unsorted_indices) for s in state)
                if self.mode == "LSTM" else state.index_select(1, unsorted_indices)
            )
        return PackedSequence(out.data, batch_sizes, sorted_indices, unsorted_indices), state


def _flip_within_lengths(x, lengths):
    """Reverse each sequence of a padded batch (L, N, ...) within its length (N,); padding
    stays in place. Its own inverse."""
    t = torch.arange(x.shape[0], device=x.device).unsqueeze(1)  # (L, 1)
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (L, N)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


class RNN(_RNNBase):
    """Elman RNN stack, drop-in for ``torch.nn.RNN``; gates dict ``{"pre": pre-activation}``."""

    mode, num_gates = "RNN_TANH", 1  # the instance's mode is "RNN_TANH" or "RNN_RELU", as torch.nn's

    def __init__(
        self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
        batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, *,
        fast_path=True, proj_size=None,
    ):
        if proj_size is not None:
            raise ValueError(
                "proj_size argument is only supported for LSTM, not RNN or GRU. "
                "(Projections h = W_hr h exist for the LSTM only.)"
            )
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, nonlinearity=nonlinearity, fast_path=fast_path,
        )


class GRU(_RNNBase):
    """GRU stack, drop-in for ``torch.nn.GRU``; gates dict ``{"r", "z", "n"}``."""

    mode, num_gates = "GRU", 3

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, device=None, dtype=None, *, fast_path=True, proj_size=None,
    ):
        if proj_size is not None:
            raise ValueError(
                "proj_size argument is only supported for LSTM, not RNN or GRU. "
                "(Projections h = W_hr h exist for the LSTM only.)"
            )
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, fast_path=fast_path,
        )


class LSTM(_RNNBase):
    """LSTM stack, drop-in for ``torch.nn.LSTM``.

    Gates dict ``{"i", "f", "g", "o", "c"}`` (c = the cell state after each step). With
    ``proj_size=P > 0`` each step ends with h = W_hr (o * tanh(c)), W_hr (P, H) as
    ``weight_hr_l{k}``; h, h_0, h_n and the output then have P features (reference path).
    """

    mode, num_gates = "LSTM", 4

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, proj_size=0, device=None, dtype=None, *, fast_path=True,
    ):
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, fast_path=fast_path, proj_size=proj_size,
        )

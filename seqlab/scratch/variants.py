"""Two GRU variants from the tutorial's toolbox, beside the scratch cells: zoneout and LayerNorm.

- ``ZoneoutGRUCell`` (Krueger et al. 2016, "Zoneout: Regularizing RNNs by Randomly Preserving Hidden
  Activations"): while training, each unit keeps its previous value with probability ``zoneout``
  instead of taking the GRU's new value,

      m ~ Bernoulli(zoneout)   (N, H)
      h' = m * h + (1 - m) * gru(x, h)

  and at evaluation the expectation, ``h' = zoneout * h + (1 - zoneout) * gru(x, h)``. (The
  tutorial's snippet uses plain ``gru(x, h)`` at evaluation, which is not the expectation of what the
  network was trained with.)

- ``LayerNormGRUCell`` (Ba, Kiros & Hinton 2016, "Layer Normalization", section 3.1 applied to the
  GRU): each gate block of ``W_ih x`` and of ``W_hh h`` is normalised over its H features, with its
  own gain and shift, before the gate nonlinearities:

      [a_r, a_z, a_n] = LN_ih(W_ih x)       each block (N, H) normalised on its own
      [b_r, b_z, b_n] = LN_hh(W_hh h)
      r = sigma(a_r + b_r + b_ir + b_hr),  z = sigma(a_z + b_z + b_iz + b_hz)
      n = tanh(a_n + b_in + r * (b_n + b_hn)),  h' = (1 - z) * n + z * h

  Gains start at 1 and shifts at 0, so at initialisation it differs from the plain GRU only by the
  normalisation.

``CellRNN`` runs any such cell over a ``(N, L, I)`` batch like a one-layer ``torch.nn.GRU`` with
``batch_first=True``, so a forecaster can use the variants in place of ``torch.nn.GRU``.
Shapes: N batch, L steps, I input_size, H hidden_size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cells import GRUCell

__all__ = ["ZoneoutGRUCell", "LayerNormGRUCell", "CellRNN"]


class ZoneoutGRUCell(GRUCell):
    """A ``GRUCell`` (same parameters, same ``state_dict``) with zoneout on the hidden state.

    Args: as ``torch.nn.GRUCell``, plus ``zoneout`` in [0, 1], the probability that a unit keeps
    its previous value at a training step. ``zoneout=0`` is exactly the GRU cell.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, zoneout: float = 0.1,
                 device=None, dtype=None):
        if not 0.0 <= zoneout <= 1.0:
            raise ValueError(f"zoneout is a probability in [0, 1], got {zoneout}.")
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.zoneout = zoneout

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if hx is None:
            hx = input.new_zeros(*input.shape[:-1], self.hidden_size)
        h_new = super().forward(input, hx)  # (N, H)
        if self.training:
            keep = torch.rand_like(h_new) < self.zoneout  # (N, H), True: keep the old value
            return torch.where(keep, hx, h_new)
        return self.zoneout * hx + (1.0 - self.zoneout) * h_new  # the expectation over masks

    def extra_repr(self) -> str:
        return super().extra_repr() + f", zoneout={self.zoneout}"


class LayerNormGRUCell(nn.Module):
    """A GRU cell with layer normalisation of each gate block (equations in the module docstring).

    Parameters: ``weight_ih (3H, I)``, ``weight_hh (3H, H)``, ``bias_ih``, ``bias_hh (3H,)`` as in
    ``torch.nn.GRUCell`` (same init, gate order r, z, n), plus ``ln_ih_weight``, ``ln_ih_bias``,
    ``ln_hh_weight``, ``ln_hh_bias`` of shape ``(3, H)``: one gain and shift per gate block.
    """

    def __init__(self, input_size: int, hidden_size: int, eps: float = 1e-5):
        super().__init__()
        self.input_size, self.hidden_size, self.eps = input_size, hidden_size, eps
        base = nn.GRUCell(input_size, hidden_size)  # torch.nn's init for the GRU weights
        self.weight_ih, self.weight_hh = base.weight_ih, base.weight_hh
        self.bias_ih, self.bias_hh = base.bias_ih, base.bias_hh
        self.ln_ih_weight = nn.Parameter(torch.ones(3, hidden_size))
        self.ln_ih_bias = nn.Parameter(torch.zeros(3, hidden_size))
        self.ln_hh_weight = nn.Parameter(torch.ones(3, hidden_size))
        self.ln_hh_bias = nn.Parameter(torch.zeros(3, hidden_size))

    def _normed(self, pre: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        blocks = pre.unflatten(-1, (3, self.hidden_size))  # (N, 3, H)
        normed = F.layer_norm(blocks, (self.hidden_size,), eps=self.eps) * weight + bias  # (N, 3, H)
        return normed.flatten(-2)  # (N, 3H)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if input.dim() != 2 or input.shape[-1] != self.input_size:
            raise ValueError(f"LayerNormGRUCell expects input (N, {self.input_size}), got {tuple(input.shape)}.")
        if hx is None:
            hx = input.new_zeros(input.shape[0], self.hidden_size)
        a = self._normed(F.linear(input, self.weight_ih), self.ln_ih_weight, self.ln_ih_bias)  # (N, 3H)
        b = self._normed(F.linear(hx, self.weight_hh), self.ln_hh_weight, self.ln_hh_bias)  # (N, 3H)
        h_new, _ = _gru_from_preactivations(a, b, self.bias_ih, self.bias_hh, hx)
        return h_new

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


def _gru_from_preactivations(a: Tensor, b: Tensor, bias_ih: Tensor, bias_hh: Tensor, h: Tensor):
    """The GRU gates on given input-side ``a`` and hidden-side ``b`` pre-activations (N, 3H);
    r multiplies the hidden side of the candidate only, as in torch.nn.GRUCell."""
    a_r, a_z, a_n = (a + bias_ih).chunk(3, dim=1)  # 3 x (N, H)
    b_r, b_z, b_n = (b + bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(a_r + b_r)
    z = torch.sigmoid(a_z + b_z)
    n = torch.tanh(a_n + r * b_n)
    return (1 - z) * n + z * h, {"r": r, "z": z, "n": n}


class CellRNN(nn.Module):
    """Run a cell over time like a one-layer ``torch.nn.GRU(batch_first=True)``.

    forward(x (N, L, I), h0 (1, N, H) or None) -> (output (N, L, H), h_n (1, N, H)).
    """

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell
        self.hidden_size = cell.hidden_size

    def forward(self, x: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if x.dim() != 3:
            raise ValueError(f"CellRNN expects (N, L, I) with batch_first, got shape {tuple(x.shape)}.")
        h = x.new_zeros(x.shape[0], self.hidden_size) if h0 is None else h0[0]  # (N, H)
        outputs = []
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)  # (N, H)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h.unsqueeze(0)  # (N, L, H), (1, N, H)

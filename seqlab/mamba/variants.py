"""The Mamba block with its parts switchable, to measure what each part is for.

``MambaVariant(d_model, selective=True, conv=True, gate=True)`` is ``seqlab.mamba.Mamba`` (same
parameter names, shapes and numbers: a Mamba ``state_dict`` loads into it). Each switch removes
one idea:

- ``selective=False``: Δ, B and C are parameters instead of functions of the input: a
  time-invariant (S4D-like) SSM, computed as a convolution (``seqlab.mamba.lti``). No x_proj,
  no dt_proj.
- ``conv=False``: no causal depthwise conv1d before the SSM (x goes straight to silu).
- ``gate=False``: no z branch; y is not multiplied by silu(z) (in_proj is half as wide).
- ``dt_rank``: rank of Δ's projection (Mamba: ceil(d_model / 16)); "full" means d_inner.

Shapes as in seqlab.mamba.block: (b, l, d_model) -> (b, l, d_model).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .lti import causal_conv, ssm_kernel
from .scan import selective_scan

__all__ = ["MambaVariant"]


class MambaVariant(nn.Module):
    """A Mamba block whose selection, conv1d, gate and dt_rank can be switched (see module doc)."""

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | str = "auto",
        *,
        selective: bool = True,
        conv: bool = True,
        gate: bool = True,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
    ):
        super().__init__()
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.d_inner = int(expand * d_model)
        if dt_rank == "full":
            dt_rank = self.d_inner
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.selective, self.conv, self.gate = selective, conv, gate

        self.in_proj = nn.Linear(d_model, (2 if gate else 1) * self.d_inner, bias=False)
        if conv:
            self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, kernel_size=d_conv, groups=self.d_inner,
                                    padding=d_conv - 1)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt_bias = dt + torch.log(-torch.expm1(-dt))  # softplus(dt_bias) = dt, log-uniform per channel
        if selective:  # Δ, B, C from the input, exactly as seqlab.mamba.Mamba
            self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
            self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
            std = self.dt_rank**-0.5
            nn.init.uniform_(self.dt_proj.weight, -std, std)
            with torch.no_grad():
                self.dt_proj.bias.copy_(dt_bias)
        else:  # one Δ per channel and one B, C per channel: the same for every input
            self.dt_bias = nn.Parameter(dt_bias)
            self.B = nn.Parameter(torch.ones(self.d_inner, d_state))
            self.C = nn.Parameter(torch.randn(self.d_inner, d_state) / math.sqrt(d_state))
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))  # (d_inner, d_state), S4D-real A_n = -(n + 1)
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def extra_repr(self):
        return (f"d_model={self.d_model}, d_state={self.d_state}, dt_rank={self.dt_rank}, "
                f"selective={self.selective}, conv={self.conv}, gate={self.gate}")

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """hidden_states (b, l, d_model) -> (b, l, d_model)."""
        if hidden_states.dim() != 3 or hidden_states.shape[-1] != self.d_model:
            raise ValueError(f"MambaVariant expects (batch, length, d_model={self.d_model}), "
                             f"got {tuple(hidden_states.shape)}")
        length = hidden_states.shape[1]
        xz = self.in_proj(hidden_states).transpose(1, 2)  # (b, (1 or 2) d_inner, l)
        x, z = xz.chunk(2, dim=1) if self.gate else (xz, None)  # (b, d_inner, l)
        if self.conv:
            x = self._causal_conv(x)  # (b, d_inner, l): output t sees inputs t - d_conv + 1 .. t
        x = F.silu(x)
        A = -torch.exp(self.A_log)  # (d_inner, d_state)
        if self.selective:
            dt, B, C = torch.split(self.x_proj(x.transpose(1, 2)), [self.dt_rank, self.d_state, self.d_state], dim=-1)
            delta = F.linear(dt, self.dt_proj.weight).transpose(1, 2)  # (b, d_inner, l)
            y = selective_scan(x, delta, A, B.transpose(1, 2), C.transpose(1, 2), self.D, z,
                               delta_bias=self.dt_proj.bias, delta_softplus=True)  # (b, d_inner, l)
        else:
            K = ssm_kernel(A, self.B, self.C, F.softplus(self.dt_bias), length)  # (d_inner, l)
            y = causal_conv(x, K) + self.D[:, None] * x  # (b, d_inner, l)
            if self.gate:
                y = y * F.silu(z)
        return self.out_proj(y.transpose(1, 2))  # (b, l, d_model)

    def _causal_conv(self, x: torch.Tensor) -> torch.Tensor:
        """``self.conv1d(x)[..., :l]`` for x (b, d_inner, l), as d_conv shifted multiply-adds: the
        same numbers, and several times faster forward + backward than the depthwise Conv1d on a CPU."""
        length = x.shape[-1]
        weight = self.conv1d.weight.squeeze(1)  # (d_inner, d_conv)
        x_pad = F.pad(x, (self.d_conv - 1, 0))  # (b, d_inner, d_conv - 1 + l), zeros before the start
        out = x_pad[..., :length] * weight[:, 0, None]
        for k in range(1, self.d_conv):
            out = torch.addcmul(out, x_pad[..., k : k + length], weight[:, k, None])
        return out + self.conv1d.bias[:, None]

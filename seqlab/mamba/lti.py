"""The time-invariant SSM as a convolution (the S4 view, "The Annotated S4"), and an S4D-like layer.

When Δ, B and C do not depend on the input, every step applies the same map, and unrolling
x_t = Ā x_{t-1} + B̄ u_t, y_t = C x_t from x_{-1} = 0 gives

    y_t = Σ_{k=0..t} C Ā^k B̄ u_{t-k}     i.e.     y = K * u,   K = (C B̄, C Ā B̄, C Ā² B̄, ...)

a causal convolution with a kernel K as long as the sequence, computed once for all inputs (and
applied with an FFT in O(l log l)). Mamba's selective scan has no such kernel: its Ā_t, B̄_t, C_t
change with every token, which is what lets it choose what to remember.

Glossary (as in seqlab.mamba.scan): b batch, d channels, l length, n state size;
A (d, n) diagonal and negative, B and C (d, n) constant, Δ (d,) one step size per channel;
discretised like mamba-ssm: Ā = exp(Δ A) (zero-order hold), B̄ = Δ B (Euler).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["LTISSM", "causal_conv", "causal_conv_direct", "ssm_kernel"]


def _check_lti(A, B, C, delta):
    if A.dim() != 2:
        raise ValueError(f"A must be (d, n), got shape {tuple(A.shape)}")
    for name, t in (("B", B), ("C", C)):
        if tuple(t.shape) != tuple(A.shape):
            raise ValueError(f"{name} must have A's shape (d, n) = {tuple(A.shape)}, got {tuple(t.shape)}")
    if tuple(delta.shape) != (A.shape[0],):
        raise ValueError(f"delta must be (d,) = ({A.shape[0]},), one step size per channel, got {tuple(delta.shape)}")


def ssm_kernel(A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, delta: torch.Tensor, length: int) -> torch.Tensor:
    """K (d, length) with K[:, k] = Σ_n C Ā^k B̄: the response of each channel to an impulse.

    A, B, C (d, n); delta (d,) > 0 (already through softplus, if any).
    """
    _check_lti(A, B, C, delta)
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    dA = delta[:, None] * A  # (d, n)
    k = torch.arange(length, dtype=A.dtype, device=A.device)  # (l,)
    powers = torch.exp(dA[..., None] * k)  # (d, n, l): Ā^k = exp(k Δ A), no repeated products
    return torch.einsum("dn,dnl->dl", C * delta[:, None] * B, powers)  # (d, l)


def causal_conv(u: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """y (b, d, l) with y_t = Σ_{k<=t} K_k u_{t-k}, by FFT: u (b, d, l), K (d, l) or (d, >= l).

    Zero-padding to 2l makes the FFT's circular convolution a linear one (no wrap-around).
    """
    length = u.shape[-1]
    if K.dim() != 2 or K.shape[0] != u.shape[1] or K.shape[1] < length:
        raise ValueError(f"K must be (d, >= l) = ({u.shape[1]}, >= {length}) for u {tuple(u.shape)}, got {tuple(K.shape)}")
    n_fft = 2 * length
    y = torch.fft.irfft(torch.fft.rfft(u, n=n_fft) * torch.fft.rfft(K[:, :length], n=n_fft), n=n_fft)
    return y[..., :length]


def causal_conv_direct(u: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """The same convolution as ``causal_conv``, one shifted copy of u per kernel tap (an O(l²) oracle)."""
    length = u.shape[-1]
    y = torch.zeros_like(u)
    for k in range(length):
        y[..., k:] += K[:, k, None] * u[..., : length - k]  # tap k: u delayed by k steps
    return y


class LTISSM(nn.Module):
    """An S4D-like time-invariant SSM layer, (b, d, l) -> (b, d, l): y = K * u + D u.

    Δ (one per channel), B and C are parameters, the same for every input; A is S4D-real,
    A_n = -(n + 1), like Mamba's. ``forward`` uses the convolution; ``recurrence`` runs the same
    SSM step by step (what the lesson checks it against).
    """

    def __init__(self, d: int, d_state: int = 16, dt_min: float = 0.001, dt_max: float = 0.1):
        super().__init__()
        self.d, self.d_state = d, d_state
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(d, 1)  # (d, n)
        self.A_log = nn.Parameter(torch.log(A))
        self.B = nn.Parameter(torch.ones(d, d_state))
        self.C = nn.Parameter(torch.randn(d, d_state) / math.sqrt(d_state))
        self.D = nn.Parameter(torch.ones(d))
        # Δ = softplus(dt_bias), log-uniform in [dt_min, dt_max] at initialisation (as Mamba's bias)
        dt = torch.exp(torch.rand(d) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))

    def kernel(self, length: int) -> torch.Tensor:
        """K (d, length) of the current parameters."""
        return ssm_kernel(-torch.exp(self.A_log), self.B, self.C, F.softplus(self.dt_bias), length)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """u (b, d, l) -> y (b, d, l)."""
        if u.dim() != 3 or u.shape[1] != self.d:
            raise ValueError(f"LTISSM expects u of shape (batch, d={self.d}, length), got {tuple(u.shape)}")
        return causal_conv(u, self.kernel(u.shape[-1])) + self.D[:, None] * u

    def recurrence(self, u: torch.Tensor) -> torch.Tensor:
        """The same y, by the loop x_t = Ā x_{t-1} + B̄ u_t, y_t = C x_t + D u_t."""
        delta = F.softplus(self.dt_bias)[:, None]  # (d, 1)
        A_bar, B_bar = torch.exp(delta * -torch.exp(self.A_log)), delta * self.B  # (d, n)
        x = u.new_zeros(u.shape[0], self.d, self.d_state)  # (b, d, n)
        ys = []
        for t in range(u.shape[-1]):
            x = A_bar * x + B_bar * u[..., t, None]
            ys.append((x * self.C).sum(-1) + self.D * u[..., t])  # (b, d)
        return torch.stack(ys, dim=-1)

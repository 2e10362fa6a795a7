"""Sunspot forecasters after the RNN: a causal transformer, a linear transformer, Mamba-2 and SAMoVAR.

Same contract as ``seqlab.models``: a window ``x (b, l, 1)`` of scaled months in, the next month
``(b,)`` out, read from the last position. Positions are *lags* (0 = the newest month), so a model
trained on one window length runs on another up to ``max_len``.

    transformer         Linear(1, d) + lag embedding -> pre-norm blocks [softmax attention, MLP] -> head
    linear_transformer  the same with causal linear attention (elu + 1 features): an RNN inside
    mamba2              Linear(1, d) -> Mamba-2 block(s) (SSD: one scalar decay per head) -> LayerNorm -> head
    samovar             linear attention read as a VAR (Lu & Yang, ICML 2025, arXiv 2502.07244):
                        keys are the observations, queries and values come from the input

Built from ``seqlab.attention``; the equations are there.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .attention import linear_attention, softmax_attention, ssd_chunked, ssd_quadratic

__all__ = ["Mamba2", "Mamba2Forecaster", "SAMoVARForecaster", "TransformerForecaster"]


class LagEmbedding(nn.Module):
    """A learned vector per lag: position i of a window of l months gets row l - 1 - i. (b, l, d) -> same."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.max_len = max_len
        self.weight = nn.Parameter(0.02 * torch.randn(max_len, d_model))

    def forward(self, h):
        l = h.shape[1]
        if l > self.max_len:
            raise ValueError(f"windows of {l} months exceed max_len={self.max_len}; build the model with max_len >= {l}.")
        return h + self.weight[:l].flip(0)  # row 0 (lag 0) on the last position


# --------------------------------------------------------------------------- transformers


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention, softmax or linear: (b, l, d_model) -> (b, l, d_model)."""

    def __init__(self, d_model: int, n_heads: int, attention: str = "softmax"):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be a multiple of n_heads={n_heads}.")
        if attention not in ("softmax", "linear"):
            raise ValueError(f"attention must be 'softmax' or 'linear', got {attention!r}.")
        self.n_heads, self.attention = n_heads, attention
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x, return_weights: bool = False):
        b, l, d = x.shape
        q, k, v = self.qkv(x).view(b, l, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)  # (b, h, l, e) each
        weights = None
        if self.attention == "softmax":
            y = softmax_attention(q, k, v, causal=True, return_weights=return_weights)
            if return_weights:
                y, weights = y  # weights (b, h, l, l)
        else:
            y = linear_attention(q, k, v, causal=True)
        y = self.out_proj(y.transpose(1, 2).reshape(b, l, d))  # (b, l, d_model)
        return (y, weights) if return_weights else y


class TransformerBlock(nn.Module):
    """Pre-norm block (nanoGPT's): x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, d_model: int, n_heads: int, attention: str, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads, attention)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model),
                                 nn.Dropout(dropout))

    def forward(self, x, return_weights: bool = False):
        a = self.attn(self.norm1(x), return_weights=return_weights)
        a, weights = a if return_weights else (a, None)
        x = x + a
        x = x + self.mlp(self.norm2(x))
        return (x, weights) if return_weights else x


class TransformerForecaster(nn.Module):
    """``(b, l, 1) -> (b,)``: a small causal transformer; ``attention="linear"`` for the linear one."""

    def __init__(self, d_model: int = 32, n_heads: int = 4, num_layers: int = 2, attention: str = "softmax",
                 dropout: float = 0.0, max_len: int = 512, input_size: int = 1):
        super().__init__()
        self.kind = "transformer" if attention == "softmax" else "linear_transformer"
        self.embed = nn.Linear(input_size, d_model)
        self.lags = LagEmbedding(max_len, d_model)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, n_heads, attention, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x):
        h = self.lags(self.embed(x))  # (b, l, d_model)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h[:, -1])).squeeze(-1)  # (b,)

    @torch.no_grad()
    def attention_weights(self, x) -> list[torch.Tensor]:
        """Softmax attention weights of every layer for windows x (b, l, 1): a list of (b, h, l, l)."""
        if self.kind != "transformer":
            raise ValueError("attention weights are defined for softmax attention only (this model is linear).")
        h, out = self.lags(self.embed(x)), []
        for block in self.blocks:
            h, weights = block(h, return_weights=True)
            out.append(weights)
        return out


# --------------------------------------------------------------------------- Mamba-2


def causal_depthwise_conv(x, weight, bias=None):
    """(b, l, c) -> (b, l, c): output t = Σ_k weight[:, k] x_{t - K + 1 + k} (zeros before the start).

    ``weight`` (c, K) is a depthwise Conv1d's weight without its middle dim; written as K shifted
    multiply-adds in the channels-last layout, as ``seqlab.mamba.Mamba`` does.
    """
    K, l = weight.shape[1], x.shape[1]
    x_pad = F.pad(x, (0, 0, K - 1, 0))  # (b, K - 1 + l, c)
    out = x_pad[:, :l] * weight[:, 0]
    for k in range(1, K):
        out = torch.addcmul(out, x_pad[:, k:k + l], weight[:, k])
    return out if bias is None else out + bias


class Mamba2(nn.Module):
    """A Mamba-2 block (Dao & Gu 2024), one group, in plain PyTorch: (b, l, d_model) -> (b, l, d_model).

    Data flow (mirrors mamba-ssm's mamba_ssm/modules/mamba2_simple.py, without its fused kernels):

        in_proj -> z (d_inner), xBC (d_inner + 2 d_state), dt (h)
        xBC: causal depthwise conv -> silu -> x (b, l, h, p), B, C (b, l, d_state) shared by the heads
        Δ = softplus(dt + dt_bias) (b, l, h);  A = -exp(A_log) (h,): one scalar decay per head
        y = SSD(x Δ, log a = Δ A, B, C) + D x;  y = RMSNorm(y * silu(z));  out_proj

    The SSD runs as one masked matrix product when l <= chunk_size, else chunked. With
    ``last_only=True`` it returns the last position alone, (b, 1, d_model): one row of L ∘ C Bᵀ,
    O(l) instead of O(l²), which is all a forecaster that reads the last step needs.
    """

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2, headdim: int = 64,
                 chunk_size: int = 64, dt_min: float = 0.001, dt_max: float = 0.1):
        super().__init__()
        self.d_inner = expand * d_model
        if self.d_inner % headdim:
            raise ValueError(f"expand * d_model = {self.d_inner} must be a multiple of headdim={headdim}.")
        self.d_state, self.headdim, self.chunk_size = d_state, headdim, chunk_size
        self.n_heads = self.d_inner // headdim
        conv_dim = self.d_inner + 2 * d_state
        self.in_proj = nn.Linear(d_model, self.d_inner + conv_dim + self.n_heads, bias=False)
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, d_conv, groups=conv_dim, padding=d_conv - 1)
        dt = torch.exp(torch.rand(self.n_heads) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus(dt_bias) = dt
        self.A_log = nn.Parameter(torch.log(torch.empty(self.n_heads).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.n_heads))
        self.norm = nn.RMSNorm(self.d_inner, eps=1e-5)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def forward(self, u, last_only: bool = False):
        b, l, _ = u.shape
        z, xBC, dt = torch.split(self.in_proj(u), [self.d_inner, self.d_inner + 2 * self.d_state, self.n_heads], -1)
        xBC = F.silu(causal_depthwise_conv(xBC, self.conv1d.weight.squeeze(1), self.conv1d.bias))
        x, B, C = torch.split(xBC, [self.d_inner, self.d_state, self.d_state], dim=-1)
        x = x.view(b, l, self.n_heads, self.headdim)  # (b, l, h, p)
        delta = F.softplus(dt + self.dt_bias)  # (b, l, h)
        log_a = delta * -torch.exp(self.A_log)  # (b, l, h): log a_t = Δ_t A
        B, C = B.unsqueeze(2), C.unsqueeze(2)  # (b, l, 1, d_state): one group, shared by the heads
        X = x * delta.unsqueeze(-1)
        if last_only:  # y_l = Σ_s (a_l ... a_{s+1}) (C_l · B_s) x_s: the last row of the quadratic form
            cum = torch.cumsum(log_a, dim=1)  # (b, l, h)
            row = torch.exp(cum[:, -1:] - cum) * (B * C[:, -1:]).sum(-1)  # (b, l, h)
            y = torch.einsum("blh,blhp->bhp", row, X).unsqueeze(1)  # (b, 1, h, p)
            x, z, l = x[:, -1:], z[:, -1:], 1
        elif l <= self.chunk_size:
            y = ssd_quadratic(X, log_a, B, C)
        else:
            y, _ = ssd_chunked(X, log_a, B, C, self.chunk_size)
        y = y + x * self.D[:, None]  # (b, l, h, p)
        y = self.norm(y.reshape(b, l, self.d_inner) * F.silu(z))  # gated RMSNorm
        return self.out_proj(y)


class Mamba2Forecaster(nn.Module):
    """``(b, l, 1) -> (b,)``: ``Linear(1, d_model)`` -> Mamba-2 block(s) -> LayerNorm -> ``Linear(d_model, 1)``.

    The same frame as the Mamba forecaster of ``seqlab.models``, with the Mamba-2 block.
    """

    def __init__(self, d_model: int = 64, d_state: int = 16, d_conv: int = 4, expand: int = 2, headdim: int = 64,
                 num_layers: int = 1, chunk_size: int = 64, input_size: int = 1):
        super().__init__()
        self.kind = "mamba2"
        self.embed = nn.Linear(input_size, d_model)
        self.blocks = nn.ModuleList(Mamba2(d_model, d_state, d_conv, expand, headdim, chunk_size)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x):
        h = self.embed(x)  # (b, l, d_model)
        for i, block in enumerate(self.blocks):
            h = block(h, last_only=i == len(self.blocks) - 1)  # the head reads the last step only
        return self.head(self.norm(h[:, -1])).squeeze(-1)


# --------------------------------------------------------------------------- SAMoVAR


class SAMoVARForecaster(nn.Module):
    """Linear attention read as a vector autoregression, for one series (SAMoVAR's idea, small).

    One causal linear-attention layer without softmax, feature map or normaliser,
    ``o_t = Σ_{i≤t} (q_t · k_i) v_i``, is a VAR on its keys with lag weights ``v_i q_tᵀ`` that are
    recomputed at every step (Lu & Yang 2025, section 3). SAMoVAR keeps that reading exact:

    - keys are the observations themselves, no key projection: here k_i = x_i, the scaled month;
    - queries and values come from the input h_i = MLPs(Linear(x_i) + lag embedding), values
      RMS-normalised per head (the authors' code, models/AutoregressiveAlignment.py, normalises both;
      a query of one number per head has no norm worth taking);
    - each head is one dynamic AR(l) and the heads are summed by the read-out (the mixture of VARs;
      with one series SAMoVAR's structural matrix folds into that read-out).

    So the forecast is ``ŷ = c + Σ_i w_i x_i`` with weights ``w_i = Σ_heads q_l · (r_h · v_i)``
    chosen by the window itself. AR(p) is the special case q = 1, v_i = a_{lag(i)} (``load_ar``).
    Differences from the paper: one series, month tokens rather than segments, one attention
    layer, trained on the last position only (the paper uses every position).
    """

    def __init__(self, d_model: int = 32, n_heads: int = 4, mlp_layers: int = 1, qv_norm: bool = True,
                 max_len: int = 512, input_size: int = 1):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be a multiple of n_heads={n_heads}.")
        if input_size != 1:
            raise ValueError("SAMoVARForecaster models one series: input_size must be 1 (keys are the observations).")
        self.kind, self.n_heads, self.d_head = "samovar", n_heads, d_model // n_heads
        self.embed = nn.Linear(1, d_model)
        self.lags = LagEmbedding(max_len, d_model)
        self.mlps = nn.ModuleList(nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, 2 * d_model), nn.GELU(),
                                                nn.Linear(2 * d_model, d_model)) for _ in range(mlp_layers))
        self.q_proj = nn.Linear(d_model, n_heads)  # one query number per head: the key is one number
        self.v_proj = nn.Linear(d_model, d_model)
        self.v_norm = nn.RMSNorm(self.d_head) if qv_norm else nn.Identity()
        self.head = nn.Linear(d_model, 1)  # read-out r over heads and value dims, bias = intercept

    def _qv(self, x):
        h = self.lags(self.embed(x))  # (b, l, d_model)
        for mlp in self.mlps:
            h = h + mlp(h)  # all MLPs first, so the keys below stay the observations
        b, l, _ = h.shape
        q = self.q_proj(h).transpose(1, 2).unsqueeze(-1)  # (b, h, l, 1)
        v = self.v_norm(self.v_proj(h).view(b, l, self.n_heads, self.d_head)).transpose(1, 2)  # (b, h, l, d_head)
        return q, v

    def forward(self, x):
        b, l, _ = x.shape
        q, v = self._qv(x)
        k = x.unsqueeze(1).expand(b, self.n_heads, l, 1)  # (b, h, l, 1): the observations are the keys
        o = linear_attention(q, k, v, feature_map=None, normalize=False)  # (b, h, l, d_head)
        return self.head(o[:, :, -1].reshape(b, -1)).squeeze(-1)  # (b,)

    @torch.no_grad()
    def lag_weights(self, x) -> torch.Tensor:
        """The AR weights the model uses on each window: w (b, l) with ŷ = head.bias + Σ_i w_i x_i."""
        b, l, _ = x.shape
        q, v = self._qv(x)
        r = self.head.weight.view(self.n_heads, self.d_head)  # read-out per head
        return torch.einsum("bh,bhld,hd->bl", q[:, :, -1, 0], v, r)

    @torch.no_grad()
    def load_ar(self, coef) -> "SAMoVARForecaster":
        """Set the weights so that the model computes AR(p) with ``coef`` = (intercept, oldest .. newest).

        ``coef`` is ``AutoRegressive.coef_``. Needs ``mlp_layers=0``, ``qv_norm=False``, ``n_heads=1`` and
        ``d_model >= p``: the lag embedding becomes one-hot in the lag, the query 1, and the value of
        lag j the AR coefficient a_j, so ``q_l v_i`` is the coefficient of x_i.
        """
        coef = np.asarray(coef, dtype=np.float64)
        p = len(coef) - 1
        if self.mlps or not isinstance(self.v_norm, nn.Identity) or self.n_heads != 1 or self.d_head < p:
            raise ValueError(f"load_ar needs mlp_layers=0, qv_norm=False, n_heads=1 and d_model >= p={p}.")
        for param in self.parameters():
            param.zero_()
        self.lags.weight[:p, :p] = torch.eye(p)  # lag j -> e_j (lags >= p -> 0)
        self.q_proj.bias.fill_(1.0)  # q_t = 1
        self.v_proj.weight[0, :p] = torch.as_tensor(coef[1:][::-1].copy())  # v_i[0] = a_{lag(i)}, newest first
        self.head.weight[0, 0] = 1.0
        self.head.bias.fill_(coef[0])  # the intercept
        return self

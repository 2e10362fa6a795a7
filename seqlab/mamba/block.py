"""The Mamba block (Gu & Dao 2023, arXiv 2312.00752, Figure 3), mamba-ssm's names and init.

Glossary:

    b        batch size                 l        sequence length
    d_model  width of the block's input and output
    d_inner  width inside the block = expand * d_model ("E D" in the paper)
    d_state  state size per channel, n ("N")
    d_conv   kernel width of the causal depthwise convolution
    dt_rank  rank of the low-rank projection that produces Δ (ceil(d_model / 16) by default)

Data flow (mirrors ``Mamba.forward`` in mamba-ssm, mamba_ssm/modules/mamba_simple.py):

    hidden_states (b, l, d_model)
      in_proj  -> x, z                          (b, l, d_inner) each
      x: conv1d (causal, depthwise) -> silu     (b, l, d_inner)
      x_proj(x) -> dt, B, C                     (b, l, dt_rank), (b, l, d_state) x 2
      dt_proj.weight @ dt -> delta              (b, l, d_inner)   (its bias goes into the scan)
      y = selective_scan(x, delta, A, B, C, D, z, delta_bias, softplus)   (b, l, d_inner)
      out_proj(y)                               (b, l, d_model)

Parameter names and shapes are mamba-ssm's (``in_proj``, ``conv1d``, ``x_proj``, ``dt_proj``,
``A_log``, ``D``, ``out_proj``), which mambapy's ``MambaBlock`` shares, so a ``state_dict``
loads into either and back.

Generation code written for mamba-ssm runs too: the constructor takes its ``use_fast_path``
and ``layer_idx``, ``forward(hidden_states, inference_params)`` reads and updates the cache in
``inference_params.key_value_memory_dict[layer_idx]`` (inference.py), and
``allocate_inference_cache`` makes one; ``allocate_cache`` / ``step`` are seqlab's own,
simpler form of the same recurrence.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import inference
from .backends import resolve_backend
from .scan import _compute_dtype, _selective_scan_bld, selective_scan_step

__all__ = ["Mamba"]

log = logging.getLogger(__name__)


class Mamba(nn.Module):
    """A Mamba block: (b, l, d_model) -> (b, l, d_model).

    Args mirror ``mamba_ssm.Mamba`` (same order). ``use_fast_path``: with the mamba_ssm
    backend, False skips its fused kernel (mamba_inner_fn), as in mamba-ssm; seqlab's scan gives
    the same numbers either way. ``layer_idx``: this block's key in
    ``inference_params.key_value_memory_dict``. ``backend``: "torch" (seqlab's scan, any device),
    "mamba_ssm" (mamba-ssm's CUDA kernels, error if they cannot run here) or "auto" (the
    kernels when CUDA and mamba_ssm are usable, else torch). ``backend_in_use`` says which.
    """

    def __init__(
        self,
        d_model,
        d_state=16,
        d_conv=4,
        expand=2,
        dt_rank="auto",
        dt_min=0.001,
        dt_max=0.1,
        dt_init="random",
        dt_scale=1.0,
        dt_init_floor=1e-4,
        conv_bias=True,
        bias=False,
        use_fast_path=True,
        layer_idx=None,
        device=None,
        dtype=None,
        backend="auto",
    ):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        if dt_init not in ("random", "constant"):
            raise ValueError(f"dt_init must be 'random' or 'constant', got {dt_init!r}")
        self.use_fast_path = use_fast_path
        self.layer_idx = layer_idx
        self.d_model = d_model
        self.d_state = d_state
        self.d_conv = d_conv
        self.expand = expand
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else dt_rank
        self.backend = backend
        self.backend_in_use, self._kernels = resolve_backend(backend)
        log.info("seqlab.mamba.Mamba: backend=%r -> using %s", backend, self.backend_in_use)

        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias, **factory_kwargs)
        self.conv1d = nn.Conv1d(
            self.d_inner,
            self.d_inner,
            kernel_size=d_conv,
            groups=self.d_inner,  # depthwise: each channel its own short filter
            padding=d_conv - 1,  # then keep the first l outputs: causal
            bias=conv_bias,
            **factory_kwargs,
        )
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False, **factory_kwargs)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True, **factory_kwargs)

        # Δ's projection keeps the variance of its input at initialisation.
        dt_init_std = self.dt_rank**-0.5 * dt_scale
        if dt_init == "constant":
            nn.init.constant_(self.dt_proj.weight, dt_init_std)
        else:
            nn.init.uniform_(self.dt_proj.weight, -dt_init_std, dt_init_std)
        # Δ's bias: softplus(bias) is log-uniform in [dt_min, dt_max], so each channel starts
        # with its own time scale. Inverse of softplus: dt + log(-expm1(-dt)).
        dt = torch.exp(
            torch.rand(self.d_inner, **factory_kwargs) * (math.log(dt_max) - math.log(dt_min))
            + math.log(dt_min)
        ).clamp(min=dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.dt_proj.bias._no_reinit = True

        # S4D-real initialisation A_n = -(n + 1), stored as log(-A) in float32 so A stays < 0.
        A = torch.arange(1, d_state + 1, dtype=torch.float32, device=device).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))  # (d_inner, d_state)
        self.A_log._no_weight_decay = True
        self.D = nn.Parameter(torch.ones(self.d_inner, device=device))  # (d_inner,) float32
        self.D._no_weight_decay = True

        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias, **factory_kwargs)

    def extra_repr(self):
        return (
            f"d_model={self.d_model}, d_state={self.d_state}, d_conv={self.d_conv}, expand={self.expand}, "
            f"dt_rank={self.dt_rank}, backend={self.backend!r}, backend_in_use={self.backend_in_use!r}"
        )

    def _check_input(self, hidden_states, length=None):
        shape = tuple(hidden_states.shape)
        if hidden_states.dim() != 3 or shape[-1] != self.d_model or (length is not None and shape[1] != length):
            want = f"(batch, {'length' if length is None else length}, d_model={self.d_model})"
            raise ValueError(f"Mamba expects hidden_states of shape {want}, got {shape}")
        if shape[1] == 0:
            raise ValueError(f"Mamba needs at least one time step, got shape {shape}")

    def forward(self, hidden_states, inference_params=None):
        """hidden_states (b, l, d_model) -> (b, l, d_model).

        With mamba-ssm's ``inference_params`` (e.g. ``seqlab.mamba.InferenceParams``) the
        block also reads and updates its cached state, as mamba-ssm's does (inference.py).
        """
        if inference_params is not None:
            return inference.forward_with_cache(self, hidden_states, inference_params)
        self._check_input(hidden_states)
        if self.backend_in_use == "mamba_ssm":
            if hidden_states.is_cuda:
                return self._forward_mamba_ssm(hidden_states)
            if self.backend == "mamba_ssm":
                raise ValueError(
                    "backend='mamba_ssm' runs on CUDA tensors only, got hidden_states on "
                    f"{hidden_states.device}; move the module and input with .cuda() or use backend='torch'"
                )
        return self._forward_torch(hidden_states)

    def _forward_torch(self, hidden_states):
        xz = self.in_proj(hidden_states)  # (b, l, 2 d_inner)
        x, z = xz.chunk(2, dim=-1)  # (b, l, d_inner) each
        x = F.silu(self._causal_conv(x))  # (b, l, d_inner)
        x_dbl = self.x_proj(x)  # (b, l, dt_rank + 2 d_state)
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.linear(dt, self.dt_proj.weight)  # (b, l, d_inner); bias added inside the scan
        ct = _compute_dtype(hidden_states)  # float32 like mamba-ssm (float64 stays float64)
        A = -torch.exp(self.A_log.to(ct))  # (d_inner, d_state)
        y, _ = _selective_scan_bld(
            x.to(ct),
            delta.to(ct),
            A,
            B.to(ct),
            C.to(ct),
            self.D.to(ct),
            z.to(ct),
            delta_bias=self.dt_proj.bias.to(ct),
            delta_softplus=True,
        )  # (b, l, d_inner)
        return self.out_proj(y.to(hidden_states.dtype))  # (b, l, d_model)

    def _causal_conv(self, x):
        """``self.conv1d(x.transpose(1, 2))[..., :l].transpose(1, 2)``: (b, l, d_inner) -> (b, l, d_inner).

        Output t sees inputs t - d_conv + 1 .. t (zeros before the start). Written as d_conv
        shifted multiply-adds in the channels-last layout: same numbers, and on a CPU about 3x
        faster forward + backward than the depthwise Conv1d at these sizes.
        """
        length = x.shape[1]
        weight = self.conv1d.weight.squeeze(1)  # (d_inner, d_conv)
        x_pad = F.pad(x, (0, 0, self.d_conv - 1, 0))  # (b, d_conv - 1 + l, d_inner)
        out = x_pad[:, :length] * weight[:, 0]
        for k in range(1, self.d_conv):
            out = torch.addcmul(out, x_pad[:, k : k + length], weight[:, k])
        return out if self.conv1d.bias is None else out + self.conv1d.bias

    def _forward_mamba_ssm(self, hidden_states):
        """mamba-ssm's kernels, called as mamba_simple.Mamba.forward calls them."""
        length = hidden_states.shape[1]
        xz = self.in_proj(hidden_states).transpose(1, 2).contiguous()  # (b, 2 d_inner, l), l fastest
        A = -torch.exp(self.A_log.float())  # (d_inner, d_state)
        if self._kernels.mamba_inner_fn is not None and self.use_fast_path:  # fused: conv, projections, scan, gate
            return self._kernels.mamba_inner_fn(
                xz,
                self.conv1d.weight,
                self.conv1d.bias,
                self.x_proj.weight,
                self.dt_proj.weight,
                self.out_proj.weight,
                self.out_proj.bias,
                A,
                None,  # input-dependent B
                None,  # input-dependent C
                self.D.float(),
                delta_bias=self.dt_proj.bias.float(),
                delta_softplus=True,
            )
        x, z = xz.chunk(2, dim=1)  # (b, d_inner, l) each
        x = F.silu(self.conv1d(x)[..., :length])  # (b, d_inner, l)
        x_dbl = self.x_proj(x.transpose(1, 2))  # (b, l, dt_rank + 2 d_state)
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.linear(dt, self.dt_proj.weight).transpose(1, 2)  # (b, d_inner, l)
        y = self._kernels.selective_scan_fn(
            x.contiguous(),
            delta.contiguous(),
            A,
            B.transpose(1, 2).contiguous(),  # (b, d_state, l)
            C.transpose(1, 2).contiguous(),
            self.D.float(),
            z=z.contiguous(),
            delta_bias=self.dt_proj.bias.float(),
            delta_softplus=True,
        )  # (b, d_inner, l)
        return self.out_proj(y.transpose(1, 2))  # (b, l, d_model)

    # ----------------------------------------------------------------- recurrent inference

    def allocate_inference_cache(self, batch_size, max_seqlen=None, dtype=None, **kwargs):
        """mamba-ssm's form of ``allocate_cache``: (conv_state, ssm_state) zeros. ``max_seqlen``
        is accepted for mamba-ssm's callers and not needed (the state does not grow)."""
        return self.allocate_cache(batch_size, dtype=dtype)

    def allocate_cache(self, batch_size, device=None, dtype=None):
        """Zero cache for ``step``: conv_state (b, d_inner, d_conv), ssm_state (b, d_inner, d_state) in float32
        (float64 for a float64 module)."""
        device = self.out_proj.weight.device if device is None else device
        conv_dtype = self.conv1d.weight.dtype if dtype is None else dtype
        conv_state = torch.zeros(batch_size, self.d_inner, self.d_conv, device=device, dtype=conv_dtype)
        ssm_dtype = torch.float64 if self.dt_proj.weight.dtype == torch.float64 else torch.float32
        ssm_state = torch.zeros(batch_size, self.d_inner, self.d_state, device=device, dtype=ssm_dtype)
        return conv_state, ssm_state

    def step(self, hidden_states, cache):
        """One token: hidden_states (b, 1, d_model) -> (out (b, 1, d_model), cache updated in place).

        ``cache`` = (conv_state (b, d_inner, d_conv), ssm_state (b, d_inner, d_state)), e.g. from
        ``allocate_cache``. Running ``step`` over a sequence from a zero cache gives ``forward``'s
        outputs (mirrors mamba_simple.Mamba.step).
        """
        self._check_input(hidden_states, length=1)
        conv_state, ssm_state = cache
        batch = hidden_states.shape[0]
        want = {"conv_state": (batch, self.d_inner, self.d_conv), "ssm_state": (batch, self.d_inner, self.d_state)}
        for name, t in (("conv_state", conv_state), ("ssm_state", ssm_state)):
            if tuple(t.shape) != want[name]:
                raise ValueError(
                    f"{name} must have shape {want[name]}, got {tuple(t.shape)}; use allocate_cache({batch})"
                )
        xz = self.in_proj(hidden_states.squeeze(1))  # (b, 2 d_inner)
        x, z = xz.chunk(2, dim=-1)  # (b, d_inner) each
        # Conv step: shift the window left by one and append the new input.
        conv_state.copy_(torch.roll(conv_state, shifts=-1, dims=-1))
        conv_state[:, :, -1] = x
        x = torch.sum(conv_state * self.conv1d.weight.squeeze(1), dim=-1)  # (b, d_inner)
        if self.conv1d.bias is not None:
            x = x + self.conv1d.bias
        x = F.silu(x)
        dt, B, C = torch.split(self.x_proj(x), [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.linear(dt, self.dt_proj.weight)  # (b, d_inner)
        A = -torch.exp(self.A_log.float())  # (d_inner, d_state)
        y = selective_scan_step(
            ssm_state, x, delta, A, B, C, self.D, z, delta_bias=self.dt_proj.bias, delta_softplus=True
        )  # (b, d_inner)
        return self.out_proj(y).unsqueeze(1), (conv_state, ssm_state)


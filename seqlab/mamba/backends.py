"""Which selective-scan kernels the Mamba block runs: seqlab's PyTorch code or mamba-ssm's CUDA.

mamba-ssm (github.com/state-spaces/mamba) ships fused CUDA kernels only: ``import mamba_ssm``
needs the compiled ``selective_scan_cuda`` extension, which needs an NVIDIA GPU and the CUDA
toolchain at install time. On a laptop CPU it cannot run, so seqlab carries its own scan.

    "torch"      seqlab.mamba.scan, any device (CPU or GPU), float32 compute
    "mamba_ssm"  mamba_ssm's selective_scan_fn (and mamba_inner_fn when causal-conv1d is there)
    "auto"       "mamba_ssm" when CUDA is available and mamba_ssm imports, else "torch"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

__all__ = ["BACKENDS", "MambaKernels", "GPU_INSTALL", "load_mamba_ssm", "resolve_backend"]

BACKENDS = ("auto", "torch", "mamba_ssm")
GPU_INSTALL = (
    "on a machine with an NVIDIA GPU and the CUDA toolchain, after torch: "
    "pip install --no-build-isolation mamba-ssm==2.3.2.post1 causal-conv1d==1.7.0 "
    '(or pip install --no-build-isolation "seqlab[gpu]")'
)


@dataclass
class MambaKernels:
    """mamba-ssm's entry points; ``mamba_inner_fn`` is None without causal-conv1d."""

    selective_scan_fn: Callable[..., Any]
    mamba_inner_fn: Callable[..., Any] | None


def load_mamba_ssm() -> tuple[MambaKernels | None, str]:
    """Try mamba-ssm's kernels. Returns (kernels, "") or (None, why they are unavailable)."""
    if not torch.cuda.is_available():
        return None, "CUDA is not available (torch.cuda.is_available() is False)"
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception as exc:  # a broken build raises ImportError, OSError, RuntimeError, ...
        return None, f"import mamba_ssm failed: {type(exc).__name__}: {exc}"
    try:
        import causal_conv1d  # noqa: F401  mamba_inner_fn needs it
        from mamba_ssm.ops.selective_scan_interface import mamba_inner_fn
    except Exception:
        mamba_inner_fn = None
    return MambaKernels(selective_scan_fn, mamba_inner_fn), ""


def resolve_backend(backend: str) -> tuple[str, MambaKernels | None]:
    """Map "auto" / "torch" / "mamba_ssm" to the backend in use and its kernels.

    Raises ValueError for an unknown name, RuntimeError when "mamba_ssm" is asked for and
    cannot run here (saying why and how to install it).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch":
        return "torch", None
    kernels, why = load_mamba_ssm()
    if kernels is not None:
        return "mamba_ssm", kernels
    if backend == "auto":
        return "torch", None
    raise RuntimeError(
        f"backend='mamba_ssm' is unavailable: {why}. Use backend='torch' (runs everywhere) or "
        f"install the kernels {GPU_INSTALL}."
    )

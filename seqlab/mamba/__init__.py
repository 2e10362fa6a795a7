"""Mamba in plain PyTorch: the selective scan (``scan``), the block (``block``), and the choice
between seqlab's code and mamba-ssm's CUDA kernels (``backends``).

    from seqlab.mamba import Mamba, selective_scan, selective_scan_sequential
"""

from .backends import BACKENDS, GPU_INSTALL, load_mamba_ssm, resolve_backend
from .block import Mamba
from .inference import InferenceParams
from .scan import selective_scan, selective_scan_sequential, selective_scan_step

__all__ = [
    "BACKENDS",
    "GPU_INSTALL",
    "InferenceParams",
    "Mamba",
    "load_mamba_ssm",
    "resolve_backend",
    "selective_scan",
    "selective_scan_sequential",
    "selective_scan_step",
]

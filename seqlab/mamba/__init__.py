"""Mamba in plain PyTorch: the selective scan (``scan``), the block (``block``), and the choice
between seqlab's code and mamba-ssm's CUDA kernels (``backends``); the time-invariant SSM as a
convolution (``lti``) and the block with its parts switchable (``variants``).

    from seqlab.mamba import Mamba, selective_scan, selective_scan_sequential
"""

from .backends import BACKENDS, GPU_INSTALL, load_mamba_ssm, resolve_backend
from .block import Mamba
from .scan import selective_scan, selective_scan_sequential, selective_scan_step
from .lti import LTISSM, causal_conv, ssm_kernel
from .variants import MambaVariant

__all__ = [
    "BACKENDS",
    "GPU_INSTALL",
    "LTISSM",
    "Mamba",
    "MambaVariant",
    "causal_conv",
    "load_mamba_ssm",
    "resolve_backend",
    "selective_scan",
    "selective_scan_sequential",
    "selective_scan_step",
    "ssm_kernel",
]

"""seqlab's PyTorch Mamba against mamba-ssm's CUDA kernels on the same weights (GPU only).

Skipped unless CUDA is available and mamba_ssm imports (pip install --no-build-isolation
mamba-ssm==2.3.2.post1 causal-conv1d==1.7.0 on a CUDA machine). Run with ``pytest -m gpu -s``
to see the measured differences.

Tolerance: the kernels compute in float32 but in another order (a parallel scan in registers,
fused softplus/exp, a hand-written backward with recomputation), so agreement is at the level
of float32 accumulated over l steps and n states: atol 1e-3 (relative to the tensor's scale),
the value mamba-ssm's own tests use for float32.
"""

from __future__ import annotations

import pytest
import torch

from seqlab.mamba import Mamba, load_mamba_ssm, selective_scan

kernels, why = load_mamba_ssm()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(kernels is None, reason=f"needs mamba-ssm's CUDA kernels: {why}")]

ATOL = 1e-3


def max_rel_diff(a, b):
    return ((a.float() - b.float()).abs().max() / (b.float().abs().max() + 1.0)).item()


def forward_backward(module, x):
    x = x.clone().requires_grad_()
    y = module(x)
    w = torch.randn(y.shape, generator=torch.Generator(device=y.device).manual_seed(1), device=y.device)
    (y * w).sum().backward()
    return y.detach(), x.grad, {k: p.grad for k, p in module.named_parameters()}


@pytest.mark.parametrize("length", [12, 48, 129])
def test_block_torch_backend_equals_mamba_ssm_kernels(length):
    torch.manual_seed(0)
    ours = Mamba(64, d_state=16, d_conv=4, expand=2, backend="torch").cuda()
    fast = Mamba(64, d_state=16, d_conv=4, expand=2, backend="mamba_ssm").cuda()
    assert fast.backend_in_use == "mamba_ssm"
    fast.load_state_dict(ours.state_dict())
    x = torch.randn(8, length, 64, device="cuda")
    y, gx, gp = forward_backward(ours, x)
    y_k, gx_k, gp_k = forward_backward(fast, x)
    diffs = {"y": max_rel_diff(y_k, y), "x.grad": max_rel_diff(gx_k, gx)}
    diffs.update({f"{k}.grad": max_rel_diff(gp_k[k], gp[k]) for k in gp})
    print(f"\nl={length} fused={fast._kernels.mamba_inner_fn is not None} max rel diffs:",
          {k: f"{v:.2e}" for k, v in diffs.items()})
    assert all(v < ATOL for v in diffs.values()), diffs


def test_block_loads_into_mamba_ssm_module_and_back():
    from mamba_ssm import Mamba as MambaSSM

    torch.manual_seed(1)
    ours = Mamba(32, backend="torch").cuda()
    theirs = MambaSSM(32).cuda()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(4, 20, 32, device="cuda")
    diff = max_rel_diff(theirs(x), ours(x))
    print(f"\nmamba_ssm.Mamba vs seqlab: max rel diff {diff:.2e}")
    assert diff < ATOL
    ours.load_state_dict(theirs.state_dict())


def test_scan_equals_selective_scan_fn():
    torch.manual_seed(2)
    b, d, l, n = 4, 32, 64, 16
    u, delta, z = (torch.randn(b, d, l, device="cuda") for _ in range(3))
    A = -torch.rand(d, n, device="cuda") - 0.1
    B, C = (torch.randn(b, n, l, device="cuda") for _ in range(2))
    D, bias = torch.randn(d, device="cuda"), torch.randn(d, device="cuda")
    inputs = [t.requires_grad_() for t in (u, delta, A, B, C, D, z, bias)]
    outs = []
    for fn in (selective_scan, kernels.selective_scan_fn):
        y = fn(*inputs[:7], delta_bias=inputs[7], delta_softplus=True)
        g = torch.autograd.grad(y.square().sum(), inputs)
        outs.append((y, g))
    (y, g), (y_k, g_k) = outs
    diffs = [max_rel_diff(y_k, y)] + [max_rel_diff(a, b) for a, b in zip(g_k, g)]
    print("\nscan max rel diffs (y, du, ddelta, dA, dB, dC, dD, dz, dbias):", [f"{v:.2e}" for v in diffs])
    assert max(diffs) < ATOL

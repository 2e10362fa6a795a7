"""The time-invariant SSM as a convolution, the switchable block, and the selective-copying task.

Oracles: the kernel convolution against the recurrence (seqlab's own loop and the selective scan
with constant Δ, B, C), the FFT convolution against the direct sum, MambaVariant with every part
switched on against seqlab.mamba.Mamba on the same weights, and the task against its definition.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.mamba import Mamba, selective_scan_sequential
from seqlab.mamba.lti import LTISSM, causal_conv, causal_conv_direct, ssm_kernel
from seqlab.mamba.variants import MambaVariant
from seqlab.tasks import MARKER, NOISE, SelectiveCopying, selective_copying


def _lti(d=3, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = -torch.rand(d, n, generator=g, dtype=torch.float64) - 0.2
    B, C = torch.randn(d, n, generator=g, dtype=torch.float64), torch.randn(d, n, generator=g, dtype=torch.float64)
    delta = torch.rand(d, generator=g, dtype=torch.float64) + 0.05
    return A, B, C, delta


def test_kernel_taps_are_C_Abar_power_k_Bbar():
    A, B, C, delta = _lti()
    K = ssm_kernel(A, B, C, delta, 6)
    A_bar, B_bar = torch.exp(delta[:, None] * A), delta[:, None] * B
    for k in range(6):
        torch.testing.assert_close(K[:, k], (C * A_bar**k * B_bar).sum(-1))


@pytest.mark.parametrize("length", [1, 5, 32])
def test_fft_convolution_equals_direct_sum_and_selective_scan(length):
    A, B, C, delta = _lti(seed=length)
    u = torch.randn(2, 3, length, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y_fft = causal_conv(u, ssm_kernel(A, B, C, delta, length))
    torch.testing.assert_close(y_fft, causal_conv_direct(u, ssm_kernel(A, B, C, delta, length)))
    # the recurrence: the selective scan with Δ, B, C the same at every step (B, C of shape (d, n))
    y_scan = selective_scan_sequential(u, delta[:, None].expand(3, length).expand(2, 3, length).contiguous(), A, B, C)
    torch.testing.assert_close(y_fft, y_scan)


def test_causal_conv_is_causal():
    A, B, C, delta = _lti()
    u = torch.randn(1, 3, 10, dtype=torch.float64)
    v = u.clone()
    v[..., 6:] += 1.0  # change the future only
    K = ssm_kernel(A, B, C, delta, 10)
    torch.testing.assert_close(causal_conv(u, K)[..., :6], causal_conv(v, K)[..., :6])


def test_lti_layer_convolution_equals_its_recurrence_values_and_gradients():
    torch.manual_seed(0)
    layer = LTISSM(4, d_state=5).double()
    u = torch.randn(2, 4, 17, dtype=torch.float64)
    y_conv, y_rec = layer(u), layer.recurrence(u)
    torch.testing.assert_close(y_conv, y_rec)
    g_conv = torch.autograd.grad(y_conv.square().sum(), list(layer.parameters()))
    g_rec = torch.autograd.grad(layer.recurrence(u).square().sum(), list(layer.parameters()))
    for a, b in zip(g_conv, g_rec):
        torch.testing.assert_close(a, b)


def test_bad_shapes_raise_clear_errors():
    A, B, C, delta = _lti()
    with pytest.raises(ValueError, match="delta must be"):
        ssm_kernel(A, B, C, delta[:2], 4)
    with pytest.raises(ValueError, match="B must have A's shape"):
        ssm_kernel(A, B[:, :2], C, delta, 4)
    with pytest.raises(ValueError, match="K must be"):
        causal_conv(torch.zeros(1, 3, 8), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="LTISSM expects"):
        LTISSM(4)(torch.zeros(1, 3, 8))


def test_variant_with_every_part_on_is_mamba():
    torch.manual_seed(0)
    mamba = Mamba(16, d_state=8, backend="torch")
    variant = MambaVariant(16, d_state=8)
    variant.load_state_dict(mamba.state_dict())  # same names and shapes
    x = torch.randn(2, 9, 16)
    torch.testing.assert_close(variant(x), mamba(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("switches", [{"selective": False}, {"conv": False}, {"gate": False},
                                      {"dt_rank": 1}, {"dt_rank": "full"}, {"selective": False, "gate": False}])
def test_variants_are_causal_and_differentiable(switches):
    torch.manual_seed(0)
    block = MambaVariant(8, d_state=4, **switches)
    x = torch.randn(1, 12, 8)
    x2 = x.clone()
    x2[:, 7:] += 1.0
    torch.testing.assert_close(block(x)[:, :7], block(x2)[:, :7], atol=1e-6, rtol=1e-5)
    block(x).sum().backward()
    assert all(p.grad is not None for p in block.parameters())


def test_time_invariant_variant_is_a_convolution_of_its_input():
    """selective=False: the SSM part answers an impulse with the same kernel wherever it comes."""
    torch.manual_seed(0)
    block = MambaVariant(8, d_state=4, selective=False, conv=False, gate=False)
    K = ssm_kernel(-torch.exp(block.A_log), block.B, block.C, F.softplus(block.dt_bias), 10)
    u = torch.zeros(1, block.d_inner, 10)
    u[..., 3] = 1.0
    y = causal_conv(u, K)
    torch.testing.assert_close(y[..., 3:], K[None, :, :7])
    assert "dt_proj" not in dict(block.named_modules()) and "x_proj" not in dict(block.named_modules())


def test_dt_rank_changes_only_the_delta_projection_sizes():
    sizes = {r: MambaVariant(32, dt_rank=r) for r in (1, "auto", "full")}
    assert sizes[1].dt_proj.weight.shape == (64, 1) and sizes["auto"].dt_rank == 2
    assert sizes["full"].dt_proj.weight.shape == (64, 64)


def test_selective_copying_batches_follow_the_definition():
    task = SelectiveCopying(n_noise=10, n_tokens=3, vocab_size=5)
    tokens, targets = selective_copying(50, task, generator=torch.Generator().manual_seed(0))
    assert tokens.shape == (50, task.seq_len) == (50, 16) and targets.shape == (50, 3)
    body = tokens[:, : task.n_noise + task.n_tokens]
    assert (tokens[:, -3:] == MARKER).all()
    assert ((body == NOISE).sum(1) == 10).all()  # exactly n_tokens data tokens, the rest noise
    data = body[body >= 2].view(50, 3) - 2  # in order of position
    torch.testing.assert_close(data, targets)
    assert targets.min() >= 0 and targets.max() < 5
    # positions vary between sequences: the point of the task
    assert len({tuple((row >= 2).nonzero().flatten().tolist()) for row in body}) > 10
    again, _ = selective_copying(50, task, generator=torch.Generator().manual_seed(0))
    assert torch.equal(tokens, again)


def test_selective_copying_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_tokens >= 1"):
        SelectiveCopying(n_tokens=0)
    with pytest.raises(ValueError, match="batch_size"):
        selective_copying(0)

"""The Mamba block against mambapy's MambaBlock (an independent pure-PyTorch Mamba), plus init,
recurrent step, backend choice and errors."""

from __future__ import annotations

import math
import sys
import types

import pytest
import torch
import torch.nn.functional as F
from mambapy.mamba import MambaBlock, MambaConfig

from seqlab.mamba import GPU_INSTALL, Mamba, selective_scan_sequential
from seqlab.mamba import backends


def mambapy_block(d_model, d_state, d_conv, expand, pscan):
    config = MambaConfig(d_model=d_model, n_layers=1, d_state=d_state, d_conv=d_conv, expand_factor=expand, pscan=pscan)
    return MambaBlock(config)


def assert_close_scaled(actual, expected, what, rtol=1e-4):
    """|actual - expected| <= rtol * max|expected|: float32 error grows with the tensor's scale,
    and a fixed atol would hide errors in small gradients such as A_log's."""
    scale = expected.abs().max().item()
    diff = (actual - expected).abs().max().item()
    assert diff <= rtol * scale + 1e-12, f"{what}: max abs diff {diff:.3g}, scale {scale:.3g}"


def grads(module, x):
    x = x.clone().requires_grad_()
    y = module(x)
    w = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    (y * w).sum().backward()
    return y.detach(), x.grad, {k: p.grad for k, p in module.named_parameters()}


def test_state_dict_names_and_shapes_equal_mambapy_and_mamba_ssm():
    ours = Mamba(32, d_state=8, d_conv=3, expand=2)
    theirs = mambapy_block(32, 8, 3, 2, pscan=False)
    assert ours.dt_rank == theirs.config.dt_rank == math.ceil(32 / 16)
    shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    d_inner, r = 64, 2  # mamba_ssm.Mamba's documented shapes
    assert shapes == {
        "A_log": (d_inner, 8),
        "D": (d_inner,),
        "in_proj.weight": (2 * d_inner, 32),
        "conv1d.weight": (d_inner, 1, 3),
        "conv1d.bias": (d_inner,),
        "x_proj.weight": (r + 2 * 8, d_inner),
        "dt_proj.weight": (d_inner, r),
        "dt_proj.bias": (d_inner,),
        "out_proj.weight": (32, d_inner),
    }


@pytest.mark.parametrize("pscan", [False, True])
@pytest.mark.parametrize("length", [1, 5, 48])
def test_outputs_and_gradients_equal_mambapy(pscan, length):
    torch.manual_seed(length)
    # Δ in [0.05, 1] rather than the default [0.001, 0.1]: the state then carries far enough
    # that every parameter, A_log included, gets a gradient worth comparing.
    ours = Mamba(16, d_state=8, d_conv=4, expand=2, dt_min=0.05, dt_max=1.0)
    theirs = mambapy_block(16, 8, 4, 2, pscan=pscan)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, length, 16)
    y, gx, gp = grads(ours, x)
    y_ref, gx_ref, gp_ref = grads(theirs, x)
    assert y.shape == (3, length, 16)
    assert_close_scaled(y, y_ref, "output")
    assert_close_scaled(gx, gx_ref, "input gradient")
    assert gp.keys() == gp_ref.keys()
    for name in gp:
        assert_close_scaled(gp[name], gp_ref[name], f"gradient of {name}")


def test_weights_move_both_ways_with_mambapy():
    theirs = mambapy_block(16, 4, 4, 2, pscan=False)
    ours = Mamba(16, d_state=4)
    ours.load_state_dict(theirs.state_dict())  # mambapy -> seqlab
    x = torch.randn(2, 6, 16)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)


def test_initialisation_follows_mamba_ssm():
    torch.manual_seed(0)
    m = Mamba(40, d_state=6, expand=2, dt_min=0.002, dt_max=0.05)
    assert m.dt_rank == math.ceil(40 / 16) == 3 and m.d_inner == 80
    torch.testing.assert_close(m.A_log, torch.log(torch.arange(1, 7.0)).repeat(80, 1))
    assert m.A_log.dtype == torch.float32 and torch.equal(m.D, torch.ones(80))
    dt = F.softplus(m.dt_proj.bias)  # softplus(inverse softplus(dt)) = dt
    assert dt.min() >= 0.002 * 0.999 and dt.max() <= 0.05 * 1.001
    assert m.dt_proj.weight.abs().max() <= 3**-0.5
    c = Mamba(40, dt_init="constant", dt_scale=2.0)
    assert torch.allclose(c.dt_proj.weight, torch.full_like(c.dt_proj.weight, 2.0 * 3**-0.5))
    floor = Mamba(8, dt_min=1e-6, dt_max=1e-5, dt_init_floor=1e-4)
    torch.testing.assert_close(F.softplus(floor.dt_proj.bias), torch.full((16,), 1e-4))


@pytest.mark.parametrize("length", [1, 3, 9])
def test_step_by_step_equals_forward(length):
    torch.manual_seed(1)
    m = Mamba(12, d_state=5, d_conv=4)
    x = torch.randn(2, length, 12)
    cache = m.allocate_cache(2)
    assert cache[0].shape == (2, 24, 4) and cache[1].shape == (2, 24, 5)
    with torch.no_grad():
        steps = torch.cat([m.step(x[:, t : t + 1], cache)[0] for t in range(length)], dim=1)
        full = m(x)
    torch.testing.assert_close(steps, full, rtol=1e-5, atol=1e-6)


def test_block_gradcheck_in_float64():
    """In float64 the block computes in float64, so autograd's numerical gradcheck applies to
    everything at once: conv, projections, softplus and the hand-written scan backward."""
    torch.manual_seed(3)
    # .double(): A_log and D are float32 by default, like mamba-ssm. Δ in [0.1, 1] so that A_log's
    # gradient is large enough for the tolerance to see an error in it.
    m = Mamba(4, d_state=3, d_conv=2, expand=1, dt_min=0.1, dt_max=1.0).double()
    x = torch.randn(1, 4, 4, dtype=torch.float64, requires_grad=True)
    params = [p for _, p in m.named_parameters()]

    def f(x, *ps):
        state = dict(zip([k for k, _ in m.named_parameters()], ps))
        return torch.func.functional_call(m, state, (x,))

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-9, rtol=1e-5)
    assert m(x).dtype == torch.float64


def test_mamba_ssm_glue_matches_torch_path_with_a_stand_in_kernel():
    """The GPU path's layout (b, d, l) and argument order, checked on CPU with the reference scan
    standing in for mamba-ssm's selective_scan_fn (same signature)."""
    torch.manual_seed(2)
    m = Mamba(16, d_state=4, backend="torch")
    m._kernels = backends.MambaKernels(selective_scan_fn=selective_scan_sequential, mamba_inner_fn=None)
    x = torch.randn(2, 7, 16)
    torch.testing.assert_close(m._forward_mamba_ssm(x), m(x), rtol=1e-5, atol=1e-6)


def test_backend_torch_and_auto_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert Mamba(8, backend="torch").backend_in_use == "torch"
    m = Mamba(8, backend="auto")
    assert m.backend_in_use == "torch" and "backend_in_use='torch'" in repr(m)
    with pytest.raises(RuntimeError) as err:
        Mamba(8, backend="mamba_ssm")
    message = str(err.value)
    assert "CUDA is not available" in message
    assert "pip install --no-build-isolation mamba-ssm==2.3.2.post1 causal-conv1d==1.7.0" in message
    assert GPU_INSTALL in message


class _BrokenModule(types.ModuleType):
    """Stands in for a mamba_ssm build whose CUDA library fails to load (not an ImportError)."""

    def __getattr__(self, name):
        raise OSError("libcudart.so.12: cannot open shared object file")


def test_auto_falls_back_when_mamba_ssm_import_fails_with_any_exception(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for name in ("mamba_ssm", "mamba_ssm.ops", "mamba_ssm.ops.selective_scan_interface"):
        monkeypatch.setitem(sys.modules, name, _BrokenModule(name))
    assert Mamba(8, backend="auto").backend_in_use == "torch"
    with pytest.raises(RuntimeError) as err:
        Mamba(8, backend="mamba_ssm")
    assert "import mamba_ssm failed: OSError: libcudart.so.12" in str(err.value)


def test_auto_picks_mamba_ssm_when_it_imports(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    fake = types.ModuleType("mamba_ssm.ops.selective_scan_interface")
    fake.selective_scan_fn = selective_scan_sequential
    for name in ("mamba_ssm", "mamba_ssm.ops"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "mamba_ssm.ops.selective_scan_interface", fake)
    monkeypatch.setitem(sys.modules, "causal_conv1d", None)  # not installed: no fused mamba_inner_fn
    m = Mamba(8, backend="auto")
    assert m.backend_in_use == "mamba_ssm" and m._kernels.mamba_inner_fn is None
    with pytest.raises(ValueError, match="CUDA tensors only"):
        Mamba(8, backend="mamba_ssm")(torch.randn(1, 3, 8))  # CPU input, kernels asked for
    x = torch.randn(1, 3, 8)
    torch.testing.assert_close(m(x), m._forward_torch(x))  # auto: CPU input runs the torch path


def test_bad_arguments_raise_value_errors():
    m = Mamba(8, backend="torch")
    with pytest.raises(ValueError, match=r"backend must be one of .* got 'cuda'"):
        Mamba(8, backend="cuda")
    with pytest.raises(ValueError, match=r"\(batch, length, d_model=8\), got \(2, 8\)"):
        m(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"d_model=8\), got \(2, 5, 7\)"):
        m(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match=r"\(batch, 1, d_model=8\), got \(2, 3, 8\)"):
        m.step(torch.randn(2, 3, 8), m.allocate_cache(2))
    with pytest.raises(ValueError, match=r"ssm_state must have shape \(2, 16, 16\), got \(3, 16, 16\)"):
        conv_state, _ = m.allocate_cache(2)
        m.step(torch.randn(2, 1, 8), (conv_state, torch.zeros(3, 16, 16)))
    with pytest.raises(ValueError, match="dt_init must be 'random' or 'constant'"):
        Mamba(8, dt_init="normal")


@pytest.mark.parametrize("d_conv,conv_bias", [(1, True), (2, False), (4, True), (5, False)])
def test_causal_conv_equals_the_depthwise_conv1d(d_conv, conv_bias):
    torch.manual_seed(d_conv)
    m = Mamba(8, d_conv=d_conv, conv_bias=conv_bias)
    x = torch.randn(3, 6, 16)  # (b, l, d_inner)
    expected = m.conv1d(x.transpose(1, 2))[..., :6].transpose(1, 2)
    torch.testing.assert_close(m._causal_conv(x), expected, rtol=1e-5, atol=1e-6)

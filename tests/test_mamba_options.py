"""mamba-ssm's options beyond the block's own use: grouped and complex B/C, second derivatives of
the fast scan, and the block's generation interface (inference_params, layer_idx).

Oracles: an independent numpy loop (complex), the per-group reference (grouped), the reference
loop's autograd (second derivatives) and the block's own forward (cached generation).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from seqlab.mamba import InferenceParams, Mamba, selective_scan, selective_scan_sequential

SCANS = [selective_scan, selective_scan_sequential]


def scan_inputs(b=2, d=4, n=3, l=6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return dict(
        u=torch.randn(b, d, l, generator=g, dtype=dtype),
        delta=(0.5 * torch.rand(b, d, l, generator=g, dtype=dtype)),
        A=-0.5 * torch.rand(d, n, generator=g, dtype=dtype),
        B=torch.randn(b, n, l, generator=g, dtype=dtype),
        C=torch.randn(b, n, l, generator=g, dtype=dtype),
        D=torch.randn(d, generator=g, dtype=dtype),
        z=torch.randn(b, d, l, generator=g, dtype=dtype),
        delta_bias=0.5 * torch.rand(d, generator=g, dtype=dtype),
    )


# --- second derivatives ------------------------------------------------------------------------


def test_fast_scan_gradgradcheck():
    kw = scan_inputs()
    names = ["u", "delta", "A", "B", "C"]
    leaves = [kw[k].clone().requires_grad_() for k in names]

    def scan(*tensors):
        return selective_scan(*tensors, D=kw["D"], z=kw["z"], delta_softplus=True)

    assert torch.autograd.gradgradcheck(scan, leaves)


def test_fast_scan_second_derivatives_equal_the_reference():
    """A gradient penalty through both scans: the weight of every second-order term counts."""
    results = []
    for scan in SCANS:
        kw = {k: v.clone().requires_grad_() for k, v in scan_inputs(seed=3).items()}
        y = scan(**kw, delta_softplus=True)
        (du,) = torch.autograd.grad(y.pow(2).sum(), kw["u"], create_graph=True)
        du.pow(2).sum().backward()
        results.append([kw[k].grad for k in ("delta", "A", "B", "C", "D", "z", "delta_bias")])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)
        assert a.abs().max() > 0  # the second derivative is not silently zero


# --- grouped B/C -------------------------------------------------------------------------------


@pytest.mark.parametrize("scan", SCANS)
@pytest.mark.parametrize("groups", [1, 2, 4])
def test_grouped_B_C_equal_one_scan_per_group(scan, groups):
    kw = scan_inputs(d=4)
    b, n, l = 2, 3, 6
    g = torch.Generator().manual_seed(9)
    B = torch.randn(b, groups, n, l, generator=g, dtype=torch.float64)
    C = torch.randn(b, groups, n, l, generator=g, dtype=torch.float64)
    y, last = scan(**{**kw, "B": B, "C": C}, delta_softplus=True, return_last_state=True)
    per = 4 // groups
    for k in range(groups):
        rows = slice(k * per, (k + 1) * per)
        part = {name: (t[:, rows] if t.dim() == 3 else t[rows]) for name, t in kw.items() if name not in "BC"}
        y_k, last_k = selective_scan_sequential(
            **part, B=B[:, k], C=C[:, k], delta_softplus=True, return_last_state=True
        )
        torch.testing.assert_close(y[:, rows], y_k)
        torch.testing.assert_close(last[:, rows], last_k)


def test_groups_must_divide_d():
    kw = scan_inputs(d=4)
    with pytest.raises(ValueError, match="grouped .* with g dividing d=4"):
        selective_scan(**{**kw, "B": torch.zeros(2, 3, 3, 6, dtype=torch.float64)})


# --- complex A ---------------------------------------------------------------------------------


def complex_inputs(const_BC=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    b, d, n, l = 2, 4, 3, 6
    A = torch.complex(-0.5 * torch.rand(d, n, generator=g), torch.randn(d, n, generator=g))  # complex64
    if const_BC:
        B = torch.complex(torch.randn(d, n, generator=g), torch.randn(d, n, generator=g))
        C = torch.complex(torch.randn(d, n, generator=g), torch.randn(d, n, generator=g))
    else:  # (real, imaginary) pairs along time
        B, C = torch.randn(b, n, 2 * l, generator=g), torch.randn(b, n, 2 * l, generator=g)
    u, delta = torch.randn(b, d, l, generator=g), 0.5 * torch.rand(b, d, l, generator=g)
    return u, delta, A, B, C


def numpy_complex_scan(u, delta, A, B, C):
    """The complex recurrence in numpy, one step at a time; y = 2 Re<x_t, C_t>."""
    u, delta, A = u.double().numpy(), delta.double().numpy(), A.numpy().astype(complex)

    def per_step(M):  # (d, n) complex, or (b, n, 2l) pairs -> (b, 1, n, l) complex
        M = M.numpy()
        if M.ndim == 2:
            return M.astype(complex)
        return (M[..., 0::2] + 1j * M[..., 1::2])[:, None].astype(complex)

    B, C = per_step(B), per_step(C)
    b, d, l = u.shape
    x, y = np.zeros((b, d, A.shape[1]), complex), np.zeros((b, d, l))
    for t in range(l):
        B_t = B if B.ndim == 2 else B[..., t]
        C_t = C if C.ndim == 2 else C[..., t]
        x = np.exp(delta[:, :, t, None] * A) * x + delta[:, :, t, None] * B_t * u[:, :, t, None]
        y[:, :, t] = 2 * (x * C_t).sum(-1).real
    return y, x


@pytest.mark.parametrize("scan", SCANS)
@pytest.mark.parametrize("const_BC", [False, True])
def test_complex_A_equals_numpy(scan, const_BC):
    u, delta, A, B, C = complex_inputs(const_BC)
    y, last = scan(u, delta, A, B, C, return_last_state=True)
    y_np, last_np = numpy_complex_scan(u, delta, A, B, C)
    assert y.dtype == torch.float32 and last.dtype == torch.complex64
    np.testing.assert_allclose(y.numpy(), y_np, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(last.numpy(), last_np, rtol=1e-4, atol=1e-4)
    if const_BC:  # the imaginary parts matter (once they were silently dropped)
        assert (y - scan(u, delta, A.real.contiguous(), B.real, C.real)).abs().max() > 1e-2


def test_complex_A_with_real_constant_B_C_reads_them_as_complex():
    u, delta, A, B, C = complex_inputs(const_BC=True)
    y_real_BC = selective_scan(u, delta, A, B.real, C.real)
    y_complex_BC = selective_scan(u, delta, A, B.real.to(torch.complex64), C.real.to(torch.complex64))
    torch.testing.assert_close(y_real_BC, y_complex_BC)


def test_complex_gradients_flow_through_the_reference():
    u, delta, A, B, C = complex_inputs()
    A = A.clone().requires_grad_()
    B = B.clone().requires_grad_()
    selective_scan(u, delta, A, B, C).pow(2).sum().backward()
    assert A.grad.is_complex() and A.grad.imag.abs().max() > 0 and B.grad.abs().max() > 0


def test_complex_B_with_real_A_is_refused():
    kw = scan_inputs(dtype=torch.float32)
    with pytest.raises(ValueError, match="needs a complex A"):
        selective_scan(**{**kw, "B": torch.zeros(4, 3, dtype=torch.complex64)})
    with pytest.raises(ValueError, match="2 \\* l"):
        u, delta, A, B, C = complex_inputs()
        selective_scan(u, delta, A, B[..., :6], C)


# --- the block: mamba-ssm's constructor and generation interface ------------------------------------


def test_constructor_takes_mamba_ssm_arguments_in_its_order():
    names = list(inspect.signature(Mamba).parameters)
    mamba_ssm_order = [
        "d_model", "d_state", "d_conv", "expand", "dt_rank", "dt_min", "dt_max", "dt_init",
        "dt_scale", "dt_init_floor", "conv_bias", "bias", "use_fast_path", "layer_idx", "device", "dtype",
    ]
    assert names[: len(mamba_ssm_order)] == mamba_ssm_order
    m = Mamba(8, 16, 4, 2, "auto", 0.001, 0.1, "random", 1.0, 1e-4, True, False, False, 3, None, torch.float64)
    assert m.layer_idx == 3 and m.use_fast_path is False and m.in_proj.weight.dtype == torch.float64


@pytest.mark.parametrize("prompt", [1, 5])
def test_generation_with_inference_params_equals_forward(prompt):
    torch.manual_seed(0)
    blocks = [Mamba(8, layer_idx=i, backend="torch", dtype=torch.float64) for i in range(2)]
    x = torch.randn(2, 9, 8, dtype=torch.float64)

    def stack(h, params=None):
        for block in blocks:
            h = block(h, inference_params=params)
        return h

    expected = stack(x)
    params = InferenceParams(max_seqlen=9, max_batch_size=2)
    outs = [stack(x[:, :prompt], params)]  # the prompt
    params.seqlen_offset += prompt
    for t in range(prompt, 9):  # then one token at a time, from the cache
        outs.append(stack(x[:, t : t + 1], params))
        params.seqlen_offset += 1
    torch.testing.assert_close(torch.cat(outs, dim=1), expected)
    assert set(params.key_value_memory_dict) == {0, 1}


def test_allocate_inference_cache_shapes_and_layer_idx_needed():
    m = Mamba(8, d_state=5, d_conv=3, backend="torch")
    conv_state, ssm_state = m.allocate_inference_cache(2, max_seqlen=10)
    assert conv_state.shape == (2, 16, 3) and ssm_state.shape == (2, 16, 5)
    with pytest.raises(ValueError, match="layer_idx"):
        m(torch.randn(2, 3, 8), inference_params=InferenceParams(10, 2))

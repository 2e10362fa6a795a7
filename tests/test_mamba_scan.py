"""The selective scan: reference loop vs fast scan vs one step at a time vs numpy, values and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqlab.mamba import selective_scan, selective_scan_sequential, selective_scan_step

OPTIONS = [  # (use D, use z, use delta_bias, delta_softplus)
    (False, False, False, False),
    (True, True, True, True),
    (True, False, False, True),
    (False, True, True, False),
]


def make_inputs(b=2, d=3, l=7, n=4, seed=0, dtype=torch.float32, const_B=False, const_C=False):
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0):
        return (scale * torch.randn(*shape, generator=g)).to(dtype)

    return dict(
        u=rand(b, d, l),
        delta=(0.5 * torch.rand(b, d, l, generator=g) + 0.05).to(dtype),  # positive: also a valid Δ without softplus
        A=-(torch.rand(d, n, generator=g) * 2 + 0.1).to(dtype),  # A < 0
        B=rand(d, n) if const_B else rand(b, n, l),
        C=rand(d, n) if const_C else rand(b, n, l),
        D=rand(d),
        z=rand(b, d, l),
        delta_bias=rand(d, scale=0.3),
    )


def pick(inputs, use_D, use_z, use_bias):
    kw = dict(inputs)
    kw["D"] = kw["D"] if use_D else None
    kw["z"] = kw["z"] if use_z else None
    kw["delta_bias"] = kw["delta_bias"] if use_bias else None
    return kw


def run(fn, kw, softplus, last_state):
    leaves = {k: v.clone().requires_grad_() for k, v in kw.items() if v is not None}
    args = {k: leaves.get(k) for k in kw}
    out = fn(**args, delta_softplus=softplus, return_last_state=last_state)
    y, state = out if last_state else (out, None)
    # A fixed random weighting makes every output element matter to the gradient.
    w = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    loss = (y * w).sum() + (state.sum() if state is not None else 0.0)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return y.detach(), None if state is None else state.detach(), dict(zip(leaves, grads))


def assert_close(actual, expected, what, rtol=1e-5, atol=1e-5):
    # tolerance relative to the tensor's scale: float32 sums over l steps and n states
    scale = expected.abs().max().item() + 1.0
    diff = (actual - expected).abs().max().item()
    assert diff <= atol * scale + rtol * scale, f"{what}: max abs diff {diff:.3g} (scale {scale:.3g})"


@pytest.mark.parametrize("length", [1, 7, 48, 100])
@pytest.mark.parametrize("use_D,use_z,use_bias,softplus", OPTIONS)
@pytest.mark.parametrize("last_state", [False, True])
def test_fast_equals_sequential_values_and_gradients(length, use_D, use_z, use_bias, softplus, last_state):
    kw = pick(make_inputs(l=length, seed=length), use_D, use_z, use_bias)
    y_ref, s_ref, g_ref = run(selective_scan_sequential, kw, softplus, last_state)
    y, s, g = run(selective_scan, kw, softplus, last_state)
    assert y.shape == (2, 3, length)
    assert_close(y, y_ref, "y")
    if last_state:
        assert s.shape == (2, 3, 4)
        assert_close(s, s_ref, "last state")
    assert g.keys() == g_ref.keys()
    for name in g_ref:
        assert_close(g[name], g_ref[name], f"grad {name}", atol=2e-5)


@pytest.mark.parametrize("length", [1, 7, 48, 100])
def test_step_by_step_equals_the_scan(length):
    kw = make_inputs(l=length, seed=3)
    y_ref, last_ref = selective_scan_sequential(**kw, delta_softplus=True, return_last_state=True)
    y_fast = selective_scan(**kw, delta_softplus=True)
    state = torch.zeros(2, 3, 4)
    ys = []
    for t in range(length):
        ys.append(
            selective_scan_step(
                state, kw["u"][..., t], kw["delta"][..., t], kw["A"], kw["B"][..., t], kw["C"][..., t],
                kw["D"], kw["z"][..., t], kw["delta_bias"], delta_softplus=True,
            )
        )
    y_steps = torch.stack(ys, dim=-1)
    assert_close(y_steps, y_ref, "step vs sequential")
    assert_close(y_steps, y_fast, "step vs fast")
    assert_close(state, last_ref, "state after the last step")


def numpy_scan(u, delta, A, B, C, D, z, delta_bias):
    """Independent oracle: scalar loops over b, d, n, t with explicit ZOH-style discretisation."""
    u, delta, A, B, C, D, z, delta_bias = (np.asarray(t, dtype=np.float64) for t in (u, delta, A, B, C, D, z, delta_bias))
    b, d, l = u.shape
    n = A.shape[1]
    y = np.zeros((b, d, l))
    for i in range(b):
        for c in range(d):
            for k in range(n):
                x = 0.0
                for t in range(l):
                    step = math.log1p(math.exp(delta[i, c, t] + delta_bias[c]))  # softplus
                    a_bar = math.exp(step * A[c, k])  # zero-order hold for A
                    b_t = B[c, k] if B.ndim == 2 else B[i, k, t]
                    c_t = C[c, k] if C.ndim == 2 else C[i, k, t]
                    x = a_bar * x + step * b_t * u[i, c, t]  # Euler-like B̄ = Δ B
                    y[i, c, t] += c_t * x
    y += D[None, :, None] * u
    return y * z / (1 + np.exp(-z))  # silu gate


@pytest.mark.parametrize("const_B,const_C", [(False, False), (True, True), (True, False)])
def test_sequential_matches_an_independent_numpy_formulation(const_B, const_C):
    kw = make_inputs(l=9, seed=5, const_B=const_B, const_C=const_C)
    expected = numpy_scan(**kw)
    for fn in (selective_scan_sequential, selective_scan):
        got = fn(**kw, delta_softplus=True).double().numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_gradcheck_sequential_and_fast_in_float64():
    kw = make_inputs(b=1, d=2, l=5, n=3, seed=7, dtype=torch.float64)
    names = list(kw)
    for fn in (selective_scan_sequential, selective_scan):
        def f(*tensors):
            return fn(**dict(zip(names, tensors)), delta_softplus=True, return_last_state=True)

        leaves = [t.clone().requires_grad_() for t in kw.values()]
        assert torch.autograd.gradcheck(f, leaves, eps=1e-6, atol=1e-6, rtol=1e-4), fn.__name__


def test_the_gradient_comparison_can_fail():
    """The gradient comparison above is sensitive: a 1% change of A is caught."""
    kw = make_inputs(l=7, seed=2)
    _, _, g_ref = run(selective_scan_sequential, kw, True, False)
    bad = dict(kw)
    bad["A"] = kw["A"] * 1.01
    _, _, g_bad = run(selective_scan, bad, True, False)
    with pytest.raises(AssertionError):
        assert_close(g_bad["delta"], g_ref["delta"], "delta")


def test_low_precision_input_is_computed_in_float32_and_returned_in_its_dtype():
    kw = make_inputs(l=12, seed=4)
    ref = selective_scan_sequential(**kw, delta_softplus=True)
    half = {k: v.to(torch.bfloat16) for k, v in kw.items()}
    for fn in (selective_scan_sequential, selective_scan):
        y, state = fn(**half, delta_softplus=True, return_last_state=True)
        assert y.dtype == torch.bfloat16 and state.dtype == torch.float32
        assert (y.float() - ref).abs().max() < 0.1  # bf16 inputs: ~3 significant digits


@pytest.mark.parametrize(
    "change,needle",
    [
        (dict(u=torch.zeros(2, 3)), "u must be (batch, d, length)"),
        (dict(u=torch.zeros(2, 3, 0), delta=torch.zeros(2, 3, 0), B=torch.zeros(2, 4, 0), C=torch.zeros(2, 4, 0), z=torch.zeros(2, 3, 0)), "length >= 1"),
        (dict(delta=torch.zeros(2, 3, 6)), "delta must have shape (2, 3, 7)"),
        (dict(A=torch.zeros(5, 4)), "A must be (d, n) = (3, n)"),
        (dict(B=torch.zeros(2, 7, 4)), "B must be input-dependent (batch, n, length) = (2, 4, 7)"),
        (dict(C=torch.zeros(2, 5, 7)), "C must be"),
        (dict(D=torch.zeros(4)), "D must have shape (3,)"),
        (dict(z=torch.zeros(2, 7, 3)), "z must have shape (2, 3, 7)"),
        (dict(delta_bias=torch.zeros(3, 1)), "delta_bias must have shape (3,)"),
    ],
)
def test_bad_shapes_raise_value_errors_naming_expected_and_received(change, needle):
    kw = {**make_inputs(), **change}
    for fn in (selective_scan_sequential, selective_scan):
        with pytest.raises(ValueError) as err:
            fn(**kw)
        assert needle in str(err.value)
        assert "got" in str(err.value)


@pytest.mark.parametrize("length", [1, 7, 48])
def test_no_grad_path_equals_the_training_path(length):
    """Without autograd the fast scan steps through time on small slabs; same numbers."""
    kw = make_inputs(l=length, seed=11)
    leaves = {k: v.clone().requires_grad_() for k, v in kw.items()}
    y_train, s_train = selective_scan(**leaves, delta_softplus=True, return_last_state=True)
    with torch.no_grad():
        y_infer, s_infer = selective_scan(**kw, delta_softplus=True, return_last_state=True)
    assert y_train.requires_grad and not y_infer.requires_grad
    assert_close(y_infer, y_train.detach(), "y")
    assert_close(s_infer, s_train.detach(), "last state")

"""seqlab.attention against its oracles: torch's SDPA, the recurrent form, the sequential SSM."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.attention import (
    LinearAttentionState,
    elu_feature_map,
    linear_attention,
    linear_attention_recurrent,
    segsum,
    softmax_attention,
    ssd_chunked,
    ssd_decay_mask,
    ssd_quadratic,
    ssd_sequential,
)
from seqlab.mamba import selective_scan_sequential

SIZES = [(1, 1, 1, 1, 1), (2, 3, 7, 5, 4), (3, 2, 16, 8, 8), (1, 4, 33, 16, 3)]  # (b, h, l, e, p)


def _rand(*shape, g, dtype=torch.float64):
    return torch.randn(*shape, generator=g, dtype=dtype)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("b, h, l, e, p", SIZES)
def test_softmax_attention_equals_sdpa_outputs_and_gradients(b, h, l, e, p, causal):
    g = torch.Generator().manual_seed(l)
    q, k, v = (_rand(b, h, l, d, g=g).requires_grad_() for d in (e, e, p))
    ours = softmax_attention(q, k, v, causal=causal)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(ours, ref)
    w = _rand(*ref.shape, g=g)
    torch.testing.assert_close(torch.autograd.grad((ours * w).sum(), (q, k, v)),
                               torch.autograd.grad((ref * w).sum(), (q, k, v)))


def test_softmax_attention_weights_are_causal_distributions():
    g = torch.Generator().manual_seed(0)
    q, k, v = (_rand(2, 6, 4, g=g) for _ in range(3))
    _, weights = softmax_attention(q, k, v, return_weights=True)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 6, dtype=torch.float64))
    assert torch.all(weights.triu(1) == 0)
    with pytest.raises(ValueError, match="need q"):
        softmax_attention(q, k[..., :3], v)


@pytest.mark.parametrize("b, h, l, e, p", SIZES)
def test_linear_attention_parallel_equals_recurrent_and_a_plain_loop(b, h, l, e, p):
    g = torch.Generator().manual_seed(100 + l)
    q, k, v = (_rand(b, h, l, d, g=g).requires_grad_() for d in (e, e, p))
    parallel = linear_attention(q, k, v)
    recurrent = linear_attention_recurrent(q, k, v)
    # a third opinion, straight from the definition: weights φ(q_i)·φ(k_j) / Σ_j φ(q_i)·φ(k_j)
    fq, fk = elu_feature_map(q), elu_feature_map(k)
    scores = (fq @ fk.transpose(-2, -1)).tril()
    definition = (scores @ v) / (scores.sum(-1, keepdim=True) + 1e-6)
    torch.testing.assert_close(parallel, recurrent, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(parallel, definition, rtol=1e-12, atol=1e-12)
    w = _rand(*parallel.shape, g=g)
    torch.testing.assert_close(torch.autograd.grad((parallel * w).sum(), (q, k, v)),
                               torch.autograd.grad((recurrent * w).sum(), (q, k, v)))


def test_linear_attention_float32_agrees_and_noncausal_is_the_full_sum():
    g = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(2, 64, 16, generator=g) for _ in range(3))
    torch.testing.assert_close(linear_attention(q, k, v), linear_attention_recurrent(q, k, v), rtol=1e-5, atol=1e-6)
    full = linear_attention(q, k, v, causal=False)
    fq, fk = elu_feature_map(q), elu_feature_map(k)
    scores = fq @ fk.transpose(-2, -1)
    torch.testing.assert_close(full, (scores @ v) / (scores.sum(-1, keepdim=True) + 1e-6), rtol=1e-5, atol=1e-6)


def test_linear_attention_step_keeps_constant_memory():
    g = torch.Generator().manual_seed(3)
    q, k, v = (_rand(2, 10, 4, g=g) for _ in range(3))
    state = LinearAttentionState.zeros((2,), 4, 4, dtype=torch.float64)
    shapes = set()
    outs = []
    for t in range(10):
        outs.append(state.step(q[:, t], k[:, t], v[:, t]))
        shapes.add((tuple(state.S.shape), tuple(state.z.shape)))
    assert shapes == {((2, 4, 4), (2, 4))}
    torch.testing.assert_close(torch.stack(outs, 1), linear_attention(q, k, v))


def _ssd_inputs(b, l, h, p, n, g, dtype=torch.float64):
    X = torch.randn(b, l, h, p, generator=g, dtype=dtype)
    log_a = -torch.rand(b, l, h, generator=g, dtype=dtype)  # a in (e^-1, 1]
    B, C = (torch.randn(b, l, h, n, generator=g, dtype=dtype) for _ in range(2))
    return X, log_a, B, C


def test_segsum_and_decay_mask_by_hand():
    x = torch.tensor([0.5, -1.0, 2.0, 0.25], dtype=torch.float64)
    out = segsum(x)
    for t in range(4):
        for s in range(4):
            expected = x[s + 1:t + 1].sum() if t >= s else float("-inf")
            assert out[t, s] == expected
    log_a = torch.log(torch.tensor([0.9, 0.5, 0.8], dtype=torch.float64))
    L = ssd_decay_mask(log_a)
    torch.testing.assert_close(L, torch.tensor([[1, 0, 0], [0.5, 1, 0], [0.4, 0.8, 1]], dtype=torch.float64))
    log_a = -torch.rand(3, 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(ssd_decay_mask(log_a), torch.exp(segsum(log_a)))  # cumsum differences == stable sums


def test_ssd_one_group_of_B_C_is_shared_by_all_heads():
    g = torch.Generator().manual_seed(11)
    X, log_a, B, C = _ssd_inputs(2, 21, 3, 4, 5, g)
    B1, C1 = B[:, :, :1], C[:, :, :1]
    expected, _ = ssd_sequential(X, log_a, B1.expand_as(B), C1.expand_as(C))
    torch.testing.assert_close(ssd_quadratic(X, log_a, B1, C1), expected)
    torch.testing.assert_close(ssd_chunked(X, log_a, B1, C1, chunk_size=8)[0], expected)


@pytest.mark.parametrize("b, l, h, p, n, chunk", [(1, 1, 1, 1, 1, 4), (2, 12, 3, 4, 5, 4), (2, 37, 2, 8, 16, 8),
                                                   (1, 64, 4, 3, 2, 64), (3, 50, 1, 2, 6, 16)])
def test_ssd_three_ways_agree(b, l, h, p, n, chunk):
    g = torch.Generator().manual_seed(l * 10 + h)
    X, log_a, B, C = (t.requires_grad_() for t in _ssd_inputs(b, l, h, p, n, g))
    y_seq, last_seq = ssd_sequential(X, log_a, B, C)
    y_quad = ssd_quadratic(X, log_a, B, C)
    y_chunk, last_chunk = ssd_chunked(X, log_a, B, C, chunk_size=chunk)
    torch.testing.assert_close(y_quad, y_seq, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(y_chunk, y_seq, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(last_chunk, last_seq, rtol=1e-10, atol=1e-10)
    w = torch.randn(y_seq.shape, generator=g, dtype=torch.float64)
    inputs = (X, log_a, B, C)
    torch.testing.assert_close(torch.autograd.grad((y_chunk * w).sum(), inputs),
                               torch.autograd.grad((y_seq * w).sum(), inputs), rtol=1e-9, atol=1e-9)


def test_ssd_chunked_carries_an_initial_state():
    g = torch.Generator().manual_seed(5)
    X, log_a, B, C = _ssd_inputs(2, 20, 2, 3, 4, g)
    H0 = torch.randn(2, 2, 4, 3, generator=g, dtype=torch.float64)
    y_seq, last_seq = ssd_sequential(X, log_a, B, C, initial_state=H0)
    y_chunk, last_chunk = ssd_chunked(X, log_a, B, C, chunk_size=8, initial_state=H0)
    torch.testing.assert_close(y_chunk, y_seq)
    torch.testing.assert_close(last_chunk, last_seq)
    # two halves chained through the state give the whole
    y1, H1 = ssd_chunked(X[:, :9], log_a[:, :9], B[:, :9], C[:, :9], chunk_size=4, initial_state=H0)
    y2, _ = ssd_chunked(X[:, 9:], log_a[:, 9:], B[:, 9:], C[:, 9:], chunk_size=4, initial_state=H1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y_seq)


def test_ssd_with_decay_one_is_unnormalised_causal_linear_attention():
    g = torch.Generator().manual_seed(6)
    X, _, B, C = _ssd_inputs(2, 15, 3, 4, 5, g)
    zero = torch.zeros(2, 15, 3, dtype=torch.float64)
    heads = lambda t: t.transpose(1, 2)  # noqa: E731  (b, l, h, .) -> (b, h, l, .)
    attention = linear_attention(heads(C), heads(B), heads(X), feature_map=None, normalize=False)
    torch.testing.assert_close(heads(ssd_quadratic(X, zero, B, C)), attention)
    torch.testing.assert_close(heads(ssd_chunked(X, zero, B, C, chunk_size=4)[0]), attention)


def test_mamba1_with_one_decay_per_channel_is_ssd_with_head_size_one():
    """Lesson 05's selective scan with A_{d,n} = A_d (the same for every state entry) is SSD with
    one head per channel, p = 1, log a = Δ A_d, input Δ u, and B, C shared by all heads."""
    g = torch.Generator().manual_seed(8)
    b, d, l, n = 2, 3, 11, 4
    u = torch.randn(b, d, l, generator=g, dtype=torch.float64)
    delta = torch.rand(b, d, l, generator=g, dtype=torch.float64) + 0.1
    A_d = -torch.rand(d, generator=g, dtype=torch.float64) - 0.2
    B, C = (torch.randn(b, n, l, generator=g, dtype=torch.float64) for _ in range(2))
    y_mamba = selective_scan_sequential(u, delta, A_d[:, None].expand(d, n), B, C)  # (b, d, l)
    X = (delta * u).transpose(1, 2).unsqueeze(-1)  # (b, l, h = d, p = 1)
    log_a = (delta * A_d[:, None]).transpose(1, 2)  # (b, l, d)
    shared = lambda t: t.transpose(1, 2).unsqueeze(2).expand(b, l, d, n)  # noqa: E731
    y_ssd, _ = ssd_chunked(X, log_a, shared(B), shared(C), chunk_size=4)
    torch.testing.assert_close(y_ssd.squeeze(-1).transpose(1, 2), y_mamba)


def test_ssd_shape_errors_name_the_arguments():
    g = torch.Generator().manual_seed(9)
    X, log_a, B, C = _ssd_inputs(1, 5, 2, 3, 4, g)
    with pytest.raises(ValueError, match="log_a"):
        ssd_quadratic(X, log_a[..., :1], B, C)

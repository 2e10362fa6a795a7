"""seqlab.scratch as a drop-in for torch.nn beyond one padded batch: every number equal to
torch.nn's, or an error of torch.nn's type.

Second derivatives (double backward, gradient penalties), PackedSequence input (sorted,
unsorted), LSTM projections, an empty batch, torch.func transforms (vmap, jvp, per-sample
gradients), batched gradients, torch.nn's ``mode`` string and its constructor checks.
All in float64 on the same weights as torch.nn.
"""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from seqlab import scratch

MODELS = ["RNN", "GRU", "LSTM"]
F64 = dict(dtype=torch.float64)


def make_pair(model, *args, fast_path=True, **kw):
    torch.manual_seed(0)
    ours = getattr(scratch, model)(*args, fast_path=fast_path, **kw)
    torch.manual_seed(0)
    ref = getattr(nn, model)(*args, **kw)
    return ours, ref


def randn(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- second derivatives -----------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "reference"])
def test_gradgradcheck(model, fast_path):
    ours, _ = make_pair(model, 2, 3, 2, bidirectional=True, fast_path=fast_path, **F64)
    x = randn(4, 2, 2).requires_grad_()

    def output(x, *params):
        return ours(x)[0]

    assert torch.autograd.gradgradcheck(output, (x, *ours.parameters()))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("loss", ["linear", "quadratic"])
def test_gradient_penalty_equals_torch(model, loss):
    """loss + |d loss / dx|^2: the weight gradients need second derivatives. Once they came
    out silently wrong (a linear loss) or raised (a quadratic one)."""
    grads = []
    for m in make_pair(model, 2, 3, 2, **F64):
        x = randn(4, 2, 2).requires_grad_()
        out = m(x)[0]
        value = out.sum() if loss == "linear" else out.pow(2).sum()
        (dx,) = torch.autograd.grad(value, x, create_graph=True)
        (value + dx.pow(2).sum()).backward()
        grads.append([p.grad for p in m.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


# --- PackedSequence ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    "lengths,enforce_sorted,bidirectional,fast_path",
    [
        ([5, 4, 3, 1], True, False, True),
        ([5, 4, 3, 1], True, True, True),
        ([3, 5, 1, 4], False, True, True),
        ([5, 4, 3, 1], False, False, True),
        ([2, 2], True, True, True),
        ([3, 5, 1, 4], False, True, False),  # the reference path
    ],
)
def test_packed_sequence_equals_torch(model, lengths, enforce_sorted, bidirectional, fast_path):
    results = []
    for m in make_pair(model, 2, 3, 2, bidirectional=bidirectional, fast_path=fast_path, **F64):
        x = randn(max(lengths), len(lengths), 2).requires_grad_()
        packed = pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
        h0 = randn(2 * (1 + bidirectional), len(lengths), 3, seed=2).requires_grad_()
        out, state = m(packed, (h0, 0.5 * h0) if model == "LSTM" else h0)
        assert isinstance(out, nn.utils.rnn.PackedSequence)
        assert torch.equal(out.batch_sizes, packed.batch_sizes)
        states = list(state) if model == "LSTM" else [state]
        # a loss that weighs every output and final state differently
        loss = out.data.pow(2).sum() + sum((s * s.detach().sin()).sum() for s in states)
        loss.backward()
        results.append([out.data, *states, x.grad, h0.grad, *[p.grad for p in m.parameters()]])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)


def test_packed_sequence_ignores_batch_first_and_checks_features():
    ours, ref = make_pair("GRU", 2, 3, batch_first=True, **F64)
    packed = pack_padded_sequence(randn(4, 2, 2), [4, 2])
    torch.testing.assert_close(ours(packed)[0].data, ref(packed)[0].data)
    bad = pack_padded_sequence(randn(4, 2, 5), [4, 2])
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size") as info:
        ours(bad)
    assert isinstance(info.value, ValueError) and "input_size=2" in str(info.value)


# --- LSTM projections, empty batch, mode ---------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_lstm_proj_size_equals_torch(bidirectional, batched):
    ours, ref = make_pair("LSTM", 2, 4, 2, proj_size=3, bidirectional=bidirectional, **F64)
    assert list(ours.state_dict()) == list(ref.state_dict())
    rows = 2 * (1 + bidirectional)
    shape, h_shape, c_shape = ((5, 2, 2), (rows, 2, 3), (rows, 2, 4)) if batched else ((5, 2), (rows, 3), (rows, 4))
    results = []
    for m in (ours, ref):
        x, h0, c0 = randn(*shape).requires_grad_(), randn(*h_shape, seed=2), randn(*c_shape, seed=3)
        out, (h_n, c_n) = m(x, (h0, c0))
        (out.pow(2).sum() + h_n.sin().sum() + c_n.cos().sum()).backward()
        results.append([out, h_n, c_n, x.grad, *[p.grad for p in m.parameters()]])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)
    assert results[0][0].shape[-1] == 3 * (1 + bidirectional)


def test_lstm_proj_size_checks_like_torch():
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        scratch.LSTM(2, 3, proj_size=3)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        scratch.LSTM(2, 3, proj_size=-1)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        scratch.GRU(2, 3, proj_size=2)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 2\), got \[1, 2, 3\]"):
        scratch.LSTM(2, 3, proj_size=2)(torch.randn(4, 2, 2), (torch.randn(1, 2, 3), torch.randn(1, 2, 3)))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_empty_batch_like_torch(model, batch_first):
    ours, ref = make_pair(model, 2, 3, 2, batch_first=batch_first, bidirectional=True)
    x = torch.randn((0, 4, 2) if batch_first else (4, 0, 2), requires_grad=True)
    a, b = ours(x), ref(x)
    assert a[0].shape == b[0].shape
    states_a = a[1] if model == "LSTM" else (a[1],)
    states_b = b[1] if model == "LSTM" else (b[1],)
    assert [s.shape for s in states_a] == [s.shape for s in states_b]
    a[0].sum().backward()  # the backward of an empty batch runs too
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("shape", [(0, 3, 2), (0, 2)])
def test_zero_time_steps_refused_like_torch(shape):
    for module in (nn.GRU(2, 3), scratch.GRU(2, 3)):
        with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
            module(torch.randn(shape))


def test_mode_string_like_torch():
    for kw in ({}, {"nonlinearity": "relu"}):
        assert scratch.RNN(2, 3, **kw).mode == nn.RNN(2, 3, **kw).mode
    assert scratch.GRU(2, 3).mode == "GRU" and scratch.LSTM(2, 3).mode == "LSTM"


# --- torch.func transforms and batched gradients ------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_vmap_jvp_and_per_sample_grads(model):
    """Under torch.func the reference path runs (the fast path's Functions have no vmap rule or
    jvp): numbers equal torch.nn's looped one sample at a time (torch.nn's RNNs have no batching
    rule), and jvp equals the double-backward jvp of torch.nn."""
    ours, ref = make_pair(model, 2, 3, 2, bidirectional=True, **F64)
    x = randn(3, 4, 2)  # 3 unbatched sequences (L=4, I=2)
    torch.testing.assert_close(
        torch.func.vmap(lambda s: ours(s)[0])(x), torch.stack([ref(s)[0] for s in x])
    )
    tangent = randn(3, 4, 2, seed=5)
    ours_jvp = torch.func.jvp(lambda s: ours(s)[0], (x,), (tangent,))
    ref_jvp = torch.autograd.functional.jvp(lambda s: ref(s)[0], (x,), (tangent,))
    torch.testing.assert_close(ours_jvp, ref_jvp)
    with torch.autograd.forward_ad.dual_level():  # forward-mode AD without torch.func
        out = ours(torch.autograd.forward_ad.make_dual(x, tangent))[0]
        torch.testing.assert_close(torch.autograd.forward_ad.unpack_dual(out).tangent, ref_jvp[1])

    params = {k: v.detach() for k, v in ours.named_parameters()}

    def loss(p, sample):
        return torch.func.functional_call(ours, p, (sample,))[0].pow(2).sum()

    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0))(params, x)
    for i in range(3):
        ref.zero_grad()
        ref(x[i])[0].pow(2).sum().backward()
        for name, p in ref.named_parameters():
            torch.testing.assert_close(per_sample[name][i], p.grad, msg=name)


@pytest.mark.parametrize("model", MODELS)
def test_is_grads_batched_through_the_fast_path(model):
    ours, ref = make_pair(model, 2, 3, 2, **F64)
    x = randn(4, 3, 2)
    vs = randn(5, 4, 3, 3, seed=7)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ga,) = torch.autograd.grad(ours(xa)[0], xa, vs, is_grads_batched=True)
    out_b = ref(xb)[0]
    gb = torch.stack([torch.autograd.grad(out_b, xb, v, retain_graph=True)[0] for v in vs])
    torch.testing.assert_close(ga, gb)


# --- constructor arguments, as torch.nn checks them -------------------------------------------------


@pytest.mark.parametrize("flag", ["bias", "batch_first", "bidirectional"])
@pytest.mark.parametrize("value", ["False", 0, 1, None])
def test_non_bool_flags_are_refused(flag, value):
    """``batch_first="False"`` is truthy: once it silently meant batch-first."""
    with pytest.raises(TypeError, match=f"{flag} should be of type bool, got: {type(value).__name__}") as info:
        scratch.GRU(2, 3, **{flag: value})
    assert isinstance(info.value, ValueError)
    if flag != "bidirectional":  # torch.nn does not check bidirectional; seqlab does
        with pytest.raises(TypeError, match=f"{flag} should be of type bool"):
            nn.GRU(2, 3, **{flag: value})


@pytest.mark.parametrize(
    "args,kwargs,error,words",
    [
        ((10, 0, 1), {}, ValueError, "hidden_size must be greater than zero"),
        ((10, 10, 0), {}, ValueError, "num_layers must be greater than zero"),
        ((10, 2.0), {}, TypeError, "hidden_size should be of type int, got: float"),
        (("10", 2), {}, TypeError, "input_size should be of type int, got: str"),
        ((10, 2), {"dropout": 2}, ValueError, r"dropout should be a number in range \[0, 1\]"),
        ((10, 2), {"nonlinearity": "sigmoid"}, ValueError, "Unknown nonlinearity 'sigmoid'"),
    ],
)
def test_constructor_errors_like_torch(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        nn.RNN(*args, **kwargs)
    with pytest.raises(error, match=words) as info:
        scratch.RNN(*args, **kwargs)
    assert isinstance(info.value, ValueError)  # seqlab's type for bad input, too


def test_wrong_hx_rank_like_torch():
    for model, hx in [("GRU", torch.randn(1, 3)), ("LSTM", (torch.randn(1, 3), torch.randn(1, 3)))]:
        with pytest.raises(RuntimeError, match="For batched 3-D input, hx should also be 3-D") as info:
            getattr(scratch, model)(2, 3)(torch.randn(4, 2, 2), hx)
        assert isinstance(info.value, ValueError)

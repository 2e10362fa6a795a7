"""seqlab.scratch cells against torch.nn's cells on the same weights: outputs and every gradient."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from seqlab import scratch

PAIRS = {
    "rnn_tanh": (scratch.RNNCell, nn.RNNCell, {"nonlinearity": "tanh"}),
    "rnn_relu": (scratch.RNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
    "gru": (scratch.GRUCell, nn.GRUCell, {}),
    "lstm": (scratch.LSTMCell, nn.LSTMCell, {}),
}
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def make_pair(kind, input_size, hidden_size, bias=True, dtype=torch.float32, seed=0):
    ours_cls, torch_cls, kw = PAIRS[kind]
    torch.manual_seed(seed)
    ours = ours_cls(input_size, hidden_size, bias=bias, dtype=dtype, **kw)
    torch.manual_seed(seed)
    ref = torch_cls(input_size, hidden_size, bias=bias, dtype=dtype, **kw)
    return ours, ref


def flat(out):
    return list(out) if isinstance(out, tuple) else [out]


def run_and_grad(cell, x, state):
    """Forward, a random-weighted loss, backward; return outputs and all gradients."""
    x = x.clone().requires_grad_(True)
    leaves = [x]
    if state is not None:
        state = tuple(s.clone().requires_grad_(True) for s in state)
        leaves += list(state)
        hx = state if isinstance(cell, (scratch.LSTMCell, nn.LSTMCell)) else state[0]
    else:
        hx = None
    outs = flat(cell(x, hx))
    g = torch.Generator().manual_seed(1)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
    loss.backward()
    grads = [leaf.grad for leaf in leaves] + [p.grad for p in cell.parameters()]
    return outs, grads


def assert_same(kind, input_size, hidden_size, batch, bias, with_state, dtype):
    ours, ref = make_pair(kind, input_size, hidden_size, bias, dtype)
    for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(p, q), "same seed should give torch.nn's initial weights"
    shape = (batch, input_size) if batch else (input_size,)
    x = torch.randn(shape, dtype=dtype)
    n_states = 2 if kind == "lstm" else 1
    hshape = (batch, hidden_size) if batch else (hidden_size,)
    state = tuple(torch.randn(hshape, dtype=dtype) for _ in range(n_states)) if with_state else None
    outs_a, grads_a = run_and_grad(ours, x, state)
    outs_b, grads_b = run_and_grad(ref, x, state)
    for a, b in zip(outs_a, outs_b, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, **TOL[dtype])
    for a, b in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(a, b, **TOL[dtype])


@pytest.mark.parametrize("kind", list(PAIRS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch", [0, 1, 5])  # 0 = unbatched 1-D input
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_torch_grid(kind, dtype, batch, bias, with_state):
    assert_same(kind, 3, 4, batch, bias, with_state, dtype)


@settings(max_examples=20, deadline=None)
@given(
    kind=st.sampled_from(list(PAIRS)),
    input_size=st.integers(1, 9),
    hidden_size=st.integers(1, 9),
    batch=st.integers(0, 6),
    bias=st.booleans(),
    with_state=st.booleans(),
)
def test_cell_matches_torch_random_sizes(kind, input_size, hidden_size, batch, bias, with_state):
    assert_same(kind, input_size, hidden_size, batch, bias, with_state, torch.float64)


def test_init_bounds_and_shapes():
    for kind, gates in [("rnn_tanh", 1), ("gru", 3), ("lstm", 4)]:
        cell, ref = make_pair(kind, 7, 16)
        assert [n for n, _ in cell.named_parameters()] == [n for n, _ in ref.named_parameters()]
        assert cell.weight_ih.shape == (gates * 16, 7) and cell.weight_hh.shape == (gates * 16, 16)
        for p in cell.parameters():
            assert p.abs().max() <= 0.25 and p.std() > 0.1  # U(-1/4, 1/4): std 0.144


def test_gru_gates_reproduce_output():
    cell = scratch.GRUCell(3, 6)
    x, h = torch.randn(4, 3), torch.randn(4, 6)
    h_new, gates = cell.forward_with_gates(x, h)
    assert set(gates) == {"r", "z", "n"}
    torch.testing.assert_close((1 - gates["z"]) * gates["n"] + gates["z"] * h, h_new)
    torch.testing.assert_close(h_new, cell(x, h))
    for g in ("r", "z"):
        assert gates[g].min() > 0 and gates[g].max() < 1
    # the candidate from the published formula, r applied to (W_hn h + b_hn)
    W_in, W_hn = cell.weight_ih[12:], cell.weight_hh[12:]
    b_in, b_hn = cell.bias_ih[12:], cell.bias_hh[12:]
    n = torch.tanh(x @ W_in.T + b_in + gates["r"] * (h @ W_hn.T + b_hn))
    torch.testing.assert_close(n, gates["n"])


def test_lstm_gates_reproduce_output():
    cell = scratch.LSTMCell(3, 6)
    x, h, c = torch.randn(4, 3), torch.randn(4, 6), torch.randn(4, 6)
    (h_new, c_new), gates = cell.forward_with_gates(x, (h, c))
    assert set(gates) == {"i", "f", "g", "o", "c"}
    torch.testing.assert_close(gates["f"] * c + gates["i"] * gates["g"], c_new)
    torch.testing.assert_close(gates["o"] * torch.tanh(c_new), h_new)
    torch.testing.assert_close(gates["c"], c_new)
    ref_h, ref_c = cell(x, (h, c))
    torch.testing.assert_close(ref_h, h_new)
    torch.testing.assert_close(ref_c, c_new)


def test_rnn_gates_are_preactivation():
    cell = scratch.RNNCell(3, 6)
    x, h = torch.randn(4, 3), torch.randn(4, 6)
    h_new, gates = cell.forward_with_gates(x, h)
    torch.testing.assert_close(torch.tanh(gates["pre"]), h_new)


def test_unbatched_gates_have_state_shape():
    _, gates = scratch.GRUCell(3, 6).forward_with_gates(torch.randn(3))
    assert all(g.shape == (6,) for g in gates.values())
    (h, c), gates = scratch.LSTMCell(3, 6).forward_with_gates(torch.randn(3))
    assert h.shape == c.shape == (6,) and all(g.shape == (6,) for g in gates.values())


BAD_INPUTS = [
    # (cell args, input shape, hx shapes or None, dtype of hx, substrings the message must name)
    ("gru", (2, 4), None, None, ["(2, 4)", "input_size=3"]),
    ("gru", (2, 7, 3), None, None, ["(2, 7, 3)", "(N, 3)"]),
    ("gru", (1, 2, 7, 3), None, None, ["(1, 2, 7, 3)", "(N, 3)"]),
    ("gru", (2, 3), [(3, 5)], None, ["(3, 5)", "(2, 5)"]),
    ("gru", (2, 3), [(2, 6)], None, ["(2, 6)", "(2, 5)"]),
    ("gru", (3,), [(1, 5)], None, ["(1, 5)", "(5,)"]),
    ("gru", (2, 3), [(2, 5)], torch.float64, ["torch.float64", "torch.float32"]),
    ("rnn_tanh", (2, 3), [(4, 5)], None, ["(4, 5)", "(2, 5)"]),
    ("lstm", (2, 3), [(2, 5), (3, 5)], None, ["(3, 5)", "(2, 5)", "c_0"]),
    ("lstm", (2, 3), [(2, 4), (2, 5)], None, ["(2, 4)", "(2, 5)", "h_0"]),
    ("lstm", (2, 4), None, None, ["(2, 4)", "input_size=3"]),
]


@pytest.mark.parametrize("kind,xshape,hshapes,hdtype,needles", BAD_INPUTS)
def test_bad_input_raises_value_error_naming_shapes(kind, xshape, hshapes, hdtype, needles):
    cell, ref = make_pair(kind, 3, 5)
    x = torch.randn(xshape)
    hx = None
    if hshapes is not None:
        states = [torch.randn(s, dtype=hdtype or torch.float32) for s in hshapes]
        hx = tuple(states) if kind == "lstm" else states[0]
    with pytest.raises(ValueError) as info:
        cell(x, hx)
    for needle in needles:
        assert needle in str(info.value)
    with pytest.raises(Exception) as theirs:  # torch.nn rejects it too
        ref(x, hx)
    # code written against torch.nn catches its type (and, but for dtypes, may match its words)
    assert isinstance(info.value, type(theirs.value))
    if hdtype is None:
        assert str(theirs.value) in str(info.value)


def test_input_dtype_mismatch_with_weights():
    with pytest.raises(ValueError, match="torch.float64.*torch.float32"):
        scratch.GRUCell(3, 5)(torch.randn(2, 3, dtype=torch.float64))


def test_lstm_hx_must_be_pair():
    with pytest.raises(ValueError, match="tuple"):
        scratch.LSTMCell(3, 5)(torch.randn(2, 3), torch.randn(2, 5))


def test_bad_nonlinearity():
    with pytest.raises(ValueError, match="relu"):
        scratch.RNNCell(3, 5, nonlinearity="sigmoid")

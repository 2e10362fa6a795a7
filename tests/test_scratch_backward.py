"""Hand-derived backward of one GRU/LSTM step, and the fast path's backward through time.

Oracles: torch.autograd.gradcheck (finite differences, float64) and autograd through the
reference cell equations (cells.gru_step / lstm_step) and torch.nn.
"""

import pytest
import torch
from torch import nn

from seqlab import scratch
from seqlab.scratch import fast_path, manual_backward as mb
from seqlab.scratch.cells import gru_step, lstm_step

N, I, H = 3, 4, 5


def params(gates, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *s: (torch.rand(*s, generator=g, dtype=torch.float64) - 0.5).requires_grad_()  # noqa: E731
    w = [rnd(gates * H, I), rnd(gates * H, H)]
    return w + ([rnd(gates * H), rnd(gates * H)] if bias else [None, None])


def inputs(n_states, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(N, d, generator=g, dtype=torch.float64).requires_grad_()
            for d in [I] + [H] * n_states]


def test_gru_step_function_gradcheck():
    assert torch.autograd.gradcheck(mb.GRUStepFunction.apply, (*inputs(1), *params(3)))


def test_lstm_step_function_gradcheck():
    assert torch.autograd.gradcheck(mb.LSTMStepFunction.apply, (*inputs(2), *params(4)))


@pytest.mark.parametrize("bias", [True, False])
def test_gru_step_backward_equals_autograd_of_reference_cell(bias):
    x, h = inputs(1)
    weights = params(3, bias)
    leaves = [t for t in (x, h, *weights) if t is not None]
    dh_new = torch.randn(N, H, dtype=torch.float64)
    h_ref, _ = gru_step(x, h, *weights)
    expected = torch.autograd.grad(h_ref, leaves, dh_new)
    h_new, cache = mb.gru_step_forward(x, h, *weights)
    torch.testing.assert_close(h_new, h_ref)
    got = [d for d in mb.gru_step_backward(dh_new, cache) if d is not None]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_step_backward_equals_autograd_of_reference_cell(bias):
    x, h, c = inputs(2)
    weights = params(4, bias)
    leaves = [t for t in (x, h, c, *weights) if t is not None]
    dh_new, dc_new = torch.randn(2, N, H, dtype=torch.float64)
    (h_ref, c_ref), _ = lstm_step(x, h, c, *weights)
    expected = torch.autograd.grad((h_ref, c_ref), leaves, (dh_new, dc_new))
    (h_new, c_new), cache = mb.lstm_step_forward(x, h, c, *weights)
    torch.testing.assert_close(h_new, h_ref)
    torch.testing.assert_close(c_new, c_ref)
    got = [d for d in mb.lstm_step_backward(dh_new, dc_new, cache) if d is not None]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b)


def test_step_functions_match_torch_cells_in_float32():
    torch.manual_seed(0)
    x, h, c = torch.randn(N, I), torch.randn(N, H), torch.randn(N, H)
    for cell, mine in [(nn.GRUCell(I, H), mb.GRUStepFunction), (nn.LSTMCell(I, H), mb.LSTMStepFunction)]:
        states = (h,) if isinstance(cell, nn.GRUCell) else (h, c)
        leaves = [x.requires_grad_(), *(s.requires_grad_() for s in states), *cell.parameters()]
        ours = mine.apply(x, *states, *cell.parameters())
        theirs = cell(x, states[0] if len(states) == 1 else states)
        loss = lambda out: sum(o.pow(2).sum() for o in (out if isinstance(out, tuple) else (out,)))  # noqa: E731
        for a, b in zip(torch.autograd.grad(loss(ours), leaves), torch.autograd.grad(loss(theirs), leaves)):
            torch.testing.assert_close(a, b)


def test_lstm_cell_highway_gradient():
    """With f = 1 and i = 0 (saturated), dL/dc passes through unchanged: dc = dc'."""
    x, h, c = inputs(2)
    W_ih, W_hh, b_ih, b_hh = [p.detach().clone() for p in params(4)]
    W_ih.zero_(), W_hh.zero_(), b_hh.zero_()
    b_ih.copy_(torch.cat([torch.full((H,), -40.0), torch.full((H,), 40.0), torch.zeros(2 * H)]))
    (_, _), cache = mb.lstm_step_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)
    dc_new = torch.randn(N, H, dtype=torch.float64)
    _, _, dc, *_ = mb.lstm_step_backward(torch.zeros(N, H, dtype=torch.float64), dc_new, cache)
    torch.testing.assert_close(dc, dc_new)


# --- the fast path's sequence-level backward ------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fast_gru_layer_gradcheck(reverse, bias):
    x = torch.randn(4, 2, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, H, dtype=torch.float64, requires_grad=True)
    fn = lambda *a: fast_path.gru_layer(*a, reverse=reverse)[0]  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, h0, *params(3, bias)))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fast_lstm_layer_gradcheck(reverse, bias):
    x = torch.randn(4, 2, I, dtype=torch.float64, requires_grad=True)
    h0, c0 = torch.randn(2, 2, H, dtype=torch.float64, requires_grad=True).unbind(0)
    fn = lambda *a: fast_path.lstm_layer(*a, reverse=reverse)[:2]  # noqa: E731  out, c_all
    assert torch.autograd.gradcheck(fn, (x, h0, c0, *params(4, bias)))


@pytest.mark.parametrize("relu", [False, True])
def test_fast_rnn_layer_gradcheck(relu):
    x = torch.randn(4, 2, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, H, dtype=torch.float64, requires_grad=True)
    fn = lambda *a: fast_path.rnn_layer(*a, reverse=True, nonlinearity="relu" if relu else "tanh")[0]  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, h0, *params(1)))


def test_fast_path_only_needed_grads():
    """Frozen weights (requires_grad=False) get no gradient; the input still does."""
    m = scratch.LSTM(3, 4, num_layers=2)
    m.weight_hh_l0.requires_grad_(False)
    x = torch.randn(5, 2, 3, requires_grad=True)
    m(x)[0].sum().backward()
    assert m.weight_hh_l0.grad is None and m.weight_ih_l0.grad is not None and x.grad is not None


def test_fast_path_second_loss_on_c_n_only():
    """A loss on c_n alone (the output unused) flows back through the cell states."""
    torch.manual_seed(0)
    ours = scratch.LSTM(3, 4)
    ref = nn.LSTM(3, 4)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(5, 2, 3)
    ours(x)[1][1].sum().backward()
    ref(x)[1][1].sum().backward()
    for p, q in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


@pytest.mark.parametrize("steps_per_block", [1, 2, 3])
def test_fast_lstm_backward_in_blocks_of_steps(monkeypatch, steps_per_block):
    """Long sequences compute the backward factors in blocks of K steps; with K < T and K not
    dividing T (T = 7), every gradient still equals torch.nn's, in both directions."""
    T, N_ = 7, 2
    monkeypatch.setattr(fast_path, "_BLOCK_ELEMENTS", steps_per_block * N_ * H)
    torch.manual_seed(0)
    ours = scratch.LSTM(I, H, bidirectional=True, dtype=torch.float64)
    ref = nn.LSTM(I, H, bidirectional=True, dtype=torch.float64)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(T, N_, I, dtype=torch.float64, requires_grad=True)
    states = torch.randn(2, 2, N_, H, dtype=torch.float64, requires_grad=True)
    grads = []
    for m in (ours, ref):
        out, (h_n, c_n) = m(x, (states[0], states[1]))
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()
        grads.append(torch.autograd.grad(loss + c_n.sum(), [x, states, *m.parameters()]))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("model", ["RNN", "LSTM"])
def test_bias_grads_are_separate_tensors(model):
    """b_ih and b_hh get equal gradients; they must not share storage (in-place clipping)."""
    m = getattr(scratch, model)(3, 4)
    m(torch.randn(5, 2, 3))[0].sum().backward()
    torch.testing.assert_close(m.bias_ih_l0.grad, m.bias_hh_l0.grad)
    assert m.bias_ih_l0.grad.data_ptr() != m.bias_hh_l0.grad.data_ptr()

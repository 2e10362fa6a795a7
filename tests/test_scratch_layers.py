"""seqlab.scratch RNN/GRU/LSTM modules against torch.nn on the same weights.

Outputs, final states and every gradient (input, h_0/c_0, all parameters), for both the fast
path and the per-step reference path; state_dict round trips; dropout; gates; errors.
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from seqlab import scratch

MODELS = ["RNN", "GRU", "LSTM"]
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-11)}


def make_pair(model, input_size, hidden_size, fast_path=True, seed=0, **kw):
    torch.manual_seed(seed)
    ours = getattr(scratch, model)(input_size, hidden_size, fast_path=fast_path, **kw)
    torch.manual_seed(seed)
    ref = getattr(nn, model)(input_size, hidden_size, **kw)
    return ours, ref


def outputs_and_grads(module, x, hx, model, weights_seed=1):
    """Run forward, a random-weighted loss over output and final states, backward."""
    x = x.clone().requires_grad_(True)
    leaves = [x]
    if hx is not None:
        hx = tuple(h.clone().requires_grad_(True) for h in hx)
        leaves += list(hx)
        hx = hx if model == "LSTM" else hx[0]
    output, state = module(x, hx)
    outs = [output] + (list(state) if model == "LSTM" else [state])
    g = torch.Generator().manual_seed(weights_seed)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
    loss.backward()
    grads = [leaf.grad for leaf in leaves] + [p.grad for p in module.parameters()]
    return outs, grads


def check_against_torch(
    model, fast_path, *, input_size=3, hidden_size=4, num_layers=2, seq_len=5, batch=3,
    bias=True, batch_first=False, bidirectional=False, with_state=True, dtype=torch.float32,
    nonlinearity=None,
):
    kw = dict(num_layers=num_layers, bias=bias, batch_first=batch_first,
              bidirectional=bidirectional, dtype=dtype)
    if nonlinearity:
        kw["nonlinearity"] = nonlinearity
    ours, ref = make_pair(model, input_size, hidden_size, fast_path, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for (name_a, a), b in zip(ours.named_parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b), f"{name_a}: same seed should give torch.nn's initial weights"
    if batch:
        shape = (batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)
        hshape = (num_layers * (1 + bidirectional), batch, hidden_size)
    else:
        shape, hshape = (seq_len, input_size), (num_layers * (1 + bidirectional), hidden_size)
    x = torch.randn(shape, dtype=dtype)
    hx = None
    if with_state:
        hx = tuple(torch.randn(hshape, dtype=dtype) for _ in range(2 if model == "LSTM" else 1))
    outs_a, grads_a = outputs_and_grads(ours, x, hx, model)
    outs_b, grads_b = outputs_and_grads(ref, x, hx, model)
    for a, b in zip(outs_a, outs_b, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, **TOL[dtype])
    for a, b in zip(grads_a, grads_b, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, **TOL[dtype])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(batch_first=True),
        dict(bidirectional=True),
        dict(bidirectional=True, batch_first=True, num_layers=3),
        dict(bias=False, num_layers=1),
        dict(with_state=False),
        dict(batch=0),  # unbatched (L, I)
        dict(batch=0, bidirectional=True, with_state=False),
        dict(dtype=torch.float64, bidirectional=True),
        dict(seq_len=1, batch=1),
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default",
)
def test_module_matches_torch_grid(model, fast_path, options):
    check_against_torch(model, fast_path, **options)


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "reference"])
def test_relu_rnn_matches_torch(fast_path):
    check_against_torch("RNN", fast_path, nonlinearity="relu", bidirectional=True)


@settings(max_examples=25, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    fast_path=st.booleans(),
    input_size=st.integers(1, 6),
    hidden_size=st.integers(1, 6),
    num_layers=st.integers(1, 3),
    seq_len=st.integers(1, 7),
    batch=st.integers(0, 4),
    bias=st.booleans(),
    batch_first=st.booleans(),
    bidirectional=st.booleans(),
    with_state=st.booleans(),
)
def test_module_matches_torch_random(model, fast_path, **options):
    check_against_torch(model, fast_path, dtype=torch.float64, **options)


def test_fast_and_reference_paths_agree_on_lab_shape():
    """The fast path is what trains: check it at the lab's shape in float32, gates included."""
    for model in ["GRU", "LSTM"]:
        torch.manual_seed(0)
        fast = getattr(scratch, model)(1, 64, 2, batch_first=True)
        ref = getattr(scratch, model)(1, 64, 2, batch_first=True, fast_path=False)
        ref.load_state_dict(fast.state_dict())
        x = torch.randn(64, 12, 1)
        out_f, _, gates_f = fast(x, return_gates=True)
        out_r, _, gates_r = ref(x, return_gates=True)
        torch.testing.assert_close(out_f, out_r, rtol=1e-5, atol=1e-6)
        assert gates_f.keys() == gates_r.keys()
        for k in gates_f:
            torch.testing.assert_close(gates_f[k], gates_r[k], rtol=1e-5, atol=1e-6)
        out_f.pow(2).mean().backward()
        out_r.pow(2).mean().backward()
        for (name, p), q in zip(fast.named_parameters(), ref.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-7, msg=name)


@pytest.mark.parametrize("model", MODELS)
def test_state_dict_round_trip_both_ways(model):
    kw = dict(num_layers=2, bidirectional=True, bias=True)
    ours = getattr(scratch, model)(3, 5, **kw)
    ref = getattr(nn, model)(3, 5, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert "weight_ih_l1_reverse" in ours.state_dict()
    x = torch.randn(7, 2, 3)
    # nn -> scratch
    ours.load_state_dict(ref.state_dict())
    torch.testing.assert_close(ours(x)[0], ref(x)[0])
    # scratch -> nn, after changing scratch's weights
    ours.reset_parameters()
    assert not torch.allclose(ours(x)[0], ref(x)[0])
    ref.load_state_dict(ours.state_dict())
    torch.testing.assert_close(ref(x)[0], ours(x)[0])


def test_bias_false_has_no_bias_keys():
    ours, ref = make_pair("GRU", 3, 4, num_layers=2, bias=False)
    assert list(ours.state_dict()) == list(ref.state_dict()) == [
        "weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"]


def test_init_is_uniform_in_bound():
    m = scratch.LSTM(3, 16, num_layers=2)
    for p in m.parameters():
        assert p.abs().max() <= 0.25 and p.std() > 0.1  # U(-1/4, 1/4): std 0.144


# --- dropout ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_dropout_eval_equals_torch(model):
    ours, ref = make_pair(model, 3, 8, num_layers=3, dropout=0.5)
    ours.eval(), ref.eval()
    x = torch.randn(6, 4, 3)
    torch.testing.assert_close(ours(x)[0], ref(x)[0])


def test_dropout_train_is_random_and_differs_from_eval():
    m = scratch.GRU(3, 8, num_layers=2, dropout=0.5).train()
    x = torch.randn(6, 4, 3)
    a, b = m(x)[0], m(x)[0]
    assert not torch.allclose(a, b)
    m.eval()
    e1, e2 = m(x)[0], m(x)[0]
    assert torch.equal(e1, e2) and not torch.allclose(a, e1)


def test_dropout_zeroes_fraction_p_between_layers_only():
    """Read dropout off layer 1's pre-activations: with W_ih_l1 = identity, W_hh_l1 = 0 and
    no bias, layer 1's pre-activation is its input, i.e. dropout(layer 0's output)."""
    p = 0.3
    torch.manual_seed(0)
    m = scratch.RNN(2, 50, num_layers=2, dropout=p, bias=False).train()
    with torch.no_grad():  # make layer 1 read its input only, through an identity W_ih
        m.weight_ih_l1.copy_(torch.eye(50))
        m.weight_hh_l1.zero_()
    x = torch.randn(40, 8, 2)
    out, h_n, gates = m(x, return_gates=True)
    layer0_out = torch.tanh(gates["pre"][0])  # (L, N, H), before dropout
    layer1_in = gates["pre"][1]  # = dropout(layer0_out) through the identity
    kept = layer1_in != 0
    frac_zero = 1 - kept.float().mean().item()
    assert abs(frac_zero - p) < 0.03, frac_zero
    torch.testing.assert_close(layer1_in[kept], layer0_out[kept] / (1 - p))
    # never after the last layer: the output is exactly tanh of the last layer's pre-activation
    torch.testing.assert_close(out, torch.tanh(gates["pre"][1]))


@pytest.mark.filterwarnings("ignore:dropout")
def test_no_dropout_after_the_last_layer():
    m = scratch.LSTM(3, 8, num_layers=1, dropout=0.9).train()
    x = torch.randn(6, 4, 3)
    torch.testing.assert_close(m(x)[0], m.eval()(x)[0])


def test_dropout_validation_like_torch():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        scratch.GRU(3, 4, dropout=1.5)
    with pytest.warns(UserWarning, match="num_layers=1"):
        scratch.GRU(3, 4, dropout=0.2)


# --- gates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize("batched", [True, False])
def test_module_gates_agree_with_stepping_the_cell(model, fast_path, batched):
    torch.manual_seed(0)
    L, N, I, H = 5, 3, 2, 4
    m = getattr(scratch, model)(I, H, num_layers=2, bidirectional=True, batch_first=True,
                                fast_path=fast_path)
    x = torch.randn(N, L, I) if batched else torch.randn(L, I)
    output, state, gates = m(x, return_gates=True)
    shape = (4, L, N, H) if batched else (4, L, H)
    assert all(g.shape == shape for g in gates.values())
    if not batched:
        x, output = x.unsqueeze(0), output.unsqueeze(0)
        gates = {k: v.unsqueeze(2) for k, v in gates.items()}
    cell = getattr(scratch, model + "Cell")(I, H)
    layer_in = x.transpose(0, 1)  # (L, N, I)
    for layer in range(2):
        outs = []
        for direction in range(2):
            row = 2 * layer + direction
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            cell.weight_ih = m.get_parameter("weight_ih" + sfx)
            cell.weight_hh = m.get_parameter("weight_hh" + sfx)
            cell.bias_ih = m.get_parameter("bias_ih" + sfx)
            cell.bias_hh = m.get_parameter("bias_hh" + sfx)
            cell.input_size = layer_in.shape[-1]
            hx = None
            hs = [None] * L
            for t in (range(L - 1, -1, -1) if direction else range(L)):
                new, step_gates = cell.forward_with_gates(layer_in[t], hx)
                hx = new
                hs[t] = new[0] if model == "LSTM" else new
                for k, v in step_gates.items():
                    torch.testing.assert_close(gates[k][row, t], v, rtol=1e-5, atol=1e-6)
            outs.append(torch.stack(hs))
        layer_in = torch.cat(outs, dim=-1)
    torch.testing.assert_close(layer_in.transpose(0, 1), output, rtol=1e-5, atol=1e-6)


def test_gru_module_gates_reproduce_output():
    m = scratch.GRU(2, 4)
    x = torch.randn(6, 3, 2)
    out, h_n, g = m(x, return_gates=True)
    h_prev = torch.cat([torch.zeros(1, 3, 4), out[:-1]])
    torch.testing.assert_close((1 - g["z"][0]) * g["n"][0] + g["z"][0] * h_prev, out)


def test_lstm_gate_c_is_differentiable_and_matches_c_n():
    m = scratch.LSTM(2, 4)
    x = torch.randn(6, 3, 2)
    out, (h_n, c_n), g = m(x, return_gates=True)
    torch.testing.assert_close(g["c"][0, -1], c_n[0])
    torch.testing.assert_close(g["o"][0] * torch.tanh(g["c"][0]), out)


# --- errors ---------------------------------------------------------------------------------

BAD = [
    # model, kwargs, input shape, hx shapes (or None), hx dtype, substrings of the message
    ("GRU", {}, (5, 3, 4), None, None, ["(5, 3, 4)", "input_size=3"]),
    ("GRU", {}, (2, 5, 3, 3), None, None, ["(2, 5, 3, 3)", "(L, N, input_size)"]),
    ("GRU", {}, (3,), None, None, ["(3,)", "(L, N, input_size)"]),
    ("GRU", {"batch_first": True}, (2, 5, 3, 3), None, None, ["(N, L, input_size)"]),
    ("GRU", {"num_layers": 2}, (5, 3, 3), [(1, 3, 4)], None, ["(1, 3, 4)", "(2, 3, 4)"]),
    ("GRU", {"batch_first": True}, (3, 5, 3), [(1, 5, 4)], None, ["(1, 5, 4)", "(1, 3, 4)"]),
    ("GRU", {}, (5, 3), [(1, 3, 4)], None, ["(1, 3, 4)", "(1, 4)"]),
    ("GRU", {}, (5, 3, 3), [(1, 3, 4)], torch.float64, ["torch.float64", "torch.float32"]),
    ("RNN", {"bidirectional": True}, (5, 3, 3), [(1, 3, 4)], None, ["(1, 3, 4)", "(2, 3, 4)"]),
    ("LSTM", {}, (5, 3, 3), [(1, 3, 4), (1, 2, 4)], None, ["(1, 2, 4)", "(1, 3, 4)", "c_0"]),
    ("LSTM", {}, (5, 3, 3), [(1, 3, 5), (1, 3, 4)], None, ["(1, 3, 5)", "(1, 3, 4)", "h_0"]),
    ("LSTM", {}, (5, 3, 2), None, None, ["(5, 3, 2)", "input_size=3"]),
]


@pytest.mark.parametrize("model,kw,xshape,hshapes,hdtype,needles", BAD)
def test_bad_input_raises_value_error_naming_shapes(model, kw, xshape, hshapes, hdtype, needles):
    ours, ref = make_pair(model, 3, 4, **kw)
    x = torch.randn(xshape)
    hx = None
    if hshapes is not None:
        states = [torch.randn(s, dtype=hdtype or torch.float32) for s in hshapes]
        hx = tuple(states) if model == "LSTM" else states[0]
    with pytest.raises(ValueError) as info:
        ours(x, hx)
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
        scratch.LSTM(3, 4)(torch.randn(5, 2, 3, dtype=torch.float64))


def test_lstm_hx_must_be_pair_and_gru_hx_single():
    with pytest.raises(ValueError, match="tuple"):
        scratch.LSTM(3, 4)(torch.randn(5, 2, 3), torch.randn(1, 2, 4))
    with pytest.raises(ValueError, match="one tensor"):
        scratch.GRU(3, 4)(torch.randn(5, 2, 3), (torch.randn(1, 2, 4),))


@pytest.mark.parametrize("model", MODELS)
def test_loss_on_last_step_only_like_the_forecaster(model):
    """The lab's forecaster reads out[:, -1] only: most output gradients are zero."""
    ours, ref = make_pair(model, 1, 8, num_layers=2, batch_first=True)
    x = torch.randn(5, 12, 1)
    for m in (ours, ref):
        m(x)[0][:, -1].pow(2).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_flatten_parameters_is_accepted():
    scratch.GRU(2, 3).flatten_parameters()  # training code written for torch.nn calls it


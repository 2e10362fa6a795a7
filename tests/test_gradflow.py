"""seqlab.gradflow against independent oracles: matrix powers, a numpy chain rule, torch.func.jacrev,
torch.linalg.eigvals, and the exact identity Jacobian of a GRU whose update gate is forced to 1."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from seqlab import gradflow as gf
from seqlab.train import num_threads
from seqlab.scratch import GRUCell as ScratchGRUCell


def _forward_states(cell, inputs, kind):
    """States h_0..h_T (and c) of one unbatched float64 sequence, by plain forward calls."""
    H = cell.weight_hh.shape[1]
    h, c = torch.zeros(1, H, dtype=torch.float64), torch.zeros(1, H, dtype=torch.float64)
    hs, cs = [h], [c]
    for x in inputs:
        if kind == "lstm":
            h, c = cell(x[None], (h, c))
        else:
            h = cell(x[None], h)
        hs.append(h)
        cs.append(c)
    return hs, cs


@pytest.mark.parametrize("rho", [0.8, 1.3])
def test_linear_rnn_jacobian_is_matrix_power(rho):
    T, H = 25, 8
    norms = gf.jacobian_norms("rnn", T, H, nonlinearity="linear", spectral_radius=rho, seed=3)
    W = gf.make_cell("rnn", 1, H, nonlinearity="linear", spectral_radius=rho, seed=3).weight_hh
    W = W.detach().double().numpy()
    expected = [np.linalg.norm(np.linalg.matrix_power(W, k), 2) for k in range(T + 1)]
    np.testing.assert_allclose(norms, expected, rtol=1e-9)
    # grows or decays as rho^k up to the non-normal factor: ||W^k|| >= rho^k always
    assert all(norms[k] >= rho**k * (1 - 1e-9) for k in range(T + 1))
    if rho > 1:
        assert norms[T] > 10 * norms[1]


def test_tanh_rnn_jacobian_matches_numpy_chain_rule():
    T, H = 15, 6
    cell = gf.make_cell("rnn", 2, H, spectral_radius=1.5, seed=1).double()
    inputs = torch.randn(T, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    J = gf.state_jacobians(lambda x, s: (cell(x, s[0]),), inputs, (torch.zeros(H, dtype=torch.float64),))
    hs, _ = _forward_states(cell, inputs, "rnn")
    W = cell.weight_hh.detach().numpy()
    expected = np.eye(H)
    for k in range(T + 1):
        np.testing.assert_allclose(J[k].numpy(), expected, atol=1e-12)
        t = T - k  # dh_T/dh_{t-1} = dh_T/dh_t @ diag(1 - h_t^2) @ W
        if t > 0:
            expected = expected @ np.diag(1 - hs[t].detach().numpy()[0] ** 2) @ W


def test_tanh_rnn_is_bounded_by_weight_norm_power():
    T, H = 40, 16
    cell = gf.make_cell("rnn", 1, H, spectral_radius=0.7, seed=0)
    sigma = torch.linalg.matrix_norm(cell.weight_hh.double(), 2).item()
    norms = gf.jacobian_norms(cell, T)
    # |tanh'| <= 1, so ||prod diag(tanh') W|| <= ||W||^k
    assert all(norms[k] <= sigma**k * (1 + 1e-9) for k in range(T + 1))
    assert norms[T] < 1e-4


@pytest.mark.parametrize("kind,wrt", [("gru", 0), ("lstm", 0), ("lstm", 1)])
def test_gated_jacobians_match_jacrev(kind, wrt):
    T, H = 12, 5
    cell = gf.make_cell(kind, 2, H, gate_bias=1.0, seed=2).double()
    inputs = torch.randn(T, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    step = (lambda x, s: tuple(cell(x, s))) if kind == "lstm" else (lambda x, s: (cell(x, s[0]),))
    zeros = torch.zeros(H, dtype=torch.float64)
    state0 = (zeros, zeros) if kind == "lstm" else (zeros,)
    J = gf.state_jacobians(step, inputs, state0, wrt=wrt)
    hs, cs = _forward_states(cell, inputs, kind)

    def output_gate(t):  # o_t of the step that made (h_t, c_t): chunk 3 of the LSTM's gate order i, f, g, o
        pre = cell.weight_ih @ inputs[t - 1] + cell.bias_ih + cell.weight_hh @ hs[t - 1][0] + cell.bias_hh
        return torch.sigmoid(pre.chunk(4)[3]).detach()

    for k in (0, 1, 4, T):
        t = T - k

        def from_t(s_t):  # runs steps t..T-1 with only state component `wrt` free
            h, c = s_t, cs[t][0]
            if wrt == 1:  # h_t = o_t * tanh(c_t) follows c_t (o_t held); h_0 is independent of c_0
                h, c = (hs[t][0] if t == 0 else output_gate(t) * torch.tanh(s_t)), s_t
            for x in inputs[t:]:
                if kind == "lstm":
                    h, c = cell(x[None], (h[None], c[None]))
                    h, c = h[0], c[0]
                else:
                    h = cell(x[None], h[None])[0]
            return c if wrt == 1 else h

        s_t = (cs if wrt == 1 else hs)[t][0].detach()
        expected = torch.func.jacrev(from_t)(s_t)
        torch.testing.assert_close(J[k], expected, rtol=1e-10, atol=1e-12)


def test_gru_with_update_gate_forced_to_one_is_identity():
    # sigmoid(60) rounds to exactly 1.0 in float64, and its derivative z(1-z) to exactly 0:
    # h' = (1 - z) n + z h = h, so every dh_T/dh_t is the identity, norm 1 at every lag.
    norms = gf.jacobian_norms("gru", 80, 16, gate_bias=60.0)
    np.testing.assert_array_equal(norms, np.ones(81))
    plain = gf.jacobian_norms("gru", 80, 16)
    biased = gf.jacobian_norms("gru", 80, 16, gate_bias=4.0)
    assert plain[50] < 1e-3  # default init: z ~ sigmoid(small) ~ 0.5 per step
    assert biased[50] > 1e3 * plain[50]
    # z ~ sigmoid(4) = 0.982: the diag(z) part alone would give 0.982^50 ~ 0.40
    assert 0.05 < biased[50] < 1.5


def test_set_spectral_radius_checked_with_eigvals():
    torch.manual_seed(0)
    W = torch.randn(10, 10)
    assert gf.set_spectral_radius(W, 0.9) is W
    assert torch.linalg.eigvals(W.double()).abs().max().item() == pytest.approx(0.9, rel=1e-5)
    cell = gf.make_cell("gru", 1, 6, spectral_radius=1.7)
    for block in cell.weight_hh.detach().split(6):
        assert torch.linalg.eigvals(block.double()).abs().max().item() == pytest.approx(1.7, rel=1e-5)
    with pytest.raises(ValueError, match="square"):
        gf.set_spectral_radius(torch.randn(6, 3), 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        gf.set_spectral_radius(torch.randn(3, 3), -1.0)


@pytest.mark.parametrize("module", [nn.GRU(2, 4, num_layers=2, bidirectional=True), nn.LSTM(2, 4), nn.GRUCell(2, 4)])
def test_orthogonal_init_with_gate_bias(module):
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    gf.orthogonal_init_with_gate_bias(module, 2.5)
    for name, p in module.named_parameters():
        if name.startswith("weight_hh"):
            for block in p.detach().split(4):
                torch.testing.assert_close(block.T @ block, torch.eye(4), atol=1e-5, rtol=0)
        elif name.startswith("bias"):
            chunk = 2.5 if name.startswith("bias_ih") else 0.0
            torch.testing.assert_close(p.detach()[4:8], torch.full((4,), chunk))
            torch.testing.assert_close(p.detach()[:4], before[name][:4])  # other gates untouched
        else:
            torch.testing.assert_close(p.detach(), before[name])


def test_gate_bias_sets_the_update_gate_seen_by_the_scratch_cell():
    cell = ScratchGRUCell(3, 5)
    gf.set_gate_bias(cell, 1.5)
    _, gates = cell.forward_with_gates(torch.zeros(1, 3), torch.zeros(1, 5))
    torch.testing.assert_close(gates["z"], torch.full((1, 5), 1 / (1 + math.exp(-1.5))))


def test_memory_horizon():
    assert gf.memory_horizon(np.array([1.0, 0.5, 0.02, 0.009, 0.5])) == 2
    assert gf.memory_horizon(np.array([1.0, 0.5]), threshold=0.1) == 1
    assert gf.memory_horizon(np.array([1.0, 0.001])) == 0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="kind"):
        gf.jacobian_norms("transformer")
    with pytest.raises(ValueError, match="gate_bias"):
        gf.jacobian_norms("rnn", gate_bias=1.0)
    with pytest.raises(ValueError, match="LSTM only"):
        gf.jacobian_norms("gru", state="c")
    with pytest.raises(ValueError, match="nonlinearity"):
        gf.jacobian_norms("gru", nonlinearity="relu")
    with pytest.raises(ValueError, match="inputs must have shape"):
        gf.jacobian_norms("rnn", 5, inputs=torch.zeros(4, 1))


def test_delay_recall_batch_target_is_first_value():
    x, y = gf.delay_recall_batch(4, 7, torch.Generator().manual_seed(0))
    assert x.shape == (4, 7, 1) and y.shape == (4, 1)
    torch.testing.assert_close(y, x[:, 0])


def test_train_recall_first_loss_and_grad_norm_match_a_manual_step():
    run = gf.train_recall(init="orthogonal", gate_bias=2.0, steps=2, progress=False, seed=4)
    torch.manual_seed(4)
    model = gf.RecallModel("gru", 32)
    gf.orthogonal_init_with_gate_bias(model.rnn, 2.0)
    x, y = gf.delay_recall_batch(64, 50, torch.Generator().manual_seed(5))
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    assert run["loss"][0] == pytest.approx(loss.item(), rel=1e-6)
    assert run["grad_norm"][0] == pytest.approx(norm.item(), rel=1e-5)


def test_gate_bias_init_learns_the_recall_task_and_default_does_not():
    kw = dict(seq_len=30, hidden_size=16, steps=100, progress=False)
    default = gf.train_recall(init="default", **kw)
    orthogonal = gf.train_recall(init="orthogonal", gate_bias=2.0, **kw)
    assert default["loss"][-10:].mean() > 0.8  # little of x[:, 0] survives 29 steps
    assert orthogonal["loss"][-10:].mean() < 0.3


def test_clipping_keeps_an_exploding_sgd_run_finite():
    kw = dict(kind="rnn", spectral_radius=1.5, optimizer="sgd", lr=0.1, steps=60, progress=False)
    unclipped, clipped = gf.train_recall(clip=None, **kw), gf.train_recall(clip=1.0, **kw)
    assert not np.isfinite(unclipped["loss"]).all()
    assert np.isfinite(clipped["loss"]).all()


def test_train_recall_seeds_gives_each_run_as_alone_whether_in_processes_or_here():
    settings = {"gru": dict(kind="gru", steps=3, seq_len=6, hidden_size=4),
                "rnn clipped": dict(kind="rnn", clip=1.0, optimizer="sgd", steps=3, seq_len=6, hidden_size=4)}
    threads = torch.get_num_threads()
    here = gf.train_recall_seeds(settings, seeds=(0, 1), jobs=1, progress=False)
    assert torch.get_num_threads() == threads  # one thread inside the runs only
    spread = gf.train_recall_seeds(settings, seeds=(0, 1), jobs=2, progress=False)
    assert list(here) == list(spread) == list(settings)
    for label, kw in settings.items():
        for seed, a, b in zip((0, 1), here[label], spread[label]):
            with num_threads(1):
                alone = gf.train_recall(seed=seed, progress=False, **kw)
            for key in ("loss", "grad_norm"):
                np.testing.assert_array_equal(a[key], alone[key])
                np.testing.assert_array_equal(b[key], alone[key])
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        gf.train_recall_seeds(settings, jobs=0)

"""The solutions against independent references, on the hidden tests' cases.

The grader compares a submission with the solution's own outputs, so the solutions must be right.
Where a hidden test compares with torch / numpy, the grader re-checks that on every run (its
``expected``); the hand-written references below stay out of the notebooks, because whatever
a test cell defines lives in the student's kernel during grading and could be called from there.
"""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest
import torch

from seqlab.grading.cells import is_solution_cell

ROOT = Path(__file__).resolve().parents[1]


def solution_functions(name: str) -> dict:
    """Run the solution's setup and answer cells (definitions only) and return their names."""
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    namespace: dict = {}
    for cell in nb.cells:
        if cell.get("id") == "setup" or is_solution_cell(cell):
            exec(compile(cell.source, f"{name}:{cell.id}", "exec"), namespace)
    return namespace


def reference_norms(rnn, x):
    """Autograd through torch.nn.RNN itself: the Jacobian of h_T with respect to h_{T-k}."""
    hidden = rnn(x)[0].detach()  # (steps, hidden_size): h_1 ... h_T
    steps = x.shape[0]
    norms = [torch.tensor(math.sqrt(rnn.hidden_size), dtype=x.dtype)]
    for k in range(1, steps):
        start = hidden[steps - 1 - k]  # h_{T-k}
        run_on = lambda h: rnn(x[steps - k :], h[None])[1][0]  # noqa: E731
        norms.append(torch.autograd.functional.jacobian(run_on, start).norm())
    return torch.stack(norms)


def reference_scan(u, delta, A, B, C, D):
    """mamba-ssm's selective_scan_ref semantics, written with explicit per-step loops."""
    b, d, l = u.shape
    x = torch.zeros(b, d, A.shape[1], dtype=u.dtype)
    y = torch.empty_like(u)
    for i in range(l):
        decay = torch.exp(delta[:, :, i, None] * A[None])  # (b, d, n)
        x = decay * x + delta[:, :, i, None] * B[:, None, :, i] * u[:, :, i, None]
        y[:, :, i] = (x * C[:, None, :, i]).sum(-1) + D[None, :] * u[:, :, i]
    return y


@pytest.mark.parametrize("seed, case", list(enumerate([(1, 2, 3, 1.0), (12, 3, 5, 0.5), (10, 2, 4, 2.5), (15, 4, 8, 1.0)])))
def test_gradient_norms_equal_autograd_jacobians(seed, case):
    gradient_norms = solution_functions("02_gradient_flow")["gradient_norms"]
    steps, input_size, hidden_size, scale = case
    torch.manual_seed(300 + seed)
    rnn = torch.nn.RNN(input_size, hidden_size).double()
    with torch.no_grad():
        rnn.weight_hh_l0.normal_(0, scale / math.sqrt(hidden_size))
    x = torch.randn(steps, input_size, dtype=torch.float64)
    torch.testing.assert_close(gradient_norms(rnn, x), reference_norms(rnn, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed, case", list(enumerate([(1, 1, 1, 1), (2, 4, 9, 3), (3, 2, 16, 8), (1, 3, 5, 2)])))
def test_selective_scan_equals_the_reference_loop(seed, case):
    selective_scan = solution_functions("04_selective_scan")["selective_scan"]
    b, d, l, n = case
    torch.manual_seed(1000 + seed)
    u = torch.randn(b, d, l, dtype=torch.float64)
    delta = torch.rand(b, d, l, dtype=torch.float64) * 2
    A = -torch.exp(torch.randn(d, n, dtype=torch.float64))
    B, C = torch.randn(b, n, l, dtype=torch.float64), torch.randn(b, n, l, dtype=torch.float64)
    D = torch.randn(d, dtype=torch.float64)
    torch.testing.assert_close(selective_scan(u, delta, A, B, C, D), reference_scan(u, delta, A, B, C, D),
                               rtol=0, atol=1e-12)


def test_a_wrong_scan_is_caught_by_the_reference():
    """The oracle can fail: the scan without the skip connection D * u differs."""
    u, delta = torch.randn(1, 2, 4, dtype=torch.float64), torch.rand(1, 2, 4, dtype=torch.float64)
    A, B, C = -torch.ones(2, 3, dtype=torch.float64), torch.randn(1, 3, 4, dtype=torch.float64), torch.randn(1, 3, 4, dtype=torch.float64)
    D = torch.ones(2, dtype=torch.float64)
    with_skip = reference_scan(u, delta, A, B, C, D)
    without = reference_scan(u, delta, A, B, C, torch.zeros_like(D))
    assert (with_skip - without - u).abs().max() < 1e-12


def test_linear_attention_solutions_equal_independent_references():
    """Exercise 05's answers against references written apart from seqlab.attention (which its hidden checks use)."""
    f = solution_functions("05_linear_attention")
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 11, n, dtype=torch.float64) for n in (3, 3, 4))
    fq, fk = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
    weights = (fq @ fk.transpose(1, 2)).tril()  # (b, l, l): phi(q_i) . phi(k_j) for j <= i
    expected = weights @ v / (weights.sum(-1, keepdim=True) + 1e-6)
    assert (f["linear_attention_recurrent"](q, k, v) - expected).abs().max() < 1e-12
    log_a = -torch.rand(3, 9, dtype=torch.float64)
    a = log_a.exp()
    L = torch.zeros(3, 9, 9, dtype=torch.float64)
    for t in range(9):
        for s in range(t + 1):
            L[:, t, s] = a[:, s + 1:t + 1].prod(-1)
    assert (f["decay_mask"](log_a) - L).abs().max() < 1e-12
    assert f["memory_floats"](2, 4096, 64, 64) == (2 * 4096 * 128, 2 * (64 * 64 + 64))

"""Zoneout and LayerNorm GRU cells against hand-computed references and torch.nn."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from seqlab.scratch import CellRNN, GRUCell, LayerNormGRUCell, ZoneoutGRUCell


def _gru_ref(cell, x, h):
    ref = nn.GRUCell(cell.input_size, cell.hidden_size).double()
    ref.load_state_dict({k: v for k, v in cell.state_dict().items()})
    return ref(x, h)


def test_zoneout_zero_is_the_gru_cell_and_torch_nn():
    torch.manual_seed(0)
    cell = ZoneoutGRUCell(3, 5, zoneout=0.0).double().train()
    x, h = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    torch.testing.assert_close(cell(x, h), _gru_ref(cell, x, h), rtol=1e-12, atol=1e-12)


def test_zoneout_training_keeps_exactly_the_masked_units():
    torch.manual_seed(0)
    cell = ZoneoutGRUCell(3, 6, zoneout=0.4).double().train()
    x, h = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 6, dtype=torch.float64)
    torch.manual_seed(123)
    out = cell(x, h)
    torch.manual_seed(123)
    keep = torch.rand(8, 6, dtype=torch.float64) < 0.4  # the same draw the cell makes
    expected = torch.where(keep, h, _gru_ref(cell, x, h))
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    assert torch.equal(out[keep], h[keep])  # kept units are exactly the old state
    assert 0 < keep.sum() < keep.numel()  # a test that can fail: some units kept, some updated


def test_zoneout_eval_is_the_expectation_and_one_freezes_the_state():
    torch.manual_seed(1)
    cell = ZoneoutGRUCell(2, 4, zoneout=0.3).double().eval()
    x, h = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(cell(x, h), 0.3 * h + 0.7 * _gru_ref(cell, x, h))
    frozen = ZoneoutGRUCell(2, 4, zoneout=1.0).double().train()
    torch.testing.assert_close(frozen(x, h), h, rtol=0, atol=0)
    with pytest.raises(ValueError, match="probability"):
        ZoneoutGRUCell(2, 4, zoneout=1.5)


def _layernorm_gru_by_hand(cell, x, h):
    """Six separate torch.nn.LayerNorm modules, one per gate block and side: an independent reference."""
    H = cell.hidden_size
    gi, gh = F.linear(x, cell.weight_ih), F.linear(h, cell.weight_hh)  # (N, 3H)
    parts = []
    for side, pre, w, b in (("ih", gi, cell.ln_ih_weight, cell.ln_ih_bias), ("hh", gh, cell.ln_hh_weight, cell.ln_hh_bias)):
        blocks = []
        for k in range(3):
            ln = nn.LayerNorm(H, eps=cell.eps).double()
            with torch.no_grad():
                ln.weight.copy_(w[k])
                ln.bias.copy_(b[k])
            blocks.append(ln(pre[:, k * H:(k + 1) * H]))
        parts.append(blocks)
    bi, bh = cell.bias_ih.chunk(3), cell.bias_hh.chunk(3)
    r = torch.sigmoid(parts[0][0] + bi[0] + parts[1][0] + bh[0])
    z = torch.sigmoid(parts[0][1] + bi[1] + parts[1][1] + bh[1])
    n = torch.tanh(parts[0][2] + bi[2] + r * (parts[1][2] + bh[2]))
    return (1 - z) * n + z * h


def test_layernorm_gru_against_a_hand_built_reference_and_gradcheck():
    torch.manual_seed(0)
    cell = LayerNormGRUCell(3, 5).double()
    with torch.no_grad():  # move the gains and shifts off their initial 1 and 0
        for p in (cell.ln_ih_weight, cell.ln_ih_bias, cell.ln_hh_weight, cell.ln_hh_bias):
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(cell(x, h), _layernorm_gru_by_hand(cell, x, h), rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda a, b: cell(a, b), (x, h))


def test_layernorm_gru_differs_from_the_plain_gru_only_by_the_normalisation():
    torch.manual_seed(0)
    cell = LayerNormGRUCell(3, 5)
    torch.manual_seed(0)
    plain = nn.GRUCell(3, 5)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):  # same init as torch.nn
        torch.testing.assert_close(getattr(cell, name), getattr(plain, name))
    x, h = torch.randn(4, 3), torch.randn(4, 5)
    assert not torch.allclose(cell(x, h), plain(x, h))
    with pytest.raises(ValueError, match="expects input"):
        cell(torch.randn(4, 2), h)


def test_cell_rnn_matches_torch_nn_gru():
    torch.manual_seed(0)
    cell = GRUCell(2, 6)
    ref = nn.GRU(2, 6, batch_first=True)
    ref.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = torch.randn(3, 7, 2)
    out, h = CellRNN(cell)(x)
    out_ref, h_ref = ref(x)
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h, h_ref, rtol=1e-5, atol=1e-6)

"""Lesson 01's parameter-count table: the formula G * (H*I + H*H + 2H) against torch.nn's modules."""

import pytest
from torch import nn

from seqlab.plots import parameter_count, parameter_count_table


@pytest.mark.parametrize("input_size,hidden_size", [(1, 1), (1, 64), (7, 128), (300, 17)])
def test_formula_matches_torch_nn(input_size, hidden_size):
    for mode, module in (("RNN", nn.RNN), ("GRU", nn.GRU), ("LSTM", nn.LSTM)):
        expected = sum(p.numel() for p in module(input_size, hidden_size).parameters())
        assert parameter_count(mode, input_size, hidden_size) == expected


def test_gru_has_exactly_three_quarters_of_lstm():
    table = parameter_count_table([8, 64, 128], input_size=3)
    assert (table["GRU"] == table["GRU (torch.nn)"]).all()
    assert (table["LSTM"] == table["LSTM (torch.nn)"]).all()
    assert (table["GRU"] * 4 == table["LSTM"] * 3).all()  # exact, for every size
    assert table["GRU fewer %"].tolist() == [25.0, 25.0, 25.0]
    assert table.loc[128, "GRU"] == 3 * (128 * 3 + 128 * 128 + 2 * 128)


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="mode must be one of"):
        parameter_count("Mamba", 1, 4)

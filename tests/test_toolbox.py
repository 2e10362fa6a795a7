"""The tutorial's toolbox pieces (seqlab.toolbox) and the adding problem (seqlab.tasks)."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqlab import tasks, toolbox


def test_time_series_splits_match_sklearns_documented_example():
    # sklearn's TimeSeriesSplit docstring: 6 samples, n_splits=5 -> train [0..k-1], test [k]
    folds = toolbox.time_series_splits(6, 5)
    assert [(tr.tolist(), va.tolist()) for tr, va in folds] == [([0], [1]), ([0, 1], [2]), ([0, 1, 2], [3]),
                                                              ([0, 1, 2, 3], [4]), ([0, 1, 2, 3, 4], [5])]
    # ... and with test_size=2, gap=2 on 12 samples (also from its docstring)
    folds = toolbox.time_series_splits(12, 3, test_size=2, gap=2)
    assert [(tr.tolist(), va.tolist()) for tr, va in folds] == [
        ([0, 1, 2, 3], [6, 7]), ([0, 1, 2, 3, 4, 5], [8, 9]), ([0, 1, 2, 3, 4, 5, 6, 7], [10, 11])]
    with pytest.raises(ValueError, match="cannot make"):
        toolbox.time_series_splits(3, 5)


def test_random_splits_cover_every_sample_once():
    folds = toolbox.random_splits(23, 4, seed=1)
    val = np.sort(np.concatenate([va for _, va in folds]))
    assert val.tolist() == list(range(23))
    assert all(len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 23 for tr, va in folds)


def test_warmup_schedule_factors():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = toolbox.warmup_schedule(3, decay="cosine", total_epochs=7)(opt)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [0.1 / 3, 0.2 / 3, 0.1] + [0.1 * 0.5 * (1 + np.cos(np.pi * k / 4)) for k in (0, 1, 2, 3, 4)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="total_epochs"):
        toolbox.warmup_schedule(3, decay="cosine")


def test_attention_pooling_is_a_convex_combination_over_time():
    torch.manual_seed(0)
    pool = toolbox.AttentionPooling(4)
    out = torch.randn(2, 5, 4)
    ctx, w = pool(out)
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    by_hand = torch.softmax(out @ pool.score.weight[0] + pool.score.bias, dim=1)
    torch.testing.assert_close(w, by_hand)
    torch.testing.assert_close(ctx, (by_hand[..., None] * out).sum(1))


def test_bidirectional_head_reads_both_final_states():
    torch.manual_seed(0)
    model = toolbox.ToolboxForecaster("gru", 3, bidirectional=True).eval()
    x = torch.randn(2, 6, 1)
    out, _ = model.rnn(x)
    _, h_n = model.rnn(x)  # h_n (2 directions, b, H): the final states of each direction
    torch.testing.assert_close(torch.cat([h_n[0], h_n[1]], -1), torch.cat([out[:, -1, :3], out[:, 0, 3:]], -1))
    expected = model.head(torch.cat([h_n[0], h_n[1]], -1)).squeeze(-1)
    torch.testing.assert_close(model(x), expected)


def test_conv_front_end_is_causal_and_options_run():
    torch.manual_seed(0)
    model = toolbox.ToolboxForecaster("gru", 4, conv_channels=3).eval()
    x = torch.randn(1, 8, 1)
    y = x.clone()
    y[:, -1] += 1.0  # change only the last month
    a, b = model.conv(x.transpose(1, 2))[..., :8], model.conv(y.transpose(1, 2))[..., :8]
    torch.testing.assert_close(a[..., :-1], b[..., :-1])  # earlier steps do not see the future
    for kw in ({"pooling": "attention"}, {"residual": True}, {"norm": "layer"}, {"norm": "batch"},
               {"cell": "layernorm"}, {"zoneout": 0.2}, {"kind": "lstm", "num_layers": 2}):
        m = toolbox.ToolboxForecaster(hidden_size=4, **kw)
        assert m(torch.randn(5, 7, 1)).shape == (5,)
    with pytest.raises(ValueError, match="one-layer"):
        toolbox.ToolboxForecaster("lstm", zoneout=0.1)
    with pytest.raises(ValueError, match="windows"):
        model(torch.randn(2, 8))


def test_ensemble_is_the_mean_of_predictions():
    class Const:
        def __init__(self, c):
            self.c = c

        def predict(self, X):
            return np.full(len(X), self.c)
    X = np.zeros((4, 3))
    np.testing.assert_allclose(toolbox.ensemble_predict([Const(1.0), Const(2.0), Const(6.0)], X), np.full(4, 3.0))


def test_missing_values_recipes():
    s = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    holed = toolbox.drop_months(s, 0.3, seed=0)
    assert holed.isna().sum() == 3 and not np.isnan(holed.iloc[0]) and not np.isnan(holed.iloc[-1])
    np.testing.assert_allclose(toolbox.fill_missing(holed, "linear"), s)  # a line is interpolated exactly
    ff = toolbox.fill_missing(holed, "ffill")
    gone = holed.isna()
    assert (ff[gone] < s[gone]).all()  # forward fill lags a rising series
    with pytest.raises(ValueError, match="ffill"):
        toolbox.fill_missing(holed, "mean")


def test_adding_problem_targets_and_baseline():
    x, y = tasks.adding_problem(500, 20, torch.Generator().manual_seed(0))
    assert x.shape == (500, 20, 2) and y.shape == (500,)
    assert (x[..., 1].sum(1) == 2).all()
    assert (x[:, :10, 1].sum(1) == 1).all() and (x[:, 10:, 1].sum(1) == 1).all()  # one marker per half
    torch.testing.assert_close((x[..., 0] * x[..., 1]).sum(1), y)
    assert abs(y.var().item() - 1 / 6) < 0.03  # predicting the mean scores MSE 1/6


def test_train_adding_is_deterministic_and_learns_a_short_task():
    cfg = tasks.AddingConfig(kind="gru", length=6, n_train=500, steps=150, seed=0)
    a, b = tasks.train_adding(cfg), tasks.train_adding(cfg)
    assert a["r2"] == b["r2"] and np.array_equal(a["loss"], b["loss"])
    assert a["r2"] > 0.5, a["r2"]

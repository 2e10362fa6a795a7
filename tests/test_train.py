"""seqlab.train: the lab's loss against its formula, determinism, early stopping and best-weight
restore, divergence errors, thread restore, metrics against independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from seqlab.data import split_series
from seqlab.models import make_forecaster
from seqlab.models import NextStepForecaster
from seqlab.train import (
    LabLoss,
    TrainConfig,
    TrainingDiverged,
    evaluate,
    fit_batches,
    num_threads,
    regression_metrics,
    train,
    train_next_step,
)


@pytest.fixture(scope="module")
def small_splits():
    """A synthetic noisy cycle (no data file needed): 400 months."""
    t = np.arange(400)
    rng = np.random.default_rng(0)
    values = 80 + 70 * np.sin(2 * np.pi * t / 132) + rng.normal(0, 10, 400)
    values = np.clip(values, 0, None)
    return split_series(pd.Series(values, index=pd.period_range("1900-01", periods=400, freq="M")), 12)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.7, 1.0])
def test_lab_loss_matches_formula(alpha):
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=50), rng.normal(size=50)
    mse = sum((a - b) ** 2 for a, b in zip(p, t)) / 50
    expected = alpha * mse + (1 - alpha) * math.sqrt(mse)
    got = LabLoss(alpha)(torch.tensor(p), torch.tensor(t)).item()
    assert got == pytest.approx(expected, rel=1e-12)
    if alpha == 1.0:
        assert got == pytest.approx(torch.nn.MSELoss()(torch.tensor(p), torch.tensor(t)).item())
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        LabLoss(1.5)


def _fit(splits, seed, **kw):
    model = make_forecaster("lstm", seed=seed, hidden_size=8)
    return model, train(model, splits, epochs=3, progress=False, seed=seed, **kw)


def test_same_seed_same_losses_bit_for_bit(small_splits):
    _, a = _fit(small_splits, 0)
    _, b = _fit(small_splits, 0)
    _, c = _fit(small_splits, 1)
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss
    assert a.train_loss != c.train_loss
    assert len(a.train_loss) == 3 and a.train_loss[-1] < a.train_loss[0]
    assert a.train_time_s > 0


def test_best_weights_restored_and_early_stop(small_splits):
    model, result = _fit(small_splits, 0, lr=0.05)
    loss = LabLoss(0.5)
    with torch.no_grad():
        X = torch.tensor(small_splits.X_val).unsqueeze(-1)
        val_now = loss(model.eval()(X), torch.tensor(small_splits.y_val)).item()
    assert val_now == pytest.approx(min(result.val_loss), rel=1e-6)
    assert result.best_epoch == int(np.argmin(result.val_loss)) + 1
    # lr = 0: the validation loss never improves after epoch 1, so patience 2 stops after epoch 3
    frozen = make_forecaster("rnn", seed=0, hidden_size=4)
    result = train(frozen, small_splits, epochs=10, lr=0.0, patience=2, progress=False)
    assert result.stopped_early and len(result.val_loss) == 3 and result.best_epoch == 1


def test_time_budget_stops_after_the_epoch_that_exceeds_it(small_splits):
    model = make_forecaster("rnn", seed=0, hidden_size=4)
    result = train(model, small_splits, epochs=5, time_budget_s=0.0, progress=False)
    assert len(result.train_loss) == 1 and result.stopped_early


def test_no_restore_keeps_last_weights(small_splits):
    _, result = _fit(small_splits, 0, restore_best=False)
    assert result.best_epoch == 3


def test_lr_schedules(small_splits):
    _, cosine = _fit(small_splits, 0, lr_schedule="cosine")
    assert cosine.lr[0] == pytest.approx(1e-3) and cosine.lr[0] > cosine.lr[1] > cosine.lr[2]
    with pytest.raises(ValueError, match="lr_schedule"):
        _fit(small_splits, 0, lr_schedule="warmup")


def test_gradient_clipping_is_applied(small_splits):
    before = make_forecaster("lstm", seed=0, hidden_size=8)
    start = [p.detach().clone() for p in before.parameters()]
    clipped, _ = _fit(small_splits, 0, clip_grad_norm=1e-12)
    free, _ = _fit(small_splits, 0)
    moved = lambda m: max((p - q).abs().max().item() for p, q in zip(m.parameters(), start))  # noqa: E731
    assert moved(clipped) < 0.1 * moved(free)  # tiny gradients: Adam's eps dominates the step


def test_divergence_names_the_epoch(small_splits):
    bad = split_series(small_splits.series, 12)
    bad.X_train = bad.X_train.copy()
    bad.X_train[5, 3] = np.nan
    with pytest.raises(TrainingDiverged, match=r"Epoch 1: .*nan.*clip_grad_norm"):
        train(make_forecaster("gru", hidden_size=4), bad, epochs=2, progress=False)
    with pytest.raises(TrainingDiverged, match="Lower the learning rate"):
        train(make_forecaster("gru", hidden_size=4), small_splits, epochs=1, max_loss=1e-9, progress=False)


def test_threads_restored_even_after_errors():
    before = torch.get_num_threads()
    with num_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(KeyError):
        with num_threads(1):
            raise KeyError("boom")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads must be >= 1"):
        with num_threads(0):
            pass


def test_regression_metrics_against_formulas():
    rng = np.random.default_rng(2)
    y, p = rng.normal(size=40), rng.normal(size=40)
    mean = sum(y) / len(y)
    ss_res = sum((a - b) ** 2 for a, b in zip(y, p))
    ss_tot = sum((a - mean) ** 2 for a in y)
    m = regression_metrics(y, p)
    assert m["rmse"] == pytest.approx(math.sqrt(ss_res / 40))
    assert m["mae"] == pytest.approx(sum(abs(a - b) for a, b in zip(y, p)) / 40)
    assert m["r2"] == pytest.approx(1 - ss_res / ss_tot)
    assert regression_metrics(y, y)["r2"] == 1.0
    assert regression_metrics(y, np.full(40, y.mean()))["r2"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same non-zero length"):
        regression_metrics(y, p[:3])


def test_evaluate_units(small_splits):
    model, _ = _fit(small_splits, 0)
    e = evaluate(model, small_splits, "test")
    span = small_splits.scaler.data_max_ - small_splits.scaler.data_min_
    assert e["rmse_sunspots"] == pytest.approx(e["rmse"] * span, rel=1e-6)
    assert e["mae_sunspots"] == pytest.approx(e["mae"] * span, rel=1e-6)
    assert e["r2_sunspots"] == pytest.approx(e["r2"], abs=1e-9)
    actual = small_splits.series.loc[small_splits.months_test].to_numpy()
    assert regression_metrics(actual, e["prediction"])["rmse"] == pytest.approx(e["rmse_sunspots"], rel=1e-5)


def test_train_config_holds_every_setting_and_names_bad_ones(small_splits):
    with pytest.raises(ValueError, match="epochs and batch_size must be >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="alpha"):
        TrainConfig(alpha=2.0)
    with pytest.raises(TypeError, match="Unknown training setting.*epoch.*TrainConfig has"):
        TrainConfig().replace(epoch=3)
    # a config and keyword changes are the same thing
    a = train(make_forecaster("rnn", seed=0, hidden_size=4), small_splits, TrainConfig(epochs=2, seed=3, progress=False))
    b = train(make_forecaster("rnn", seed=0, hidden_size=4), small_splits, epochs=2, seed=3, progress=False)
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss


def test_fit_batches_is_plain_sgd_steps_and_measures_the_norm_before_clipping():
    torch.manual_seed(0)
    model, twin = torch.nn.Linear(3, 1), torch.nn.Linear(3, 1)
    twin.load_state_dict(model.state_dict())
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(5, 3, generator=g), torch.randn(5, 1, generator=g)) for _ in range(3)]
    mse = torch.nn.functional.mse_loss
    run = fit_batches(model, batches, mse, torch.optim.SGD(model.parameters(), lr=0.1), clip_grad_norm=0.01,
                      measure_grad_norm=True)
    for i, (x, y) in enumerate(batches):  # by hand: the norm, then the clipped step
        twin.zero_grad()
        loss = mse(twin(x), y)
        loss.backward()
        norm = torch.cat([p.grad.flatten() for p in twin.parameters()]).norm().item()
        assert run.loss[i] == loss.item() and run.grad_norm[i] == pytest.approx(norm, rel=1e-6)
        with torch.no_grad():
            for p in twin.parameters():
                p -= 0.1 * p.grad * min(1.0, 0.01 / (norm + 1e-6))
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q)
    assert run.size == [5, 5, 5]
    # max_loss=None keeps going through a NaN loss; a number raises naming where
    nan_batch = [(torch.full((2, 3), float("nan")), torch.zeros(2, 1))]
    assert math.isnan(fit_batches(model, nan_batch, mse, torch.optim.SGD(model.parameters(), lr=0.1)).loss[0])
    with pytest.raises(TrainingDiverged, match="step 7: the training loss became nan"):
        fit_batches(model, nan_batch, mse, torch.optim.SGD(model.parameters(), lr=0.1), max_loss=1.0, where="step 7: ")


def test_train_next_step_first_loss_is_a_manual_step():
    values = np.sin(np.arange(300) / 10.0) * 0.5 + 0.5
    model, losses = train_next_step(values, kind="gru", hidden_size=4, steps=3, window=20, batch_size=4,
                                    progress=False, seed=2)
    assert isinstance(model, NextStepForecaster) and losses.shape == (3,)
    torch.manual_seed(2)
    fresh = NextStepForecaster("gru", 4)
    starts = torch.randint(0, 300 - 21, (4,), generator=torch.Generator().manual_seed(3))
    chunk = torch.stack([torch.tensor(values[s : s + 21], dtype=torch.float32) for s in starts.tolist()])[..., None]
    assert fresh(chunk[:, :-1]).shape == (4, 20, 1)
    assert losses[0] == torch.nn.functional.mse_loss(fresh(chunk[:, :-1]), chunk[:, 1:]).item()
    with pytest.raises(ValueError, match="longer than window"):
        train_next_step(values[:10], window=20)

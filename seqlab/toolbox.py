"""The GRU tutorial's toolbox for forecasting, as small pieces on seqlab's public API.

Each piece is used and measured in lesson 07 (``seqlab.claims``) with a verdict:

- ``ToolboxForecaster``: a GRU/LSTM forecaster ``(b, l, 1) -> (b,)`` with the tutorial's options:
  bidirectional, attention pooling, a residual (skip) connection from the last input, LayerNorm or
  BatchNorm on the pooled state, a Conv1d front-end (the CNN-GRU hybrid), zoneout or LayerNorm-GRU
  cells (``seqlab.scratch.variants``).
- ``warmup_schedule``: linear warm-up, then constant or cosine decay, for ``train(lr_schedule=...)``.
- ``time_series_splits`` (sklearn's ``TimeSeriesSplit``: expanding training window, the next block
  as validation) and ``random_splits`` (shuffled k-fold, what the tutorial warns against).
- ``ensemble_predict``: the mean of several models' predictions.
- ``fill_missing`` / ``drop_months``: the tutorial's missing-value recipes (forward fill, linear
  interpolation) on a series with months removed at random.
- ``jitter``: Gaussian-noise augmentation of training windows.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from torch import nn

from .scratch.variants import CellRNN, LayerNormGRUCell, ZoneoutGRUCell
from .train import predict, regression_metrics

__all__ = ["ToolboxForecaster", "AttentionPooling", "warmup_schedule", "time_series_splits", "random_splits",
           "ensemble_predict", "fill_missing", "drop_months", "jitter", "splits_from_arrays"]


class AttentionPooling(nn.Module):
    """The tutorial's attention pooling: ``w = softmax_t(Linear(D, 1)(out_t))``, ``sum_t w_t out_t``.

    forward(out (b, l, D)) -> (context (b, D), weights (b, l)).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = torch.softmax(self.score(out).squeeze(-1), dim=1)  # (b, l), sums to 1 over time
        return torch.einsum("bl,bld->bd", weights, out), weights  # (b, D), (b, l)


class ToolboxForecaster(nn.Module):
    """``(b, l, 1) -> (b,)``: [Conv1d] -> GRU/LSTM -> pooling -> [+ skip] -> [norm] -> Linear(D, 1).

    Args:
        kind: ``"gru"`` or ``"lstm"`` (torch.nn); ``zoneout > 0`` or ``cell="layernorm"`` use the scratch
            variants (GRU only, one layer, one direction).
        bidirectional: a second GRU reads the window backwards; the head sees both final states
            (forward at the last step, backward at the first: the tutorial's ``out[:, -1]`` would give
            the backward direction after one step only).
        pooling: ``"last"`` (the last step's state) or ``"attention"`` (``AttentionPooling``).
        residual: add ``Linear(1, D)`` of the last input month to the pooled state (the tutorial's
            ``ResidualGRU``): the network then learns a correction to a linear function of it.
        norm: None, ``"layer"`` (LayerNorm) or ``"batch"`` (BatchNorm1d) on the pooled state.
        conv_channels: > 0 puts a causal ``Conv1d(1, conv_channels, conv_kernel)`` + ReLU first.
    """

    def __init__(self, kind: str = "gru", hidden_size: int = 32, num_layers: int = 1, *,
                 bidirectional: bool = False, pooling: str = "last", residual: bool = False,
                 norm: str | None = None, conv_channels: int = 0, conv_kernel: int = 3,
                 zoneout: float = 0.0, cell: str = "standard"):
        super().__init__()
        if pooling not in ("last", "attention"):
            raise ValueError(f"pooling must be 'last' or 'attention', got {pooling!r}.")
        if norm not in (None, "layer", "batch"):
            raise ValueError(f"norm must be None, 'layer' or 'batch', got {norm!r}.")
        if cell not in ("standard", "layernorm"):
            raise ValueError(f"cell must be 'standard' or 'layernorm', got {cell!r}.")
        scratch_cell = zoneout > 0 or cell == "layernorm"
        if scratch_cell and (kind != "gru" or num_layers != 1 or bidirectional):
            raise ValueError("zoneout and the LayerNorm cell are one-layer, one-direction GRU cells: "
                             "use kind='gru', num_layers=1, bidirectional=False.")
        in_size = 1
        self.conv = None
        if conv_channels > 0:
            self.conv = nn.Conv1d(1, conv_channels, conv_kernel, padding=conv_kernel - 1)
            in_size = conv_channels
        if scratch_cell:
            core = (LayerNormGRUCell(in_size, hidden_size) if cell == "layernorm"
                    else ZoneoutGRUCell(in_size, hidden_size, zoneout=zoneout))
            self.rnn = CellRNN(core)
        else:
            rnn_class = {"gru": nn.GRU, "lstm": nn.LSTM}.get(kind)
            if rnn_class is None:
                raise ValueError(f"kind must be 'gru' or 'lstm', got {kind!r}.")
            self.rnn = rnn_class(in_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional)
        self.hidden_size, self.bidirectional = hidden_size, bidirectional
        dim = hidden_size * (2 if bidirectional else 1)
        self.pool = AttentionPooling(dim) if pooling == "attention" else None
        self.skip = nn.Linear(1, dim) if residual else None
        self.norm = {None: nn.Identity, "layer": nn.LayerNorm, "batch": nn.BatchNorm1d}[norm](
            *([] if norm is None else [dim]))
        self.head = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != 1:
            raise ValueError(f"expected windows (b, l, 1), got shape {tuple(x.shape)}.")
        seq = x
        if self.conv is not None:
            # causal: pad both sides by k-1, keep the first l outputs, so step t sees months <= t
            seq = torch.relu(self.conv(x.transpose(1, 2))[..., : x.shape[1]]).transpose(1, 2)  # (b, l, C)
        out, _ = self.rnn(seq)  # (b, l, D)
        if self.pool is not None:
            pooled, _ = self.pool(out)  # (b, D)
        elif self.bidirectional:
            H = self.hidden_size
            pooled = torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=-1)  # both final states (b, 2H)
        else:
            pooled = out[:, -1]  # (b, D)
        if self.skip is not None:
            pooled = pooled + self.skip(x[:, -1])  # (b, D)
        return self.head(self.norm(pooled)).squeeze(-1)  # (b,)


def warmup_schedule(warmup_epochs: int, *, decay: str | None = None, total_epochs: int | None = None):
    """For ``train(lr_schedule=...)``: a function(optimizer) -> ``LambdaLR`` whose factor on the base
    lr is ``(e + 1) / warmup_epochs`` for epochs ``e < warmup_epochs`` (the tutorial's warm-up), then 1
    (``decay=None``) or a cosine from 1 down to 0 at ``total_epochs`` (``decay="cosine"``)."""
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}.")
    if decay not in (None, "cosine"):
        raise ValueError(f"decay must be None or 'cosine', got {decay!r}.")
    if decay == "cosine" and (total_epochs is None or total_epochs <= warmup_epochs):
        raise ValueError("decay='cosine' needs total_epochs > warmup_epochs (the epoch where the lr reaches 0).")

    def factor(epoch: int) -> float:
        if epoch < warmup_epochs:
            return (epoch + 1) / warmup_epochs
        if decay is None:
            return 1.0
        progress = (epoch - warmup_epochs) / (total_epochs - warmup_epochs)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return lambda optimizer: torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def time_series_splits(n: int, n_splits: int = 5, *, test_size: int | None = None, gap: int = 0):
    """Index pairs ``(train, val)`` as sklearn's ``TimeSeriesSplit(n_splits, test_size, gap)``: fold k
    validates on the k-th of the last ``n_splits`` blocks of ``test_size`` samples (default
    ``n // (n_splits + 1)``) and trains on everything before it, minus ``gap`` samples."""
    test_size = n // (n_splits + 1) if test_size is None else test_size
    first = n - n_splits * test_size
    if n_splits < 2 or test_size < 1 or first - gap < 1:
        raise ValueError(f"cannot make {n_splits} time-series folds of {test_size} from {n} samples with gap {gap}.")
    folds = []
    for start in range(first, n, test_size):
        folds.append((np.arange(0, start - gap), np.arange(start, start + test_size)))
    return folds


def random_splits(n: int, n_splits: int = 5, *, seed: int = 0):
    """Shuffled k-fold index pairs ``(train, val)``: every sample validates once, futures train pasts."""
    order = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(order, n_splits)
    return [(np.sort(np.concatenate(folds[:k] + folds[k + 1:])), np.sort(folds[k])) for k in range(n_splits)]


def splits_from_arrays(X_train, y_train, X_val, y_val) -> SimpleNamespace:
    """An object with the four arrays ``seqlab.train.train`` reads (``X_* (n, l)``, ``y_* (n,)``)."""
    return SimpleNamespace(X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val)


def ensemble_predict(models, X) -> np.ndarray:
    """The mean of the models' predictions ``(n,)`` on windows ``X (n, l)`` (torch modules or baselines)."""
    if not models:
        raise ValueError("ensemble_predict needs at least one model.")
    return np.mean([predict(m, X)[0] for m in models], axis=0)


def drop_months(series: pd.Series, fraction: float, *, seed: int = 0) -> pd.Series:
    """A copy of ``series`` with ``fraction`` of its months (never the first or last) set to NaN."""
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}.")
    rng = np.random.default_rng(seed)
    inner = np.arange(1, len(series) - 1)
    gone = rng.choice(inner, size=int(round(fraction * len(series))), replace=False)
    out = series.astype(np.float64).copy()
    out.iloc[gone] = np.nan
    return out


def fill_missing(series: pd.Series, method: str) -> pd.Series:
    """The tutorial's recipes: ``"ffill"`` (repeat the last known month) or ``"linear"`` (interpolate)."""
    if method == "ffill":
        return series.ffill()
    if method == "linear":
        return series.interpolate(method="linear")
    raise ValueError(f"method must be 'ffill' or 'linear', got {method!r}.")


def jitter(X: np.ndarray, sigma: float, *, seed: int = 0) -> np.ndarray:
    """Windows ``X (n, l)`` plus N(0, sigma^2) noise: the tutorial's noise augmentation."""
    return (X + np.random.default_rng(seed).normal(0.0, sigma, size=X.shape)).astype(X.dtype)


def r2_of(model, X, y) -> float:
    """Held-out R^2 (scaled units) of a trained model on windows ``X (n, l)``, targets ``y (n,)``."""
    return regression_metrics(y, predict(model, X)[0])["r2"]

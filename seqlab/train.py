"""Training: one loop (``fit_batches``), the epoch driver ``train`` with its ``TrainConfig``, the lab's
loss, and metrics.

The lab trains with ``alpha * MSE + (1 - alpha) * RMSE`` (alpha 0.5 at first, 1.0 = plain MSE),
Adam(lr=1e-3), 10 epochs, batch 64 (32 in its later configurations), shuffled mini-batches.

Every gradient step in seqlab goes through ``fit_batches``: ``train`` (the forecasters, epochs of
shuffled mini-batches with validation), ``train_next_step`` (lesson 01's forecaster, random windows)
and ``seqlab.gradflow.train_recall`` (lesson 02's delay-recall runs).

Determinism: the weights are drawn by the caller (``make_forecaster(..., seed=...)``); ``train``
seeds the shuffling and dropout with ``config.seed`` and runs with a fixed thread count, so on one
CPU the same seed gives the same losses bit for bit.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

# Measured on the course's 2-core machine (benchmarks/bench_compare.py --threads): the lab's
# small models (batch 32-64, window 12) train faster on 1 thread than on 2, because each op is
# too small to pay for splitting it across threads. See benchmarks/README.md.
DEFAULT_THREADS = 1


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf or exploded."""


class LabLoss(nn.Module):
    """``alpha * MSE + (1 - alpha) * RMSE``, the lab's loss; ``alpha=1`` is plain MSE."""

    def __init__(self, alpha: float = 0.5):
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1] (1 = plain MSE), got {alpha}.")
        self.alpha = alpha

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mse = torch.mean((prediction - target) ** 2)
        if self.alpha == 1.0:  # skip sqrt: its gradient is infinite at mse = 0
            return mse
        return self.alpha * mse + (1.0 - self.alpha) * torch.sqrt(mse)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


@contextlib.contextmanager
def num_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)``; restores the previous count afterwards."""
    previous = torch.get_num_threads()
    if n is not None:
        if n < 1:
            raise ValueError(f"threads must be >= 1, got {n}.")
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of ``train``. Plain data: ``dataclasses.replace(config, epochs=2)`` changes one.

    Attributes:
        epochs, lr, batch_size: Adam's learning rate; mini-batches of shuffled training windows.
        alpha: the loss is ``alpha * MSE + (1 - alpha) * RMSE`` (``LabLoss``).
        clip_grad_norm: clip the gradient's global norm to this value (None: no clipping).
        lr_schedule: None, ``"cosine"``, ``"plateau"`` or ``function(optimizer) -> scheduler``.
        patience: stop after this many epochs without a lower validation loss (None: run all).
        restore_best: end with the weights of the epoch with the lowest validation loss.
        seed: seeds mini-batch shuffling and dropout (the weights are seeded by ``make_forecaster``).
        threads: torch threads while training (restored afterwards); None leaves them alone.
        max_loss: a batch loss above this counts as exploded.
        time_budget_s: stop after the first epoch that ends past this many seconds (live UIs).
        progress: show a progress bar over epochs; description: its label.
    """

    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 64
    alpha: float = 0.5
    clip_grad_norm: float | None = None
    lr_schedule: str | Callable | None = None
    patience: int | None = None
    restore_best: bool = True
    seed: int = 0
    threads: int | None = DEFAULT_THREADS
    max_loss: float = 1e4
    time_budget_s: float | None = None
    progress: bool = True
    description: str | None = None

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got epochs={self.epochs}, "
                             f"batch_size={self.batch_size}.")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1] (1 = plain MSE), got {self.alpha}.")
        if self.lr < 0:
            raise ValueError(f"lr must be >= 0, got {self.lr}.")

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some settings changed; an unknown name is an error that lists the known ones."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"Unknown training setting(s) {', '.join(unknown)}; TrainConfig has {', '.join(sorted(known))}.")
        return dataclasses.replace(self, **changes)


@dataclass
class TrainResult:
    """Per-epoch losses (in the training loss's units) and timings of one ``train`` call."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int = 0  # 1-based epoch whose weights the model holds at the end
    stopped_early: bool = False  # by patience or by the time budget
    train_time_s: float = 0.0

    @property
    def best_val_loss(self) -> float:
        return self.val_loss[self.best_epoch - 1]


@dataclass
class BatchLosses:
    """What ``fit_batches`` measured: one entry per gradient step."""

    loss: list[float] = field(default_factory=list)
    size: list[int] = field(default_factory=list)  # examples in the batch
    grad_norm: list[float] = field(default_factory=list)  # global norm before clipping (if measured)


def fit_batches(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], loss_fn: Callable,
                optimizer: torch.optim.Optimizer, *, clip_grad_norm: float | None = None,
                measure_grad_norm: bool = False, max_loss: float | None = None,
                where: str = "") -> BatchLosses:
    """The one training loop: for each ``(x, y)``, one step of ``optimizer`` on ``loss_fn(model(x), y)``.

    Args:
        batches: ``(x, y)`` pairs; the loop takes as many steps as it yields.
        clip_grad_norm: clip the gradient's global norm to this value (None: no clipping).
        measure_grad_norm: record the global gradient norm before clipping in ``grad_norm``.
        max_loss: raise ``TrainingDiverged`` (prefixed with ``where``) when a batch loss is NaN/inf or
            above this; None records such losses and goes on (lesson 02 shows runs blowing up).
    """
    out = BatchLosses()
    for x, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        value = loss.item()
        if max_loss is not None and (not math.isfinite(value) or value > max_loss):
            raise TrainingDiverged(
                f"{where}the training loss became {value:.4g} (NaN/inf or above {max_loss:g}). Lower the "
                f"learning rate (now {optimizer.param_groups[0]['lr']:g}) or clip gradients (clip_grad_norm=1.0)."
            )
        loss.backward()
        if measure_grad_norm:
            # clip_grad_norm_ returns the norm before clipping; max_norm=inf measures without clipping
            norm = nn.utils.clip_grad_norm_(model.parameters(), math.inf if clip_grad_norm is None else clip_grad_norm)
            out.grad_norm.append(norm.item())
        elif clip_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        optimizer.step()
        out.loss.append(value)
        out.size.append(len(x))
    return out


def _tensors(X, y):
    X = torch.as_tensor(np.asarray(X, dtype=np.float32)).unsqueeze(-1)  # (n, l, 1)
    y = torch.as_tensor(np.asarray(y, dtype=np.float32))  # (n,)
    return X, y


def _scheduler(optimizer, lr_schedule, epochs):
    if lr_schedule is None:
        return None
    if lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if lr_schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    if callable(lr_schedule):
        return lr_schedule(optimizer)
    raise ValueError(f"lr_schedule must be None, 'cosine', 'plateau' or a function(optimizer), got {lr_schedule!r}.")


def train(model: nn.Module, splits, config: TrainConfig | None = None, **changes) -> TrainResult:
    """Train ``model`` on ``splits.X_train/y_train`` with Adam; validate on ``splits.X_val/y_val``.

    Args:
        splits: a ``SunspotSplits`` (anything with ``X_train (n, l)``, ``y_train (n,)``, ``X_val``, ``y_val``).
        config: the settings (default ``TrainConfig()``); keyword ``changes`` replace some of them,
            e.g. ``train(model, splits, epochs=3, progress=False)``.

    Returns:
        a ``TrainResult``. Raises ``TrainingDiverged`` naming the epoch if the loss is NaN/inf/exploding.
    """
    from tqdm.auto import tqdm

    config = (config or TrainConfig()).replace(**changes)
    X_train, y_train = _tensors(splits.X_train, splits.y_train)
    X_val, y_val = _tensors(splits.X_val, splits.y_val)
    loss_fn = LabLoss(config.alpha)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = _scheduler(optimizer, config.lr_schedule, config.epochs)
    result, best_state, since_best = TrainResult(), None, 0
    n = len(y_train)
    with num_threads(config.threads):
        torch.manual_seed(config.seed)  # dropout masks
        generator = torch.Generator().manual_seed(config.seed)  # batch order
        bar = tqdm(range(1, config.epochs + 1), desc=config.description or type(model).__name__,
                   disable=not config.progress, leave=False, unit="epoch")
        start = time.perf_counter()
        for epoch in bar:
            model.train()
            batches = ((X_train[idx], y_train[idx])
                       for idx in torch.randperm(n, generator=generator).split(config.batch_size))
            steps = fit_batches(model, batches, loss_fn, optimizer, clip_grad_norm=config.clip_grad_norm,
                                max_loss=config.max_loss, where=f"Epoch {epoch}: ")
            total = 0.0
            for value, size in zip(steps.loss, steps.size):
                total += value * size
            model.eval()
            with torch.no_grad():
                val = loss_fn(model(X_val), y_val).item()
            if not math.isfinite(val):
                raise TrainingDiverged(f"Epoch {epoch}: the validation loss became {val}. "
                                       "Lower the learning rate or clip gradients (clip_grad_norm=1.0).")
            result.train_loss.append(total / n)
            result.val_loss.append(val)
            result.lr.append(optimizer.param_groups[0]["lr"])
            bar.set_postfix(train=f"{total / n:.4f}", val=f"{val:.4f}")
            if best_state is None or val < result.best_val_loss:
                result.best_epoch, since_best = epoch, 0
                best_state = copy.deepcopy(model.state_dict()) if config.restore_best else None
            else:
                since_best += 1
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val)
            elif scheduler is not None:
                scheduler.step()
            out_of_patience = config.patience is not None and since_best >= config.patience
            out_of_time = config.time_budget_s is not None and time.perf_counter() - start > config.time_budget_s
            if out_of_patience or out_of_time:
                result.stopped_early = epoch < config.epochs
                break
        result.train_time_s = time.perf_counter() - start
        bar.close()
    if config.restore_best and best_state is not None:
        model.load_state_dict(best_state)
    else:
        result.best_epoch = len(result.val_loss)
    return result


def train_next_step(values: np.ndarray, *, kind: str = "gru", hidden_size: int = 8, steps: int = 150,
                    window: int = 120, batch_size: int = 32, lr: float = 1e-2, seed: int = 0,
                    progress: bool = True):
    """Teach lesson 01's ``NextStepForecaster`` to predict x[t + 1] from x[..t] at every step.

    values: (T,) scaled series. Each step draws ``batch_size`` random windows of ``window + 1``
    values (input the first ``window``, target the same shifted by one) and takes one Adam step on
    MSE. Returns the model and the (steps,) losses.
    """
    from tqdm.auto import tqdm

    from .models import NextStepForecaster

    values = torch.as_tensor(np.asarray(values, dtype=np.float32))
    if values.ndim != 1 or len(values) <= window + 1:
        raise ValueError(f"values must be 1-D and longer than window + 1 = {window + 1}, got shape {tuple(values.shape)}")
    torch.manual_seed(seed)
    model = NextStepForecaster(kind, hidden_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed + 1)

    def batches():
        for _ in tqdm(range(steps), desc=f"{kind} next month", disable=not progress, leave=False):
            starts = torch.randint(0, len(values) - window - 1, (batch_size,), generator=generator)
            chunk = torch.stack([values[s : s + window + 1] for s in starts.tolist()])[..., None]  # (b, w+1, 1)
            yield chunk[:, :-1], chunk[:, 1:]

    steps_taken = fit_batches(model, batches(), nn.functional.mse_loss, optimizer)
    return model, np.array(steps_taken.loss)


# ---------------------------------------------------------------------------------------- metrics


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """RMSE, MAE and R^2 = 1 - SS_res / SS_tot of 1-D arrays."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"y_true and y_pred need the same non-zero length, got {y_true.shape} and {y_pred.shape}.")
    err = y_pred - y_true
    ss_tot = np.sum((y_true - y_true.mean()) ** 2)
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))),
            "r2": float(1.0 - np.sum(err ** 2) / ss_tot) if ss_tot > 0 else float("nan")}


def predict(model, X, *, threads: int | None = DEFAULT_THREADS) -> tuple[np.ndarray, float]:
    """Predictions ``(n,)`` (float64, scaled units) for windows ``X (n, l)``, and the seconds it took."""
    with num_threads(threads):
        start = time.perf_counter()
        if isinstance(model, nn.Module):
            model.eval()
            with torch.no_grad():
                out = model(torch.as_tensor(np.asarray(X, dtype=np.float32)).unsqueeze(-1)).numpy()
        else:
            out = model.predict(X)
        seconds = time.perf_counter() - start
    return np.asarray(out, dtype=np.float64).reshape(-1), seconds


def evaluate(model, splits, part: str = "test", *, threads: int | None = DEFAULT_THREADS) -> dict:
    """Metrics on one part: ``rmse, mae, r2`` in scaled units (the lab's), ``*_sunspots`` in sunspot
    numbers (inverse transform), ``inference_time_s`` and ``prediction`` (sunspot numbers)."""
    X, y = splits.part(part)
    pred, seconds = predict(model, X, threads=threads)
    scaled = regression_metrics(y, pred)
    inv = splits.scaler.inverse_transform
    sunspots = regression_metrics(inv(y), inv(pred))
    return {**scaled, **{f"{k}_sunspots": v for k, v in sunspots.items()},
            "inference_time_s": seconds, "prediction": inv(pred)}

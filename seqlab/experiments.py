"""Running configurations over seeds, and summarising the runs.

A ``RunConfig`` names what to train (a forecaster ``kind`` and its arguments, the window) and how
(a ``TrainConfig``). ``run_config`` trains one with one seed; ``run_experiments`` runs every
configuration with every seed and returns the ``RunOutcome``s; ``results_table`` makes them one
DataFrame, ``select_best`` picks on validation metrics only, ``summarize`` shows mean ± std.
The lab's own configurations are in ``seqlab.lab``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import DEFAULT_WINDOW, load_sunspots, split_series
from .models import FORECASTERS, count_parameters, is_trained, make_forecaster
from .train import DEFAULT_THREADS, TrainConfig, TrainResult, evaluate, train

# The columns of compare's results.csv (one row per run): test metrics in scaled units, as the lab reported,
# and the validation metrics and losses that selection and the lesson-04 verdicts read.
CSV_COLUMNS = ["model", "label", "window", "seed", "epochs", "params", "train_time_s", "inference_time_s",
               "rmse", "mae", "r2", "rmse_sunspots", "val_rmse", "val_r2", "train_loss", "val_loss", "best_epoch"]
_TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


@dataclass(frozen=True)
class RunConfig:
    """One configuration: the forecaster ``kind`` and its ``model_kwargs`` (for ``make_forecaster``),
    the ``window`` of months it reads, and its training settings ``train``. ``label`` names it in
    tables (the lab's row names)."""

    kind: str
    label: str = "lab baseline"
    model_kwargs: dict = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    window: int = DEFAULT_WINDOW

    def __post_init__(self):
        if self.kind not in FORECASTERS:
            raise ValueError(f"Unknown model {self.kind!r}; expected one of {', '.join(FORECASTERS)}.")

    def replace(self, **changes) -> "RunConfig":
        """A copy with some fields changed. ``model_kwargs`` entries are merged, not replaced, and
        training settings may be given by name: ``config.replace(batch_size=32, label="Batch 32")``."""
        own = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - own - _TRAIN_FIELDS)
        if unknown:
            raise TypeError(f"Unknown training setting(s) {', '.join(unknown)}; RunConfig has {', '.join(sorted(own))} "
                            f"and TrainConfig has {', '.join(sorted(_TRAIN_FIELDS))}.")
        kwargs = {**self.model_kwargs, **changes.pop("model_kwargs", {})}
        train_changes = {k: changes.pop(k) for k in list(changes) if k in _TRAIN_FIELDS}
        train_config = changes.pop("train", self.train).replace(**train_changes)
        return dataclasses.replace(self, model_kwargs=kwargs, train=train_config, **changes)


@dataclass
class RunOutcome:
    """One configuration trained (or fitted) with one seed."""

    config: RunConfig
    seed: int
    row: dict  # one row of ``results_table``
    history: TrainResult | None  # None for baselines
    prediction: np.ndarray  # test predictions, sunspot numbers


def run_config(config: RunConfig, splits, seed: int = 0, *, progress: bool = False,
               threads: int | None = DEFAULT_THREADS) -> RunOutcome:
    """Train/fit ``config`` on ``splits`` with ``seed`` (weights, batch order, dropout); metrics on
    validation and test."""
    if splits.window != config.window:
        raise ValueError(f"{config.kind} ({config.label}) wants window={config.window}, "
                         f"the splits have window={splits.window}.")
    model = make_forecaster(config.kind, seed=seed, **config.model_kwargs)
    history = None
    if is_trained(model):
        settings = config.train.replace(seed=seed, threads=threads, progress=progress,
                                        description=f"{config.kind} seed {seed}")
        history = train(model, splits, settings)
        train_time, best_epoch = history.train_time_s, history.best_epoch
        train_loss, val_loss = history.train_loss[best_epoch - 1], history.best_val_loss
    else:
        start = time.perf_counter()
        model.fit(splits.X_train, splits.y_train)
        train_time = time.perf_counter() - start
        train_loss = val_loss = float("nan")
        best_epoch = 0
    val = evaluate(model, splits, "val", threads=threads)
    test = evaluate(model, splits, "test", threads=threads)
    row = {"model": config.kind, "label": config.label, "seed": seed, "params": count_parameters(model),
           "train_time_s": train_time, "inference_time_s": test["inference_time_s"],
           "rmse": test["rmse"], "mae": test["mae"], "r2": test["r2"],
           "rmse_sunspots": test["rmse_sunspots"], "mae_sunspots": test["mae_sunspots"],
           "val_rmse": val["rmse"], "val_r2": val["r2"], "train_loss": train_loss, "val_loss": val_loss,
           "best_epoch": best_epoch, "window": config.window, "batch_size": config.train.batch_size,
           "alpha": config.train.alpha, "epochs": config.train.epochs}
    return RunOutcome(config, seed, row, history, test["prediction"])


def run_experiments(configs, seeds=(0, 1, 2), *, series: pd.Series | None = None,
                    epochs: int | None = None, train_fraction: float = 0.7, val_fraction: float = 0.15,
                    progress: bool = True, threads: int | None = DEFAULT_THREADS) -> list[RunOutcome]:
    """Run every configuration with every seed, configurations in the outer loop.

    Args:
        configs: ``RunConfig`` objects.
        seeds: an int N (seeds 0..N-1) or a sequence of seeds.
        series: the sunspot series (default ``load_sunspots()``).
        epochs: overrides every configuration's epochs (quick runs).

    Returns:
        one ``RunOutcome`` per (configuration, seed); ``results_table(outcomes)`` is their table.
    """
    from tqdm.auto import tqdm

    configs = list(configs)
    if epochs is not None:
        configs = [c.replace(epochs=epochs) for c in configs]
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    series = load_sunspots() if series is None else series
    splits = {w: split_series(series, w, train_fraction, val_fraction) for w in {c.window for c in configs}}
    jobs = [(c, s) for c in configs for s in seeds]
    return [run_config(config, splits[config.window], seed, threads=threads)
            for config, seed in tqdm(jobs, desc="runs", disable=not progress)]


def _run_job(job) -> RunOutcome:
    config, seed, series, train_fraction, val_fraction, threads = job
    return run_config(config, split_series(series, config.window, train_fraction, val_fraction), seed,
                      threads=threads)


def run_in_processes(configs, seeds=(0, 1, 2), *, series: pd.Series | None = None, jobs: int = 2,
                     epochs: int | None = None, train_fraction: float = 0.7, val_fraction: float = 0.15,
                     progress: bool = True, threads: int | None = DEFAULT_THREADS) -> list[RunOutcome]:
    """``run_experiments`` with the runs spread over ``jobs`` processes: the same outcomes in the same
    order, since every run is seeded and independent of the others; only the wall time differs."""
    from .parallel import map_in_processes

    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    configs = list(configs)
    if epochs is not None:
        configs = [c.replace(epochs=epochs) for c in configs]
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    series = load_sunspots() if series is None else series
    work = [(c, s, series, train_fraction, val_fraction, threads) for c in configs for s in seeds]
    order = sorted(range(len(work)), key=lambda i: -work[i][0].window)  # longest windows (slowest runs) first
    done: list = [None] * len(work)
    for i, outcome in zip(order, map_in_processes(_run_job, [work[i] for i in order], jobs, progress=progress)):
        done[i] = outcome
    return done


def on_windows(configs, windows) -> list[RunConfig]:
    """Every configuration on every window length (months of history), so models are compared on the
    same inputs: AR(p) takes ``p = window``; the others get the window in their label."""
    out = []
    for w in windows:
        for c in configs:
            if c.kind == "ar":
                out.append(c.replace(window=w, label=f"AR({w})", model_kwargs={"p": w}))
            else:
                out.append(c.replace(window=w, label=f"{c.label}, {w} months"))
    return out


def results_table(outcomes) -> pd.DataFrame:
    """One row per outcome: ``model, label, seed, params, train_time_s, inference_time_s, rmse, mae,
    r2`` (test, scaled units), ``rmse_sunspots, mae_sunspots``, ``val_rmse, val_r2``, ``train_loss,
    val_loss, best_epoch`` and the configuration's ``window, batch_size, alpha, epochs``."""
    return pd.DataFrame([o.row for o in outcomes])


def select_best(results: pd.DataFrame, by: str = "val_rmse") -> pd.DataFrame:
    """Per model, the configuration with the lowest mean validation ``by`` over seeds (test unused)."""
    if not by.startswith("val_"):
        raise ValueError(f"select on a validation metric (val_rmse, val_r2), not {by!r}: the test split is "
                         "for reporting the selected configurations once.")
    means = results.groupby(["model", "label"], sort=False)[by].mean().reset_index()
    pick = means.groupby("model", sort=False)[by].idxmax() if by == "val_r2" else \
        means.groupby("model", sort=False)[by].idxmin()
    return means.loc[pick].reset_index(drop=True)


def summarize(results: pd.DataFrame, columns=("params", "train_time_s", "inference_time_s", "rmse", "mae", "r2"),
              digits: dict | None = None) -> pd.DataFrame:
    """Mean ± std over seeds per (model, label), as strings, in the order the models first appear."""
    digits = {"params": 0, "train_time_s": 2, "inference_time_s": 4, "rmse": 4, "mae": 4, "r2": 4,
              "rmse_sunspots": 1, "mae_sunspots": 1, "val_rmse": 4, "val_r2": 4, **(digits or {})}
    out = []
    for (model, label), group in results.groupby(["model", "label"], sort=False):
        row = {"model": model, "label": label, "seeds": len(group)}
        for col in columns:
            values = group[col].to_numpy(dtype=float)
            d = digits.get(col, 4)
            if col == "params":
                row[col] = f"{int(values[0]):,}"
            elif len(values) > 1:
                row[col] = f"{values.mean():.{d}f} ± {values.std(ddof=1):.{d}f}"
            else:
                row[col] = f"{values.mean():.{d}f}"
        out.append(row)
    return pd.DataFrame(out)

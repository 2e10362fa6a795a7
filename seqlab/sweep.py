"""``python -m seqlab sweep``: the lab's tables, or a search, as one Optuna study that any number of
worker processes, on one machine or many, share.

- ``--table lab1|lab2``: a fixed grid, every (configuration, seed) a *point* run exactly once. The
  process that creates the study enqueues every point once (creating a study is atomic in every
  storage, so exactly one process does it); each worker then pops waiting trials, which is atomic
  too, so no point runs twice.
- ``--table search``: TPE over hyper-parameters (``SEARCH_SPACE``) to beat the lab's configurations;
  a trial is one configuration trained with every seed, scored by its mean validation RMSE.
- A worker killed mid-trial stops sending heartbeats; after the grace period another worker marks
  its trial failed and Optuna's ``RetryHeartbeatStaleTrialCallback`` (formerly
  ``RetryFailedTrialCallback``) enqueues it again, once. Only COMPLETE trials are counted.
- Storage: ``--storage URL`` (any SQLAlchemy URL; ``postgresql://`` uses psycopg 3), else an
  embedded SQLite file in ``--out``. Every process writes ``OUT/results.csv`` when it exits.

Selection uses validation metrics only; test metrics are reported once, for the selected
configurations (``selected.csv``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .compare import add_data_arguments, load_series, model_list
from .data import split_series
from .experiments import RunConfig, run_config, select_best
from .train import DEFAULT_THREADS, TrainConfig

TABLES = ("lab1", "lab2", "search")
# results.csv: compare's columns, then the configuration and who ran it, then what selection uses
# The leading columns of the sweep's results.csv (the committed sweeps' order; every other row field follows)
RESULT_COLUMNS = ["model", "seed", "params", "train_time_s", "inference_time_s", "rmse", "mae", "r2", "label",
                  "worker", "val_rmse", "val_r2", "epochs", "trial"]
GRID_ATTR, READY_ATTR = "seqlab_grid", "seqlab_enqueued"

# The embedded store is SQLite, not Optuna's JournalFileStorage: in Optuna 4.9 only the RDB storages
# (SQLite, PostgreSQL, ...) keep heartbeats, which is what lets another worker retry a killed
# worker's trial; a journal file would leave that trial RUNNING for ever. Trials here take seconds,
# so writers rarely meet; a 60 s busy timeout covers the rest (benchmarks/bench_sweep.py ran 2 and
# 4 local workers on it without a lock error).
SQLITE_TIMEOUT_S = 60


class SweepError(Exception):
    """Bad input or an unusable store: the message names the problem and the fix."""


# ------------------------------------------------------------------------------------------ points


@dataclass(frozen=True)
class Point:
    """One (configuration, seed) of a grid; ``key`` identifies it in the study."""

    config: RunConfig
    seed: int

    @property
    def key(self) -> str:
        return f"{self.config.kind} | {self.config.label} | seed {self.seed}"


def grid_points(table: str, models, seeds: int, epochs: int | None) -> list[Point]:
    """The points of a lab table, configurations in the table's order, seeds inner."""
    from .lab import LAB_TABLES

    configs = [c for c in LAB_TABLES[table] if c.kind in models]
    if epochs is not None:
        configs = [c.replace(epochs=epochs) for c in configs]
    return [Point(c, s) for c in configs for s in range(seeds)]


def suggest_config(trial) -> RunConfig:
    """The search space: a forecaster kind and its size, and the training settings the lab varied."""
    kind = trial.suggest_categorical("model", trial.study.user_attrs[GRID_ATTR]["models"])
    if kind == "mamba":
        model_kwargs = {"d_model": trial.suggest_categorical("d_model", [16, 32, 64]),
                        "d_state": trial.suggest_categorical("d_state", [8, 16, 32]),
                        "expand": trial.suggest_categorical("expand", [1, 2, 4])}
    elif kind in ("rnn", "gru", "lstm"):
        model_kwargs = {"hidden_size": trial.suggest_categorical("hidden_size", [16, 32, 48, 64, 128]),
                        "num_layers": trial.suggest_int("num_layers", 1, 3),
                        "dropout": trial.suggest_categorical("dropout", [0.0, 0.1, 0.2, 0.3])}
        if model_kwargs["num_layers"] == 1:
            model_kwargs["dropout"] = 0.0  # torch.nn: dropout acts between layers
    else:
        model_kwargs = {}
    train = TrainConfig(lr=trial.suggest_float("lr", 3e-4, 1e-2, log=True),
                        batch_size=trial.suggest_categorical("batch_size", [32, 64]),
                        alpha=trial.suggest_categorical("alpha", [0.5, 0.7, 1.0]))
    epochs = trial.study.user_attrs[GRID_ATTR]["epochs"]
    if epochs is not None:
        train = train.replace(epochs=epochs)
    shown = {**model_kwargs, "lr": train.lr, "batch": train.batch_size, "alpha": train.alpha}
    label = " ".join(f"{k}={v:.2g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())
    return RunConfig(kind, f"trial {trial.number}: {label}", model_kwargs, train)


# ------------------------------------------------------------------------------------------ storage


def storage_url(url: str | None, out: Path) -> str:
    """``--storage`` as SQLAlchemy wants it; default: the embedded SQLite file ``OUT/study.db``."""
    if url is None:
        return f"sqlite:///{(out / 'study.db').resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # SQLAlchemy's default driver is psycopg2
    return url


def _shown(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as given, it holds no usable password
        return url


def _serialize_sqlite(engine) -> None:
    """Make every SQLite transaction ``BEGIN IMMEDIATE``.

    Optuna claims a waiting trial with ``SELECT ... FOR UPDATE``, then ``UPDATE``; SQLite has no row
    locks and Python's driver starts the transaction only at the UPDATE, so two processes could both
    read WAITING and run the same point (PostgreSQL locks the row). Taking SQLite's write lock at
    BEGIN makes read-then-write atomic; the busy timeout queues the other processes.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below, not the driver's

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while Optuna set up the tables lack the "connect" hook


def open_storage(url: str, heartbeat_s: int):
    """An Optuna RDB storage with heartbeats and one retry per stale trial; clear errors otherwise."""
    import optuna
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    engine_kwargs = {}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}
    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats and the retry callback are marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)
                storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_s,
                                                     grace_period=3 * heartbeat_s, heartbeat_stale_trial_callback=retry)
            if url.startswith("sqlite"):
                _serialize_sqlite(storage.engine)
            return storage
        except (ArgumentError, NoSuchModuleError, ValueError) as error:
            raise SweepError(f"--storage {_shown(url)!r} is not a database URL SQLAlchemy can use ({error}). "
                             "Give e.g. postgresql://USER:PASSWORD@HOST:5432/DBNAME or sqlite:///sweep.db, "
                             "or leave --storage out for the embedded store in --out.") from None
        except ModuleNotFoundError as error:
            raise SweepError(f"--storage {_shown(url)!r} needs the driver {error.name}, which is not installed: "
                             'pip install "seqlab[postgres]" (psycopg 3) or the driver the URL names.') from None
        except DBAPIError as error:
            # workers that meet an empty database create its tables at once; all but one collide: try again
            collided = "already exists" in str(error) or "duplicate key" in str(error)
            if collided and attempt < 4:
                time.sleep(0.5 + attempt)
                continue
            reason = str(error.orig if getattr(error, "orig", None) else error).strip().splitlines()[0]
            raise SweepError(f"cannot reach the database {_shown(url)} ({reason}). Check that the server runs "
                             "and that host, port, user, password and database name are right; nothing was "
                             "written.") from None
    raise AssertionError("unreachable")


def _grid_spec(args, points: list[Point] | None, series) -> dict:
    data = f"{series.index[0]}..{series.index[-1]} ({len(series)} months, sum {float(series.sum()):.6f})"
    spec = {"table": args.table, "models": list(args.models), "seeds": args.seeds, "epochs": args.epochs,
            "data": data}
    if points is not None:
        keys = [p.key for p in points]
        spec["points"] = len(keys)
        spec["points_sha1"] = hashlib.sha1("\n".join(keys).encode()).hexdigest()
    return spec


def _describe(spec: dict) -> str:
    return (f"table {spec['table']}, models {','.join(spec['models'])}, {spec['seeds']} seed(s), "
            f"epochs {spec['epochs'] or 'the lab’s'}, data {spec['data']}")


def open_study(storage, name: str, spec: dict, points: list[Point] | None, wait_s: float = 120.0):
    """Create the study and enqueue every point once, or join the study another process created.

    Exactly one process succeeds in creating a study of a given name (the storage enforces it);
    that process enqueues the grid. A process that joins checks that the study holds the same grid.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction="minimize",
                                    sampler=optuna.samplers.TPESampler(seed=0))
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage,
                                  sampler=optuna.samplers.TPESampler(seed=os.getpid()))
        deadline = time.monotonic() + wait_s
        while GRID_ATTR not in study.user_attrs and time.monotonic() < deadline:
            time.sleep(0.5)
        held = study.user_attrs.get(GRID_ATTR)
        if held is None:
            raise SweepError(f"study {name!r} exists but is not a seqlab sweep; use another --study name.")
        if held != spec:
            raise SweepError(f"study {name!r} holds another sweep ({_describe(held)}); this run asked for "
                             f"{_describe(spec)}. Start this worker with the study's options, or choose a new "
                             "--study name. The study was left as it was.")
        while not study.user_attrs.get(READY_ATTR) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not study.user_attrs.get(READY_ATTR):
            raise SweepError(f"study {name!r} was created but its grid was never fully enqueued (was the first "
                             "worker killed while starting?). Delete it (optuna delete-study --study-name "
                             f"{name} --storage URL) and start again.")
        return study
    study.set_user_attr(GRID_ATTR, spec)
    for point in points or []:
        study.enqueue_trial({"point": point.key}, user_attrs={"point": point.key})
    study.set_user_attr(READY_ATTR, True)
    return study


# ------------------------------------------------------------------------------------------ workers


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _row_attrs(row: dict) -> dict:
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}


def make_objective(points: list[Point] | None, splits_by_window: dict, threads: int, seeds: int, log):
    """The trial's work: a grid point (``user_attrs['point']``) or a searched configuration."""
    import optuna

    by_key = {p.key: p for p in points or []}
    keys = list(by_key)

    def objective(trial) -> float:
        worker = worker_name()
        trial.set_user_attr("worker", worker)
        if points is not None:
            key = trial.user_attrs.get("point")
            if key is None:  # another worker took the last waiting point between our check and ask()
                raise optuna.TrialPruned("no grid point left for this trial")
            trial.suggest_categorical("point", keys)  # the enqueued value; one distribution for all
            point = by_key[key]
            jobs = [(point.config, point.seed)]
        else:
            config = suggest_config(trial)
            jobs = [(config, s) for s in range(seeds)]
        rows = []
        for config, seed in jobs:
            outcome = run_config(config, splits_by_window[config.window], seed, threads=threads)
            rows.append({**_row_attrs(outcome.row), "worker": worker, "trial": trial.number})
            log(f"[{worker}] {config.kind} | {config.label} | seed {seed}: validation RMSE "
                f"{outcome.row['val_rmse']:.4f}, R^2 {outcome.row['val_r2']:.4f} "
                f"({outcome.row['train_time_s']:.1f} s)")
        trial.set_user_attr("rows", rows)
        return sum(r["val_rmse"] for r in rows) / len(rows)

    return objective


def _counts(study) -> dict:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    return {state: sum(t.state == state for t in trials) for state in TrialState}


def work(study, objective, *, grid: bool, trials: int | None, heartbeat_s: int) -> int:
    """Run trials until the grid is done (or ``trials`` of them, or the search has ``trials``)."""
    import optuna
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    done = 0
    if not grid:
        callbacks = [optuna.study.MaxTrialsCallback(trials, states=(TrialState.COMPLETE,))] if trials else []
        study.optimize(objective, n_trials=None if trials else 1, callbacks=callbacks, catch=())
        return len([t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("worker") == worker_name()])
    while trials is None or done < trials:
        with warnings.catch_warnings():  # fail_stale_trials is marked experimental; study.optimize calls it too
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            fail_stale_trials(study)  # a killed worker's trial: FAIL, then enqueued again (once)
        counts = _counts(study)
        if counts[TrialState.WAITING]:
            study.optimize(objective, n_trials=1, catch=())
            done += 1
        elif counts[TrialState.RUNNING]:
            time.sleep(heartbeat_s)  # others are running the last points; take over if they die
        else:
            break
    return done


# ------------------------------------------------------------------------------------------ results


def study_results(study) -> pd.DataFrame:
    """Every COMPLETE trial's rows (one per seed), grid points in enqueue order."""
    from optuna.trial import TrialState

    rows = [r for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            for r in t.user_attrs.get("rows", [])]
    df = pd.DataFrame(rows, columns=None if rows else RESULT_COLUMNS)
    if rows:
        df = df.sort_values("trial", kind="stable").reset_index(drop=True)
    return df


def read_results(path) -> pd.DataFrame:
    """A sweep's results.csv with every float exactly as written (pandas < 3 needs ``round_trip`` for that)."""
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, **exact)


def write_results(study, out: Path) -> pd.DataFrame:
    """``OUT/results.csv`` (written to a temporary file, then renamed: readers never see half a file)."""
    df = study_results(study)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".results.{os.getpid()}.csv"
    df.reindex(columns=RESULT_COLUMNS + [c for c in df.columns if c not in RESULT_COLUMNS]).to_csv(tmp, index=False)
    os.replace(tmp, out / "results.csv")
    return df


def selection(results: pd.DataFrame) -> pd.DataFrame:
    """Per model, the configuration with the lowest mean validation RMSE; its test metrics (once)."""
    best = select_best(results, by="val_rmse")
    rows = []
    for _, b in best.iterrows():
        g = results[(results.model == b.model) & (results.label == b.label)]
        rows.append({"model": b.model, "label": b.label, "seeds": len(g),
                     "val_rmse": g.val_rmse.mean(), "val_rmse_std": g.val_rmse.std(ddof=1),
                     "test_rmse": g.rmse.mean(), "test_r2": g.r2.mean(), "test_r2_std": g.r2.std(ddof=1)})
    return pd.DataFrame(rows)


def report(results: pd.DataFrame, out: Path) -> None:
    """Print validation per configuration and the selected ones' test metrics; write the figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots.sweep import plot_validation_spread

    val = (results.groupby(["model", "label"], sort=False)[["val_rmse", "val_r2"]]
           .agg(["mean", "std", "count"]).round(4))
    print("Validation metrics per configuration (mean, std, seeds); the test split is not used to choose:")
    print(val.to_string())
    chosen = selection(results)
    chosen.to_csv(out / "selected.csv", index=False)
    print("\nSelected on validation RMSE; test metrics of the selected configurations only:")
    print(chosen.round(4).to_string(index=False))
    fig = plot_validation_spread(results)
    fig.savefig(out / "validation.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {out / 'results.csv'}, {out / 'selected.csv'}, {out / 'validation.png'}")


# ------------------------------------------------------------------------------------------ the CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", choices=TABLES, default="lab1",
                        help="lab1, lab2: the lab's tables as fixed grids; search: TPE over a search space")
    parser.add_argument("--models", type=model_list, default=None,
                        help="comma-separated forecasters (default: the lab's rnn,gru,lstm,mamba)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 for every configuration (default 3)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs for every network (default: the lab's 10)")
    parser.add_argument("--trials", type=int, default=None,
                        help="search: trials in the study (default 20); grid: at most this many in this process")
    parser.add_argument("--study", default=None, help="study name (default: seqlab-TABLE); workers sharing it split it")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes, one thread each (default 1)")
    parser.add_argument("--out", default="sweep-results", help="output folder (default ./sweep-results)")
    parser.add_argument("--storage", default=None,
                        help="SQLAlchemy URL, e.g. postgresql://USER@HOST/DB (default: SQLite in --out)")
    add_data_arguments(parser)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help=argparse.SUPPRESS)
    parser.add_argument("--heartbeat", type=int, default=10, metavar="S",
                        help="heartbeat every S seconds; a trial silent for 3*S is retried (default 10)")
    parser.add_argument("--no-report", action="store_true", help=argparse.SUPPRESS)  # local helper workers
    parser.add_argument("--quiet", action="store_true", help="no line per finished run")


def _check(args) -> None:
    for name in ("seeds", "workers", "heartbeat"):
        if getattr(args, name) < 1:
            raise SweepError(f"--{name} must be >= 1, got {getattr(args, name)}.")
    for name in ("epochs", "trials"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise SweepError(f"--{name} must be >= 1, got {getattr(args, name)}.")


def _helper_argv(args, url: str, study: str) -> list[str]:
    argv = [sys.executable, "-m", "seqlab", "sweep", "--table", args.table, "--models", ",".join(args.models),
            "--seeds", str(args.seeds), "--study", study, "--workers", "1", "--out", str(args.out),
            "--storage", url, "--threads", str(args.threads), "--heartbeat", str(args.heartbeat),
            "--end", "latest" if args.end is None else str(args.end), "--no-report"]
    for name in ("epochs", "trials", "data", "start"):
        if getattr(args, name) is not None:
            argv += [f"--{name}", str(getattr(args, name))]
    return argv + (["--quiet"] if args.quiet else [])


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except SweepError as error:
        print(f"seqlab sweep: error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from .lab import LAB_MODELS

    _check(args)
    args.models = args.models or list(LAB_MODELS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    url = storage_url(args.storage, out)
    name = args.study or f"seqlab-{args.table}"
    series = load_series(args)
    grid = args.table != "search"
    points = grid_points(args.table, args.models, args.seeds, args.epochs) if grid else None
    if grid and not points:
        raise SweepError(f"table {args.table} has no configuration for {','.join(args.models)}; "
                         "its models are lstm, rnn, gru, mamba.")
    storage = open_storage(url, args.heartbeat)
    study = open_study(storage, name, _grid_spec(args, points, series), points)
    helpers = [subprocess.Popen(_helper_argv(args, url, name)) for _ in range(args.workers - 1)]
    windows = {p.config.window for p in points} if grid else {12}
    splits = {w: split_series(series, w) for w in windows}
    log = (lambda _: None) if args.quiet else (lambda line: print(line, flush=True))
    try:
        objective = make_objective(points, splits, args.threads, args.seeds, log)
        work(study, objective, grid=grid, trials=args.trials if grid else (args.trials or 20),
             heartbeat_s=args.heartbeat)
    finally:
        codes = [h.wait() for h in helpers]
        results = write_results(study, out)
    if any(codes):
        print(f"seqlab sweep: {sum(c != 0 for c in codes)} local worker(s) failed; their trials were retried "
              "or are still waiting: run the same command again to finish them", file=sys.stderr)
    if not args.no_report and len(results):
        report(results, out)
    if grid:
        missing = len(points) - results.get("label", pd.Series(dtype=object)).size
        if missing > 0 and args.trials is None:
            print(f"seqlab sweep: {missing} point(s) not finished yet: run the same command again", file=sys.stderr)
            return 1
    return 0


def run_sweep(table: str = "lab1", *, models=None, seeds: int = 3, epochs: int | None = None,
              trials: int | None = None, workers: int = 1, out=None, storage: str | None = None,
              study: str | None = None, start: str | None = None, end: str = "2026-03",
              data: str | None = None, quiet: bool = True) -> pd.DataFrame:
    """``seqlab sweep`` from Python (the lessons): run it, return the rows of its results.csv.

    ``out`` defaults to a new temporary folder; the other arguments are the command's options.
    """
    import tempfile

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    out = out or tempfile.mkdtemp(prefix="seqlab-sweep-")
    models = list(models) if models is not None else None
    for name, value in dict(table=table, models=models, seeds=seeds, epochs=epochs, trials=trials, workers=workers,
                            out=str(out), storage=storage, study=study, start=start, end=end, data=data,
                            quiet=quiet, no_report=True).items():
        setattr(args, name, value)
    try:
        code = _run(args)
    except SweepError as error:
        raise ValueError(str(error)) from None
    if code:
        raise RuntimeError(f"the sweep stopped with unfinished points; see {out}")
    return read_results(Path(out) / "results.csv")

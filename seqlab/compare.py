"""``python -m seqlab compare``: train the final configurations over seeds, print the table, write
results.csv and figures.

Every forecaster in ``seqlab.models.FORECASTERS`` can be compared: the lab's four networks and the
baselines with their ``LAB_FINAL`` configurations, any other with its defaults. ``--windows 12,36``
runs every model on every window (AR(p) with p = window), ``--jobs N`` spreads the runs over N
processes (the same rows), ``--csv`` and ``--no-figures`` choose what is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data import DEFAULT_WINDOW, load_sunspots, split_series
from .experiments import (CSV_COLUMNS, RunConfig, on_windows, results_table, run_experiments, run_in_processes,
                          summarize)
from .models import forecaster_kinds
from .train import DEFAULT_THREADS


def final_config(kind: str) -> RunConfig:
    """The lab's final configuration of ``kind`` (lesson 06's for its models); any other gets its defaults."""
    from .lab import EFFICIENT_FINAL, LAB_FINAL

    return LAB_FINAL.get(kind) or EFFICIENT_FINAL.get(kind) or RunConfig(kind, "defaults")


def model_list(text: str) -> list[str]:
    """``"rnn,gru"`` -> ``["rnn", "gru"]``, every name a registered forecaster (argparse type)."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in forecaster_kinds()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from {','.join(forecaster_kinds())}")
    return names


def window_list(text: str) -> list[int]:
    """``"12,36"`` -> ``[12, 36]``, positive month counts (argparse type)."""
    try:
        windows = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        windows = []
    if not windows or min(windows) < 1:
        raise argparse.ArgumentTypeError(f"--windows wants positive month counts like 12,36, got {text!r}")
    return windows


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The series to use: ``--data``, ``--start``, ``--end`` (shared with ``sweep``)."""
    parser.add_argument("--data", default=None, help="a sunspot CSV (default: $SEQLAB_SUNSPOTS, the cache or SILSO)")
    parser.add_argument("--start", default=None, help="first month YYYY-MM (default: the first, 1749-01)")
    parser.add_argument("--end", default="2026-03", help="last month YYYY-MM (default 2026-03; 'latest' for all)")


def load_series(args: argparse.Namespace):
    end = None if args.end in (None, "latest") else args.end
    return load_sunspots(args.data, start=args.start, end=end)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=model_list, default=None,
                        help=f"comma-separated, from {','.join(forecaster_kinds())} (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds 0..N-1 (default 3)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs for every network (default: the lab's 10)")
    add_data_arguments(parser)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help=f"torch threads (default {DEFAULT_THREADS})")
    parser.add_argument("--windows", type=window_list, default=None,
                        help="e.g. 12,36: every model on every window length, AR(p) with p = window "
                             "(default: each model's own, networks on 12 months, AR(36))")
    parser.add_argument("--out", default="compare-results", help="output folder (default ./compare-results)")
    parser.add_argument("--csv", default=None, help="write the per-seed results here (default OUT/results.csv)")
    parser.add_argument("--no-figures", action="store_true", help="write only the results CSV, no figures")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs in parallel processes (default 1); the same results")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args: argparse.Namespace) -> int:
    """Train the final configurations over seeds; print the table; write results.csv and figures."""
    import matplotlib.pyplot as plt

    from .plots.sunspots import plot_loss_curves, plot_metrics, plot_predictions

    if args.seeds < 1:
        print(f"error: --seeds must be >= 1, got {args.seeds}", file=sys.stderr)
        return 2
    jobs = getattr(args, "jobs", 1)
    if jobs < 1:
        print(f"error: --jobs must be >= 1, got {jobs}", file=sys.stderr)
        return 2
    models = args.models or list(forecaster_kinds())
    series = load_series(args)
    configs = [final_config(m) for m in models]
    windows = getattr(args, "windows", None)
    if windows:
        configs = on_windows(configs, windows)
    common = dict(seeds=args.seeds, series=series, epochs=args.epochs, progress=not args.no_progress,
                  threads=args.threads)
    outcomes = run_experiments(configs, **common) if jobs == 1 else run_in_processes(configs, jobs=jobs, **common)
    results = results_table(outcomes)
    out = Path(args.out)
    csv = Path(args.csv) if getattr(args, "csv", None) else out / "results.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    results[CSV_COLUMNS].to_csv(csv, index=False)  # floats as repr: exact round trip
    table = summarize(results).rename(columns={"label": "configuration"})
    table = table.rename(columns={"params": "parameters", "train_time_s": "train s",
                                  "inference_time_s": "inference s", "rmse": "RMSE", "mae": "MAE", "r2": "R^2"})
    months = split_series(series, DEFAULT_WINDOW).months_test
    print(f"Sunspots {series.index[0]}..{series.index[-1]}; test months {months[0]}..{months[-1]} "
          f"({len(months)}); RMSE/MAE/R^2 on the test split in scaled units; mean ± std over {args.seeds} seed(s).")
    print(table.to_string(index=False))
    if getattr(args, "no_figures", False):
        print(f"wrote {csv}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    first = [o for o in outcomes if o.seed == outcomes[0].seed]
    name = (lambda c: f"{c.kind} w{c.window}") if windows and len(windows) > 1 else (lambda c: c.kind)
    figures = {
        "loss_curves.png": plot_loss_curves({name(o.config): o.history for o in first if o.history}),
        "metrics.png": plot_metrics(results.assign(name=[name(o.config) for o in outcomes]), "name"),
        "predictions.png": plot_predictions(series.loc[months[0]:months[-1]],
                                            {name(o.config): o.prediction for o in first}),
    }
    for file, fig in figures.items():
        fig.savefig(out / file, dpi=110, bbox_inches="tight")
        plt.close(fig)
    print(f"wrote {csv}, " + ", ".join(str(out / n) for n in figures))
    return 0

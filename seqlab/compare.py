"""``python -m seqlab compare``: train the final configurations over seeds, print the table, write
results.csv and figures.

Every forecaster in ``seqlab.models.FORECASTERS`` can be compared: the lab's four networks and the
baselines with their ``LAB_FINAL`` configurations, any other with its defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data import DEFAULT_WINDOW, load_sunspots, split_series
from .experiments import CSV_COLUMNS, RunConfig, results_table, run_experiments, summarize
from .models import forecaster_kinds
from .train import DEFAULT_THREADS


def final_config(kind: str) -> RunConfig:
    """The lab's final configuration of ``kind``; a forecaster the lab did not have gets its defaults."""
    from .lab import LAB_FINAL

    return LAB_FINAL.get(kind) or RunConfig(kind, "defaults")


def model_list(text: str) -> list[str]:
    """``"rnn,gru"`` -> ``["rnn", "gru"]``, every name a registered forecaster (argparse type)."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in forecaster_kinds()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from {','.join(forecaster_kinds())}")
    return names


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
    parser.add_argument("--out", default="compare-results", help="output folder (default ./compare-results)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args: argparse.Namespace) -> int:
    """Train the final configurations over seeds; print the table; write results.csv and figures."""
    import matplotlib.pyplot as plt

    from .plots.sunspots import plot_loss_curves, plot_metrics, plot_predictions

    if args.seeds < 1:
        print(f"error: --seeds must be >= 1, got {args.seeds}", file=sys.stderr)
        return 2
    models = args.models or list(forecaster_kinds())
    series = load_series(args)
    configs = [final_config(m) for m in models]
    outcomes = run_experiments(configs, seeds=args.seeds, series=series, epochs=args.epochs,
                               progress=not args.no_progress, threads=args.threads)
    results = results_table(outcomes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results[CSV_COLUMNS].to_csv(out / "results.csv", index=False)
    table = summarize(results).drop(columns="label")
    table.insert(1, "configuration", table["model"].map({c.kind: c.label for c in configs}))
    table = table.rename(columns={"params": "parameters", "train_time_s": "train s",
                                  "inference_time_s": "inference s", "rmse": "RMSE", "mae": "MAE", "r2": "R^2"})
    months = split_series(series, DEFAULT_WINDOW).months_test
    print(f"Sunspots {series.index[0]}..{series.index[-1]}; test months {months[0]}..{months[-1]} "
          f"({len(months)}); RMSE/MAE/R^2 on the test split in scaled units; mean ± std over {args.seeds} seed(s).")
    print(table.to_string(index=False))
    first = [o for o in outcomes if o.seed == outcomes[0].seed]
    figures = {
        "loss_curves.png": plot_loss_curves({o.config.kind: o.history for o in first if o.history}),
        "metrics.png": plot_metrics(results),
        "predictions.png": plot_predictions(series.loc[months[0]:months[-1]],
                                            {o.config.kind: o.prediction for o in first}),
    }
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
    print(f"wrote {out / 'results.csv'}, " + ", ".join(str(out / n) for n in figures))
    return 0

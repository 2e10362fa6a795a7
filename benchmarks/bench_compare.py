"""Time the four-model comparison (the lab's final configurations, 10 epochs, one seed) on this CPU.

    .venv/bin/python benchmarks/bench_compare.py                 # table 3: times and test R^2
    .venv/bin/python benchmarks/bench_compare.py --threads 1,2   # 1 vs 2 threads, alternated
    .venv/bin/python benchmarks/bench_compare.py --seeds 5       # R^2 spread over seeds vs AR(36)
    .venv/bin/python benchmarks/bench_compare.py --windows 12,24,36,48 --seeds 3   # validation only

The lab reported 72.5 s of training for its four final models (its table 3). Timings on a shared
machine are noisy: contenders are alternated within one run and the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

from seqlab.data import load_sunspots, split_series
from seqlab.experiments import results_table, run_config, run_experiments
from seqlab.lab import LAB_FINAL, LAB_REPORTED_TABLE3


def table3(models, threads):
    series = load_sunspots()
    splits = {w: split_series(series, w) for w in {LAB_FINAL[m].window for m in models}}
    rows = []
    for m in models:
        o = run_config(LAB_FINAL[m], splits[LAB_FINAL[m].window], seed=0, threads=threads)
        rows.append(o.row)
        print(f"{m:12s} train {o.row['train_time_s']:7.2f} s   inference {o.row['inference_time_s']:.4f} s   "
              f"test R^2 {o.row['r2']:.4f}", flush=True)
    df = pd.DataFrame(rows)
    rnn_gru_lstm = df[df.model.isin(["rnn", "gru", "lstm"])]["train_time_s"].sum()
    print(f"total training {df['train_time_s'].sum():.2f} s (lab: {LAB_REPORTED_TABLE3['train_time_s'].sum():.1f} s "
          f"for its four); RNN+GRU+LSTM {rnn_gru_lstm:.2f} s (target < 15 s)")


def threads(models, counts, repeats, epochs):
    series = load_sunspots()
    splits = split_series(series, 12)
    times = {(m, n): [] for m in models for n in counts}
    for r in range(repeats):
        for m in models:
            for n in (counts if r % 2 == 0 else counts[::-1]):  # alternate the order too
                config = LAB_FINAL[m].replace(epochs=epochs)
                times[m, n].append(run_config(config, splits, seed=0, threads=n).row["train_time_s"])
    print(f"median training time over {repeats} alternated repeats ({epochs} epochs each)")
    for m in models:
        med = {n: statistics.median(times[m, n]) for n in counts}
        ratio = " ".join(f"{n} threads {med[n]:.2f} s" for n in counts)
        print(f"{m:6s} {ratio}   ratio {counts[-1]}/{counts[0]} = {med[counts[-1]] / med[counts[0]]:.2f}")


def spread(models, seeds, windows):
    series = load_sunspots()
    configs = [LAB_FINAL[m].replace(window=w, label=f"w{w}") for m in models for w in windows]
    configs.append(LAB_FINAL["ar"])
    df = results_table(run_experiments(configs, seeds=seeds, series=series, progress=False))
    g = df.groupby(["model", "label"], sort=False)
    table = g[["val_rmse", "r2"]].agg(["mean", "std"]).round(4)
    print(table.to_string())
    neural = df[df.model != "ar"]
    pick = neural.groupby(["model", "label"])["val_rmse"].mean().idxmin()  # chosen on validation
    chosen = g.get_group(pick)["r2"]
    ar = df[df.model == "ar"]["r2"].iloc[0]
    print(f"chosen on validation: {pick}; test R^2 {chosen.mean():.4f} ± {chosen.std():.4f} "
          f"vs AR(36) {ar:.4f}: difference {chosen.mean() - ar:+.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None, help="default rnn,gru,lstm,mamba")
    parser.add_argument("--threads", default=None, help="e.g. 1,2: compare thread counts instead")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timing run with --threads")
    parser.add_argument("--seeds", type=int, default=None, help="R^2 spread over this many seeds")
    parser.add_argument("--windows", default="12", help="window lengths for --seeds (validation picks)")
    args = parser.parse_args()
    models = args.models.split(",") if args.models else ["rnn", "gru", "lstm", "mamba"]
    start = time.perf_counter()
    if args.threads:
        threads(models, [int(n) for n in args.threads.split(",")], args.repeats, args.epochs)
    elif args.seeds:
        spread(models, args.seeds, [int(w) for w in args.windows.split(",")])
    else:
        table3(models + ["persistence", "ar"], threads=1)
    print(f"(benchmark wall time {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()

"""Lesson 04's evidence: the full protocol's results, summarised over seeds, and the verdicts drawn from them.

The results are one row per model, window length and seed (metrics only, never the sunspot numbers),
written by the ``compare`` command::

    python -m seqlab compare --windows 12,36 --seeds 3 --jobs 4 --no-figures \\
        --csv notebooks/results/04_full_protocol.csv

(``--jobs 4``: four runs at a time, one thread each; the rows are the same with any ``--jobs``.)

Every verdict here reads the test metrics of configurations that were fixed in advance (the lab's
final ones) or chosen on the validation months (``choose_on_validation``); nothing is tuned on test.

The yardstick is the spread over seeds: the sample standard deviation (ddof=1) of a metric over
the seeds of one configuration. Two single runs differ by seed noise alone with a standard deviation
of ``sqrt(s_a**2 + s_b**2)``; that is what a ranking of single runs (the lab's) must beat.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from .experiments import CSV_COLUMNS, on_windows, results_table, run_experiments
from .lab import LAB_FINAL, LAB_REPORTED_R2_RUN_TO_RUN, LAB_REPORTED_TABLE3

BASELINES = ("persistence", "ar")  # fitted, not trained: no seed, no epochs

PROTOCOL_ARGS = ["compare", "--windows", "12,36", "--seeds", "3", "--jobs", "4", "--no-figures",
                 "--csv", "notebooks/results/04_full_protocol.csv"]
PROTOCOL_COMMAND = "python -m seqlab " + shlex.join(PROTOCOL_ARGS)
# pandas >= 3 reads floats back exactly by default (and deprecates the option); pandas 2 needs asking
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
TIMING_COLUMNS = ("train_time_s", "inference_time_s")  # the only columns that differ between re-runs


def configurations(models=("rnn", "gru", "lstm", "mamba", "persistence", "ar")) -> pd.DataFrame:
    """The lab's final configuration of each model as a table (``LAB_FINAL``); AR's order is the window."""
    rows = []
    for m in models:
        c = LAB_FINAL[m]
        trained = m not in BASELINES
        rows.append({"model": m, "configuration": c.label if trained else "fitted by least squares" if m == "ar"
                     else "next month = this month", "batch": c.train.batch_size if trained else "",
                     "alpha": c.train.alpha if trained else "", "epochs": c.train.epochs if trained else "",
                     "arguments": ", ".join(f"{k}={v}" for k, v in c.model_kwargs.items() if k != "p")})
    return pd.DataFrame(rows)


def rerun(models, windows, seeds, series) -> tuple[pd.DataFrame, list]:
    """Part of the protocol again, through the code ``compare`` runs: ``(rows like the CSV's, outcomes)``
    (the outcomes hold each run's loss history and test predictions)."""
    outcomes = run_experiments(on_windows([LAB_FINAL[m] for m in models], windows), seeds=seeds, series=series)
    return results_table(outcomes), outcomes


def load_results(path) -> pd.DataFrame:
    """The per-seed results CSV written by ``compare``, floats read back exactly (bit for bit)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist. Make it from the repository root with:\n"
                                f"    {PROTOCOL_COMMAND}")
    results = pd.read_csv(path, **_EXACT_FLOATS)
    missing = [c for c in CSV_COLUMNS if c not in results.columns]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing}: it was written by an older seqlab. "
                         f"Re-make it with: {PROTOCOL_COMMAND}")
    return results


def protocol(results: pd.DataFrame) -> dict:
    """What the results cover: models, windows, seeds per configuration, epochs of the networks."""
    networks = results[~results.model.isin(BASELINES)]
    seeds = results.groupby(["model", "window"])["seed"].nunique()
    return {"models": list(dict.fromkeys(results.model)), "windows": sorted(results.window.unique().tolist()),
            "seeds": int(seeds.min()), "epochs": sorted(networks.epochs.unique().tolist()), "rows": len(results)}


def over_seeds(results: pd.DataFrame, metrics=("val_rmse", "r2", "rmse")) -> pd.DataFrame:
    """Mean and std (ddof=1) over seeds per (model, window); columns ``<metric>``, ``<metric>_std``, ``seeds``."""
    g = results.groupby(["model", "window"], sort=False)
    out = g[list(metrics)].mean()
    std = g[list(metrics)].std(ddof=1).fillna(0.0).add_suffix("_std")
    out = out.join(std)[[c for m in metrics for c in (m, f"{m}_std")]]
    out.insert(0, "label", g["label"].first())
    out["seeds"] = g["seed"].nunique()
    return out


def mean_pm_std(table: pd.DataFrame, metrics=("val_rmse", "r2", "rmse"), digits: int = 4) -> pd.DataFrame:
    """``over_seeds``'s table with each metric as one ``mean ± std`` string (for printing)."""
    out = table[["label"]].copy()
    for m in metrics:
        out[m] = [f"{a:.{digits}f} ± {s:.{digits}f}" for a, s in zip(table[m], table[f"{m}_std"])]
    out["seeds"] = table["seeds"]
    return out


def versus_ar(results: pd.DataFrame, metric: str = "r2") -> pd.DataFrame:
    """Each network against AR(p) on the same window (p = window months), on the test ``metric``.

    Columns: the network's mean and seed spread (std), AR's value, ``difference`` (network - AR),
    ``in_spreads`` (difference / spread), ``seeds_above`` (seeds whose run beats AR) and ``verdict``:
    "beats AR" when the difference exceeds the spread, "below AR" when it is below minus the spread,
    else "within the spread".
    """
    stats = over_seeds(results, (metric,))
    rows = []
    for (model, window), s in stats.iterrows():
        if model in BASELINES:
            continue
        ar = results[(results.model == "ar") & (results.window == window)][metric]
        if ar.empty:
            raise ValueError(f"No AR({window}) rows: compare networks with AR only on the same window "
                             "(run compare with --windows and --models including ar).")
        ar_value = float(ar.mean())
        runs = results[(results.model == model) & (results.window == window)][metric]
        diff, spread = s[metric] - ar_value, s[f"{metric}_std"]
        if diff > spread:
            verdict = "beats AR"
        elif diff < -spread:
            verdict = "below AR"
        else:
            verdict = "within the spread"
        rows.append({"model": model, "window": window, metric: s[metric], "spread": spread,
                     "AR": f"AR({window})", "AR same window": ar_value, "difference": diff,
                     "in_spreads": diff / spread if spread > 0 else np.inf * np.sign(diff),
                     "seeds_above": f"{int((runs > ar_value).sum())}/{len(runs)}", "verdict": verdict})
    return pd.DataFrame(rows)


def choose_on_validation(results: pd.DataFrame) -> pd.DataFrame:
    """Per model, the window with the lowest mean validation RMSE (test unused), with its test metrics."""
    stats = over_seeds(results).reset_index()
    best = stats.loc[stats.groupby("model", sort=False)["val_rmse"].idxmin()]
    return best.sort_values("val_rmse").reset_index(drop=True)


def ranking_vs_spread(results: pd.DataFrame, lab: pd.DataFrame = LAB_REPORTED_TABLE3, window: int = 12,
                      metric: str = "r2") -> pd.DataFrame:
    """The lab's ranking (single runs, its table 3), each adjacent gap against the seed noise we measure.

    For each adjacent pair in the lab's order: the lab's gap, the standard deviation of the difference
    of two single runs from our seeds (``sqrt(s_a**2 + s_b**2)``, same configurations, ``window``), the
    gap in those units, whether our means over seeds put the pair in the same order, and the verdict:
    "a finding" only if the gap exceeds twice the single-run noise.
    """
    order = lab.sort_values(metric, ascending=False, kind="stable")
    ours = over_seeds(results[results.window == window], (metric,)).reset_index().set_index("model")
    rows = []
    for (_, a), (_, b) in zip(order.iloc[:-1].iterrows(), order.iloc[1:].iterrows()):
        gap = a[metric] - b[metric]
        noise = float(np.hypot(ours.loc[a.model, f"{metric}_std"], ours.loc[b.model, f"{metric}_std"]))
        our_gap = ours.loc[a.model, metric] - ours.loc[b.model, metric]
        rows.append({"lab's order": f"{a.model} > {b.model}" if gap > 0 else f"{a.model} = {b.model}",
                     "lab gap": gap, "single-run noise": noise, "gap / noise": gap / noise,
                     "our gap (mean over seeds)": our_gap,
                     "same order in ours": bool(our_gap > 0) if gap > 0 else None,
                     "verdict": "a finding" if gap > 2 * noise else "inside the noise"})
    return pd.DataFrame(rows)


def lab_beside_ours(results: pd.DataFrame, lab: pd.DataFrame = LAB_REPORTED_TABLE3) -> pd.DataFrame:
    """The lab's table 3 test R^2 (single runs, its own split) beside ours, mean ± std over seeds, per window.

    One row per model of ``results`` (the baselines have no lab number: the lab ran none)."""
    stats = over_seeds(results, ("r2",)).reset_index()
    out = pd.DataFrame(index=pd.Index(list(dict.fromkeys(results.model)), name="model"))
    out["lab r2 (one run)"] = lab.set_index("model")["r2"].reindex(out.index).map(
        lambda v: "" if pd.isna(v) else f"{v:.4f}")
    for window, s in stats.groupby("window"):
        s = s.set_index("model")
        out[f"ours, {window} months"] = [f"{s.r2[m]:.4f} ± {s.r2_std[m]:.4f}" if m in s.index else ""
                                         for m in out.index]
    return out


def same_row(live: pd.Series, committed: pd.Series) -> bool:
    """True if two result rows agree exactly in every column but the timings (NaN, a baseline's missing
    loss, agrees with NaN)."""
    columns = [c for c in CSV_COLUMNS if c not in TIMING_COLUMNS]
    return all(live[c] == committed[c] or (pd.isna(live[c]) and pd.isna(committed[c])) for c in columns)

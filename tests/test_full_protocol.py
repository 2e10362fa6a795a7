"""Lesson 04's committed full-protocol results: what they cover, that a part of them re-runs bit for bit
with the documented command, and the verdict functions of ``seqlab.evidence`` on cases with known answers.

Training is deterministic per seed on a CPU with one thread (``seqlab.train``), so re-running one
model, one seed and one window reproduces every committed column except the timings exactly. A
different CPU family may round differently inside torch's kernels; the failure message says so.
The committed file was made with ``--jobs 4`` (runs in parallel processes) and the re-run uses one
process, so a match also shows that ``--jobs`` does not change the rows.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.cli import main
from seqlab.data import load_sunspots, split_series
from seqlab.evidence import (PROTOCOL_ARGS, PROTOCOL_COMMAND, TIMING_COLUMNS, choose_on_validation, load_results,
                             over_seeds, protocol, ranking_vs_spread, same_row, versus_ar)
from seqlab.experiments import CSV_COLUMNS, on_windows, run_config
from seqlab.lab import LAB_FINAL, LAB_REPORTED_TABLE3

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / PROTOCOL_ARGS[PROTOCOL_ARGS.index("--csv") + 1]


@pytest.fixture(scope="module")
def committed():
    return load_results(COMMITTED)


def test_committed_results_are_the_full_protocol(committed):
    p = protocol(committed)
    assert list(committed.columns) == CSV_COLUMNS
    assert {"rnn", "gru", "lstm", "mamba", "persistence", "ar"} <= set(p["models"])
    assert p["windows"] == [12, 36] and p["epochs"] == [10] and p["seeds"] >= 3
    assert p["rows"] == len(p["models"]) * len(p["windows"]) * p["seeds"]  # results only, one row per run
    ar = committed[committed.model == "ar"]
    assert set(zip(ar.window, ar.label)) == {(12, "AR(12)"), (36, "AR(36)")}
    assert all(sorted(g) == list(range(p["seeds"])) for _, g in committed.groupby(["model", "window"]).seed)


def _compare_row(committed, model, window, seed, tmp_path):
    """Re-run one committed row with the documented command, restricted to one model, window, seed."""
    csv = tmp_path / f"{model}_{window}.csv"
    code = main(["compare", "--models", model, "--windows", str(window), "--seeds", str(seed + 1),
                 "--epochs", str(int(committed.epochs[committed.model == model].iloc[0])),
                 "--csv", str(csv), "--no-figures", "--no-progress"])
    assert code == 0
    live = load_results(csv)
    live = live[live.seed == seed].iloc[0]
    want = committed[(committed.model == model) & (committed.window == window) & (committed.seed == seed)].iloc[0]
    return live, want


def test_one_network_run_reproduces_bit_for_bit(committed, tmp_path):
    live, want = _compare_row(committed, "rnn", 12, 0, tmp_path)
    differ = {c: (live[c], want[c]) for c in CSV_COLUMNS if c not in TIMING_COLUMNS and live[c] != want[c]}
    assert not differ, (f"re-running `{PROTOCOL_COMMAND}` for rnn, 12 months, seed 0 differs from the committed "
                        f"row in {differ} on {platform.processor() or platform.machine()}; if seqlab's training "
                        "changed on purpose, re-make the CSV with that command")
    assert same_row(live, want)


def test_baselines_reproduce_exactly(committed):
    series = load_sunspots()
    for config in on_windows([LAB_FINAL["persistence"], LAB_FINAL["ar"]], [12, 36]):
        row = run_config(config, split_series(series, config.window), seed=0).row
        want = committed[(committed.model == config.kind) & (committed.window == config.window)].iloc[0]
        for c in ("label", "params", "rmse", "mae", "r2", "val_rmse", "val_r2"):
            assert row[c] == want[c], (config.label, c)


def test_same_row_ignores_only_timings(committed):
    row = committed.iloc[0].copy()
    other = row.copy()
    other["train_time_s"] += 1.0
    assert same_row(other, row)
    other["r2"] = np.nextafter(row["r2"], 1.0)  # one unit in the last place
    assert not same_row(other, row)
    baseline = committed[committed.model == "ar"].iloc[0]  # its losses are NaN
    assert np.isnan(baseline["train_loss"]) and same_row(baseline.copy(), baseline)
    other = baseline.copy()
    other["val_loss"] = 0.0
    assert not same_row(other, baseline)


# ------------------------------------------------------------------ verdicts on cases with known answers

def _fake(values: dict) -> pd.DataFrame:
    """Rows from {(model, window): [r2 per seed]}, val_rmse = 1 - r2."""
    rows = [{"model": m, "window": w, "label": f"{m} {w}", "seed": s, "r2": r, "val_rmse": 1 - r, "rmse": 1 - r}
            for (m, w), rs in values.items() for s, r in enumerate(rs)]
    return pd.DataFrame(rows)


def test_versus_ar_compares_on_the_same_window_against_the_spread():
    df = _fake({("rnn", 12): [0.90, 0.91, 0.92],   # mean 0.91, std 0.01; AR(12) 0.89: +2 spreads
                ("gru", 12): [0.88, 0.90, 0.92],   # mean 0.90, std 0.02: +0.5 spread
                ("rnn", 36): [0.86, 0.87, 0.88],   # mean 0.87, std 0.01; AR(36) 0.95: -8 spreads
                ("ar", 12): [0.89] * 3, ("ar", 36): [0.95] * 3})
    v = versus_ar(df).set_index(["model", "window"])
    assert v.loc[("rnn", 12), "verdict"] == "beats AR"
    assert v.loc[("rnn", 12), "in_spreads"] == pytest.approx(2.0)
    assert v.loc[("rnn", 12), "seeds_above"] == "3/3"
    assert v.loc[("gru", 12), "verdict"] == "within the spread"
    assert v.loc[("gru", 12), "seeds_above"] == "2/3"
    assert v.loc[("rnn", 36), "verdict"] == "below AR"
    assert v.loc[("rnn", 36), "AR same window"] == pytest.approx(0.95)  # not AR(12)'s 0.89


def test_versus_ar_refuses_a_window_without_ar():
    with pytest.raises(ValueError, match="same window"):
        versus_ar(_fake({("rnn", 24): [0.9, 0.91], ("ar", 12): [0.89, 0.89]}))


def test_choose_on_validation_never_reads_test():
    df = _fake({("rnn", 12): [0.90, 0.90], ("rnn", 36): [0.80, 0.80]})
    df.loc[df.window == 36, "val_rmse"] = 0.01  # best on validation, worse on test
    assert choose_on_validation(df).set_index("model").loc["rnn", "window"] == 36


def test_ranking_vs_spread_uses_single_run_noise():
    lab = pd.DataFrame({"model": ["lstm", "rnn", "gru"], "r2": [0.90, 0.89, 0.85]})
    df = _fake({("lstm", 12): [0.87, 0.88, 0.89],   # mean 0.88, std 0.01
                ("rnn", 12): [0.885, 0.89, 0.895],  # mean 0.89, std 0.005
                ("gru", 12): [0.895, 0.895, 0.895]})  # mean 0.895, std 0
    r = ranking_vs_spread(df, lab)
    assert list(r["lab's order"]) == ["lstm > rnn", "rnn > gru"]
    assert r["single-run noise"][0] == pytest.approx(np.hypot(0.01, 0.005))
    assert list(r["verdict"]) == ["inside the noise", "a finding"]  # 0.01 < 2 * 0.0112; 0.04 > 2 * 0.005
    assert list(r["same order in ours"]) == [False, False]  # our means: lstm 0.88 < rnn 0.89 < gru 0.895


def test_ranking_vs_spread_on_the_lab_table_reads_its_order(committed):
    r = ranking_vs_spread(committed)
    first = LAB_REPORTED_TABLE3.sort_values("r2", ascending=False).model.iloc[0]
    assert r["lab's order"].iloc[0].startswith(first)
    assert (r["single-run noise"] > 0).all()


def test_over_seeds_std_is_the_sample_std(committed):
    t = over_seeds(committed).loc[("lstm", 36)]
    runs = committed[(committed.model == "lstm") & (committed.window == 36)].r2
    assert t["r2"] == pytest.approx(runs.mean()) and t["r2_std"] == pytest.approx(runs.std(ddof=1))
    assert t["r2_std"] == pytest.approx(np.std(runs.to_numpy(), ddof=1))


def test_missing_results_say_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="seqlab compare --windows 12,36"):
        load_results(tmp_path / "nothing.csv")


def test_bad_windows_are_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--windows", "12,zero"])
    assert "--windows wants positive month counts" in capsys.readouterr().err

"""The full sweep quoted in lesson 03 (notebooks/data/lab2_3_seeds.csv, made by the command in
notebooks/data/README.md): re-running a point gives the committed numbers bit for bit."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqlab.sweep import RESULT_COLUMNS, read_results, run_sweep

DATA = Path(__file__).resolve().parents[1] / "notebooks" / "data"
DECIDED_BY_TRAINING = ["params", "rmse", "mae", "r2", "val_rmse", "val_r2", "train_loss", "val_loss", "best_epoch"]


@pytest.mark.parametrize("table", ["lab2"])
def test_committed_full_sweep_reproduces(table, tmp_path):
    full = read_results(DATA / f"{table}_3_seeds.csv")
    assert list(full.columns[:len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert not full.duplicated(["model", "label", "seed"]).any() and set(full.seed) == {0, 1, 2}
    # the table's first RNN configuration, seed 0, on the whole series with the lab's 10 epochs
    again = run_sweep(table, models=["rnn"], seeds=1, trials=1, out=tmp_path)
    (row,) = again.to_dict("records")
    committed = full[(full.model == "rnn") & (full.label == row["label"]) & (full.seed == 0)]
    assert len(committed) == 1
    for column in DECIDED_BY_TRAINING:
        assert row[column] == committed[column].iloc[0], column

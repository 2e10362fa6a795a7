"""``python -m seqlab sweep`` on a real, throwaway PostgreSQL and on the embedded SQLite store: two
workers share one grid (every point once, both worked), a worker killed mid-trial loses nothing,
one embedded process gives the same numbers bit for bit, and bad input is a clear error.

The grid: the lab's table 1 for the LSTM, 2 seeds, 2 epochs, months from 1990 (8 points).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from postgres_server import PostgresServer, find_bin_dir
from seqlab.cli import main
from seqlab.sweep import read_results

GRID = ["--table", "lab1", "--models", "lstm", "--seeds", "2", "--epochs", "2", "--start", "1990-01", "--quiet"]
POINTS = 8
# what training decides; times and who ran it differ between runs
SAME = ["model", "label", "seed", "params", "rmse", "mae", "r2", "val_rmse", "val_r2", "train_loss", "val_loss",
        "best_epoch", "epochs"]

BIN_DIR = find_bin_dir()
needs_postgres = pytest.mark.skipif(BIN_DIR is None, reason="PostgreSQL's initdb/pg_ctl not found "
                                                            "(Debian: apt-get install postgresql)")


@pytest.fixture(scope="module")
def postgres_url():
    with PostgresServer(BIN_DIR) as url:
        yield url


def _worker(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "seqlab", "sweep", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})


def _read(path) -> pd.DataFrame:
    return read_results(path)


def _study(url, name):
    import optuna

    from seqlab.sweep import storage_url

    return optuna.load_study(study_name=name, storage=storage_url(url, None))


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """The reference: one process, the embedded store."""
    out = tmp_path_factory.mktemp("embedded")
    assert main(["sweep", *GRID, "--out", str(out)]) == 0
    assert (out / "study.db").is_file() and (out / "validation.png").is_file()
    return _read(out / "results.csv")


def _assert_same_numbers(a: pd.DataFrame, b: pd.DataFrame):
    key = ["label", "seed"]
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[SAME], b[SAME], check_exact=True)


def test_embedded_run_writes_every_point_once_and_selects_on_validation(embedded, tmp_path):
    assert len(embedded) == POINTS and not embedded.duplicated(["label", "seed"]).any()
    from seqlab.sweep import RESULT_COLUMNS

    assert list(embedded.columns[:len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert embedded["worker"].nunique() == 1


@needs_postgres
def test_two_workers_share_a_postgres_study(postgres_url, embedded, tmp_path):
    # worker a stops after 4 points, so b must take the rest, while both run at once
    a = _worker(*GRID, "--storage", postgres_url, "--study", "grid", "--out", str(tmp_path / "a"), "--trials", "4")
    b = _worker(*GRID, "--storage", postgres_url, "--study", "grid", "--out", str(tmp_path / "b"))
    out_a, out_b = a.communicate(timeout=600)[0], b.communicate(timeout=600)[0]
    assert a.returncode == 0, out_a
    assert b.returncode == 0, out_b
    results = _read(tmp_path / "b" / "results.csv")
    assert len(results) == POINTS and not results.duplicated(["label", "seed"]).any()
    assert results["worker"].nunique() == 2  # both did work
    _assert_same_numbers(results, embedded)  # training is deterministic per seed
    from optuna.trial import TrialState

    complete = _study(postgres_url, "grid").get_trials(states=(TrialState.COMPLETE,))
    assert sorted(t.user_attrs["point"] for t in complete) == sorted(set(t.user_attrs["point"] for t in complete))


@needs_postgres
def test_a_worker_killed_mid_trial_loses_nothing(postgres_url, embedded, tmp_path):
    from optuna.trial import TrialState

    victim = _worker(*GRID, "--storage", postgres_url, "--study", "killed", "--out", str(tmp_path / "v"),
                     "--heartbeat", "1")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            running = _study(postgres_url, "killed").get_trials(states=(TrialState.RUNNING,))
        except KeyError:  # the study does not exist yet
            running = []
        if running:
            break
        time.sleep(0.05)
    assert running, "the worker never started a trial"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    rescuer = _worker(*GRID, "--storage", postgres_url, "--study", "killed", "--out", str(tmp_path / "r"),
                      "--heartbeat", "1")
    assert rescuer.wait(timeout=600) == 0, rescuer.stdout.read()
    results = _read(tmp_path / "r" / "results.csv")
    assert len(results) == POINTS and not results.duplicated(["label", "seed"]).any()
    _assert_same_numbers(results, embedded)
    trials = _study(postgres_url, "killed").get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.number for t in failed] == [running[0].number]
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == running[0].number]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE
    assert retried[0].user_attrs["point"] == running[0].user_attrs["point"]


@needs_postgres
def test_a_study_holding_another_grid_is_refused_and_left_alone(postgres_url, tmp_path, capsys):
    assert main(["sweep", *GRID, "--storage", postgres_url, "--study", "other", "--trials", "1",
                 "--out", str(tmp_path / "a")]) == 0
    before = len(_study(postgres_url, "other").get_trials())
    capsys.readouterr()
    code = main(["sweep", *GRID[:-1], "--table", "lab2", "--storage", postgres_url, "--study", "other",
                 "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 2 and "holds another sweep (table lab1" in err and "new --study name" in err
    assert len(_study(postgres_url, "other").get_trials()) == before


def test_bad_storage_urls_are_clear_errors(tmp_path, capsys):
    assert main(["sweep", *GRID, "--storage", "not-a-url", "--out", str(tmp_path)]) == 2
    assert "not a database URL" in capsys.readouterr().err
    code = main(["sweep", *GRID, "--storage", "postgresql://someone:secret@127.0.0.1:1/db", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the database" in err and "secret" not in err and "port" in err
    assert main(["sweep", *GRID, "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "--seeds must be >= 1" in capsys.readouterr().err


def test_search_runs_trials_of_every_seed_and_selects_on_validation(tmp_path):
    out = tmp_path / "search"
    assert main(["sweep", "--table", "search", "--models", "rnn", "--trials", "2", "--seeds", "2", "--epochs", "1",
                 "--start", "1990-01", "--quiet", "--out", str(out)]) == 0
    results = _read(out / "results.csv")
    assert len(results) == 4 and results.groupby("trial").seed.apply(sorted).tolist() == [[0, 1], [0, 1]]
    assert results.label.str.startswith("trial ").all()
    chosen = pd.read_csv(out / "selected.csv")
    means = results.groupby("label").val_rmse.mean()
    assert chosen.label.tolist() == [means.idxmin()]  # the lower mean validation RMSE, whatever the test says


def test_two_local_workers_on_the_embedded_store_run_every_point_once(embedded, tmp_path, capsys):
    """SQLite has no row locks: claiming a waiting trial must still be atomic between processes."""
    out = tmp_path / "two"
    assert main(["sweep", *GRID, "--workers", "2", "--out", str(out)]) == 0
    assert "failed" not in capsys.readouterr().err
    results = _read(out / "results.csv")
    assert len(results) == POINTS and not results.duplicated(["label", "seed"]).any()
    _assert_same_numbers(results, embedded)
    from optuna.trial import TrialState

    import optuna

    study = optuna.load_study(study_name="seqlab-lab1", storage=f"sqlite:///{out / 'study.db'}")
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.get_trials())
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == POINTS

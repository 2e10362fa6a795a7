"""``python -m seqlab compare`` end to end on a short series, few epochs, two seeds."""

from __future__ import annotations

import pandas as pd
import pytest

from seqlab.cli import main
from seqlab.data import load_sunspots
from seqlab.evidence import load_results
from seqlab.experiments import CSV_COLUMNS


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "short.csv"
    s = load_sunspots(start="1985-01")
    path.write_text("date,sunspots\n" + "".join(f"{m},{v}\n" for m, v in s.items()))
    return path


def test_compare_writes_csv_and_figures(short_file, tmp_path, capsys):
    models = ["rnn", "gru", "lstm", "mamba", "persistence", "ar"]
    out = tmp_path / "out"
    code = main(["compare", "--models", ",".join(models), "--seeds", "2", "--epochs", "1",
                 "--data", str(short_file), "--out", str(out), "--no-progress"])
    assert code == 0
    df = pd.read_csv(out / "results.csv")
    assert list(df.columns) == CSV_COLUMNS
    assert len(df) == 2 * len(models)
    assert sorted(map(tuple, df[["model", "seed"]].values.tolist())) == sorted((m, s) for m in models for s in (0, 1))
    assert df[["rmse", "mae", "r2"]].notna().all().all() and (df["rmse"] > 0).all()
    assert (df.loc[df.model == "persistence", "params"] == 0).all()
    for name in ("loss_curves.png", "metrics.png", "predictions.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    printed = capsys.readouterr().out
    for m in models:
        assert m in printed
    assert "±" in printed and "R^2" in printed


def test_unknown_model_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", "--models", "rnn,wavenet"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown model(s) wavenet" in err and "persistence" in err


def test_compare_picks_up_a_registered_forecaster(short_file, tmp_path, monkeypatch):
    """A new entry in FORECASTERS is enough for compare: it trains with the default settings."""
    from seqlab import models

    monkeypatch.setitem(models.FORECASTERS, "tiny_gru",
                        lambda **kw: models.RecurrentForecaster("gru", hidden_size=4, num_layers=1, **kw))
    out = tmp_path / "out"
    assert main(["compare", "--models", "tiny_gru,persistence", "--seeds", "1", "--epochs", "1",
                 "--data", str(short_file), "--out", str(out), "--no-progress"]) == 0
    df = pd.read_csv(out / "results.csv")
    assert df["model"].tolist() == ["tiny_gru", "persistence"] and df.loc[0, "params"] == 3 * (4 * 1 + 4 * 4 + 2 * 4) + 5


def test_jobs_give_the_same_rows_on_every_window(short_file, tmp_path):
    """--jobs spreads the runs over processes; every run is seeded, so the rows are the same as with one."""
    rows = {}
    for jobs in (1, 2):
        csv = tmp_path / f"jobs{jobs}.csv"
        assert main(["compare", "--models", "gru,ar", "--windows", "6,12", "--seeds", "2", "--epochs", "1",
                     "--data", str(short_file), "--out", str(tmp_path / "out"), "--csv", str(csv),
                     "--jobs", str(jobs), "--no-figures", "--no-progress"]) == 0
        rows[jobs] = load_results(csv)  # floats exactly as written
    one = rows[1]
    assert list(one.columns) == CSV_COLUMNS and not (tmp_path / "out").exists()  # --no-figures: the CSV only
    runs = one[["model", "window"]].drop_duplicates().values.tolist()
    assert runs == [["gru", 6], ["ar", 6], ["gru", 12], ["ar", 12]]
    assert set(one.loc[one.model == "ar", "label"]) == {"AR(6)", "AR(12)"}
    assert one.loc[one.model == "ar", "params"].tolist() == [7, 7, 13, 13]  # AR(p): p weights and a bias
    timing = ["train_time_s", "inference_time_s"]
    pd.testing.assert_frame_equal(one.drop(columns=timing), rows[2].drop(columns=timing), check_exact=True)


@pytest.mark.parametrize("args, message", [(["--windows", "12,x"], "--windows wants positive month counts"),
                                           (["--windows", "0"], "--windows wants positive month counts")])
def test_bad_windows_are_a_clear_error(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", *args])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_jobs_below_one_is_a_clear_error(capsys):
    assert main(["compare", "--jobs", "0"]) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err

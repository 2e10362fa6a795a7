"""seqlab.lab and seqlab.experiments: the lab's configurations as the report describes them
(cumulative), running over seeds, validation-only selection, mean ± std summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqlab.data import load_sunspots
from seqlab.experiments import RunConfig, results_table, run_experiments, select_best, summarize
from seqlab.lab import (
    LAB_FINAL,
    LAB_REPORTED_TABLE1,
    LAB_REPORTED_TABLE2,
    LAB_REPORTED_TABLE3,
    LAB_TABLE1,
    LAB_TABLE2,
)
from seqlab.train import TrainConfig


def _find(table, model, label):
    (config,) = [c for c in table if c.kind == model and c.label == label]
    return config


def test_table1_is_cumulative_as_the_report_says():
    assert len(LAB_TABLE1) == 16  # 4 uniform rows x 4 models
    first = _find(LAB_TABLE1, "lstm", "0.5 MSE 0.5 RMSE")
    assert (first.train.batch_size, first.train.alpha, first.train.epochs, first.train.lr) == (64, 0.5, 10, 1e-3)
    batch32 = _find(LAB_TABLE1, "gru", "Batch 32").train
    assert (batch32.batch_size, batch32.alpha) == (32, 0.5)
    seven = _find(LAB_TABLE1, "rnn", "0.7 MSE 0.3 RMSE")
    assert (seven.train.batch_size, seven.train.alpha) == (32, 0.7)
    mse = _find(LAB_TABLE1, "mamba", "Just MSE")
    assert (mse.train.batch_size, mse.train.alpha) == (32, 1.0)


def test_table2_starts_from_just_mse_batch32_and_accumulates():
    assert len(LAB_TABLE2) == 12
    assert all(c.train.alpha == 1.0 and c.train.batch_size == 32 for c in LAB_TABLE2)
    assert _find(LAB_TABLE2, "lstm", "Layer normalization").model_kwargs == {
        "hidden_size": 256, "dropout": 0.3, "layer_norm": True}
    assert _find(LAB_TABLE2, "rnn", "Tanh 3 layers").model_kwargs == {"nonlinearity": "tanh", "num_layers": 3}
    assert _find(LAB_TABLE2, "gru", "Dropout .1").model_kwargs == {"hidden_size": 32, "dropout": 0.1}
    assert _find(LAB_TABLE2, "mamba", "Expand = 4").model_kwargs == {"d_state": 32, "expand": 4}


def test_final_configurations_and_reported_numbers():
    assert LAB_FINAL["lstm"].model_kwargs == {"hidden_size": 128}
    assert (LAB_FINAL["lstm"].train.alpha, LAB_FINAL["lstm"].train.batch_size) == (1.0, 32)
    assert (LAB_FINAL["mamba"].model_kwargs, LAB_FINAL["mamba"].train.alpha) == ({"d_state": 32}, 0.5)
    assert LAB_FINAL["ar"].window == LAB_FINAL["ar"].model_kwargs["p"] == 36
    assert len(LAB_REPORTED_TABLE1) == 16 and len(LAB_REPORTED_TABLE2) == 12
    # every reported row names a configuration we encode
    for reported, table in ((LAB_REPORTED_TABLE1, LAB_TABLE1), (LAB_REPORTED_TABLE2, LAB_TABLE2)):
        for model, label in zip(reported["model"], reported["label"]):
            _find(table, model, label)
    best = LAB_REPORTED_TABLE3.set_index("model")["r2"]
    assert best.idxmax() == "lstm" and best["lstm"] == 0.8974
    assert LAB_REPORTED_TABLE3["train_time_s"].sum() == pytest.approx(72.48)


def test_config_validation_and_replace():
    with pytest.raises(ValueError, match="Unknown model 'cnn'"):
        RunConfig("cnn")
    c = RunConfig("gru", model_kwargs={"hidden_size": 32}).replace(model_kwargs={"dropout": 0.1}, epochs=2)
    assert c.model_kwargs == {"hidden_size": 32, "dropout": 0.1} and c.train.epochs == 2
    assert c.train == TrainConfig(epochs=2)  # every other training setting keeps its default
    with pytest.raises(TypeError, match="Unknown training setting.*epoch.*TrainConfig has"):
        c.replace(epoch=3)


@pytest.fixture(scope="module")
def short_run():
    series = load_sunspots(start="1980-01")
    configs = [RunConfig("rnn", "h8", {"hidden_size": 8}, TrainConfig(batch_size=32)),
               RunConfig("rnn", "h16", {"hidden_size": 16}, TrainConfig(batch_size=32)),
               RunConfig("persistence", "baseline"), RunConfig("ar", "AR(24)", {"p": 24}, window=24)]
    outcomes = run_experiments(configs, seeds=2, series=series, epochs=2, progress=False)
    return series, configs, results_table(outcomes), outcomes


def test_run_experiments_rows_and_determinism(short_run):
    series, configs, df, outcomes = short_run
    assert len(df) == len(configs) * 2 == len(outcomes)
    assert df.groupby("label")["seed"].apply(sorted).tolist() == [[0, 1]] * 4
    # baselines do not depend on the seed; networks do
    ar = df[df.model == "ar"]
    assert ar["r2"].nunique() == 1 and ar["params"].iloc[0] == 25
    assert df[df.label == "h8"]["rmse"].nunique() == 2
    (again,) = run_experiments(configs[:1], seeds=[1], series=series, epochs=2, progress=False)
    assert again.row["rmse"] == df[(df.label == "h8") & (df.seed == 1)]["rmse"].iloc[0]
    # every run reports on the same test months, whatever its window
    lengths = {len(o.prediction) for o in outcomes}
    assert len(lengths) == 1


def test_select_best_uses_validation_not_test():
    df = pd.DataFrame({"model": ["gru"] * 4, "label": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
                       "val_rmse": [0.10, 0.12, 0.20, 0.22], "rmse": [0.30, 0.30, 0.01, 0.01]})
    assert select_best(df)["label"].tolist() == ["a"]
    with pytest.raises(ValueError, match="validation metric"):
        select_best(df, by="rmse")


def test_summarize_mean_and_sample_std(short_run):
    _, _, df, _ = short_run
    table = summarize(df).set_index("label")
    values = df[df.label == "h8"]["r2"].to_numpy()
    mean, std = values.mean(), np.sqrt(((values - values.mean()) ** 2).sum() / (len(values) - 1))
    assert table.loc["h8", "r2"] == f"{mean:.4f} ± {std:.4f}"
    assert table.loc["AR(24)", "params"] == "25"

"""Lesson 05's selective-copying evidence: the committed results, and a re-run that matches them.

notebooks/results/05_selective_copying.csv was written by
``python -m seqlab.mamba.selective_copying --out notebooks/results/05_selective_copying.csv``;
re-running one committed row must give the same numbers bit for bit (same torch build, one thread).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from seqlab.mamba.selective_copying import VARIANTS, CopyingConfig, summarize, train_copying

RESULTS = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "05_selective_copying.csv"


@pytest.fixture(scope="module")
def committed():
    return pd.read_csv(RESULTS)  # pandas reads floats back exactly (round trip)


def test_committed_results_cover_every_variant_over_seeds(committed):
    assert set(committed.variant) == set(VARIANTS)
    counts = committed.groupby("variant").seed.nunique()
    assert (counts >= 3).all(), counts
    assert committed.accuracy.between(0, 1).all()


def test_a_committed_row_is_reproduced_bit_for_bit(committed):
    row = committed[(committed.variant == "time-invariant") & (committed.seed == 0)].iloc[0]
    fresh = train_copying("time-invariant", 0, CopyingConfig())
    for key in ("accuracy", "test_loss", "train_loss", "parameters"):
        assert fresh[key] == row[key], f"{key}: re-run {fresh[key]!r} != committed {row[key]!r}"


def test_the_lessons_verdict_holds_in_the_committed_results(committed):
    """Selection matters: the selective block beats the time-invariant one by far more than the spread."""
    s = summarize(committed)
    gap = s.loc["selective", "mean"] - s.loc["time-invariant", "mean"]
    assert gap > 3 * max(s.loc["selective", "std"], s.loc["time-invariant", "std"])
    assert s.loc["selective", "min"] > s.loc["time-invariant", "max"]


def test_training_is_deterministic_and_names_bad_variants():
    config = CopyingConfig(steps=3, n_test=50)
    assert train_copying("selective", 1, config)["test_loss"] == train_copying("selective", 1, config)["test_loss"]
    with pytest.raises(ValueError, match="unknown variant 'slective'"):
        train_copying("slective", 0, config)

"""One-step-ahead windows, a chronological split and a min-max scaler fitted on training data only.

Glossary: ``T`` months in the series, ``w`` window length (months of history per input),
``n`` windows. Window ``i`` has inputs ``x[i : i + w]`` and target ``x[i + w]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_WINDOW = 12  # one year of months: the usual choice in such labs (see seqlab.data)


def make_windows(values, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X (n, window)`` and targets ``y (n,)`` with ``n = T - window``, float32."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}.")
    if len(values) <= window:
        raise ValueError(f"Need more than window={window} values to make a window, got {len(values)}.")
    X = np.lib.stride_tricks.sliding_window_view(values[:-1], window).copy()  # (n, w)
    y = values[window:].copy()  # (n,)
    return X, y


class MinMaxScaler:
    """Maps ``[data_min_, data_max_]`` of the values it was fitted on to ``[0, 1]``."""

    def __init__(self):
        self.data_min_: float | None = None
        self.data_max_: float | None = None

    def fit(self, values) -> "MinMaxScaler":
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0 or not np.all(np.isfinite(values)):
            raise ValueError("MinMaxScaler.fit needs a non-empty array of finite numbers.")
        lo, hi = float(values.min()), float(values.max())
        if hi == lo:
            raise ValueError(f"MinMaxScaler.fit: all values equal {lo}; cannot scale a constant series.")
        self.data_min_, self.data_max_ = lo, hi
        return self

    def _check(self):
        if self.data_min_ is None:
            raise RuntimeError("This MinMaxScaler is not fitted yet; call .fit(training_values) first.")

    def transform(self, values) -> np.ndarray:
        self._check()
        return (np.asarray(values, dtype=np.float64) - self.data_min_) / (self.data_max_ - self.data_min_)

    def inverse_transform(self, values) -> np.ndarray:
        self._check()
        return np.asarray(values, dtype=np.float64) * (self.data_max_ - self.data_min_) + self.data_min_

    def fit_transform(self, values) -> np.ndarray:
        return self.fit(values).transform(values)

    def __repr__(self):
        return f"MinMaxScaler(data_min_={self.data_min_}, data_max_={self.data_max_})"


@dataclass
class SunspotSplits:
    """Scaled float32 windows for each part. ``X_*`` is ``(n, window)``, ``y_*`` is ``(n,)``.

    ``months_*`` are the months of the targets. Validation and test inputs may reach back into
    the previous part (history the forecaster would have), but their targets never do.
    """

    series: pd.Series
    window: int
    scaler: MinMaxScaler
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    months_train: pd.PeriodIndex
    months_val: pd.PeriodIndex
    months_test: pd.PeriodIndex

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"part must be 'train', 'val' or 'test', got {name!r}.")
        return getattr(self, f"X_{name}"), getattr(self, f"y_{name}")

    def __repr__(self):
        m = self.series.index
        return (f"SunspotSplits({m[0]}..{m[-1]}, window={self.window}, windows "
                f"train={len(self.y_train)} val={len(self.y_val)} test={len(self.y_test)}, "
                f"test months {self.months_test[0]}..{self.months_test[-1]})")


def split_series(series: pd.Series, window: int = DEFAULT_WINDOW, train: float = 0.7,
                 val: float = 0.15) -> SunspotSplits:
    """Split months chronologically into train / val / test (the rest) and make scaled windows.

    The scaler is fitted on the training months only. The first ``window`` training months
    only serve as inputs; a part needs at least one target month.
    """
    if not (0 < train < 1 and 0 < val < 1 and train + val < 1):
        raise ValueError(f"Need 0 < train, val and train + val < 1, got train={train}, val={val}.")
    values = np.asarray(series, dtype=np.float64)
    T = len(values)
    n_train, n_val = int(round(train * T)), int(round(val * T))
    if n_train <= window or n_val < 1 or T - n_train - n_val < 1:
        raise ValueError(
            f"{T} months are too few for window={window} with train={train}, val={val}: "
            f"{n_train} training months must exceed the window and val/test need a month each."
        )
    scaler = MinMaxScaler().fit(values[:n_train])
    scaled = scaler.transform(values).astype(np.float32)
    a, b = n_train, n_train + n_val  # first val month, first test month
    X_train, y_train = make_windows(scaled[:a], window)
    X_val, y_val = make_windows(scaled[a - window:b], window)
    X_test, y_test = make_windows(scaled[b - window:], window)
    index = series.index
    return SunspotSplits(series, window, scaler, X_train, y_train, X_val, y_val, X_test, y_test,
                         index[window:a], index[a:b], index[b:])

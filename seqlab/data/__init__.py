"""The SILSO monthly sunspot series and what the forecasters need from it.

- ``load_sunspots``       the series as a pandas Series (monthly PeriodIndex), from a file, the cache or SILSO
- ``make_windows``        one-step-ahead windows: X (n, window), y (n,)
- ``split_series``        chronological train / validation / test windows, scaled on the training part only
- ``MinMaxScaler``        fit / transform / inverse_transform on 1-D arrays

Period and window used by the lessons (the lab says neither): the whole series 1749-01..2026-03
and windows of 12 months. The lab's scaled RMSE (about 0.058) and R^2 (about 0.89) fit a min-max
scale over a range that includes the 398.2 peak of 1778, i.e. data from 1749 on; 12 months is
the usual window of such labs, and the project's Mamba issue names 12 (and 48) as "the sunspot sizes".
Data before about 1818 is noisier (SILSO gives no error bars there); ``start="1818-01"`` drops it.
"""

from .sunspots import (
    DEFAULT_END,
    SILSO_PAGE,
    SILSO_URL,
    SunspotDataUnavailable,
    SunspotFormatError,
    cache_path,
    fetch_silso,
    load_sunspots,
    parse_sunspots,
)
from .windows import DEFAULT_WINDOW, MinMaxScaler, SunspotSplits, make_windows, split_series

__all__ = [
    "DEFAULT_END",
    "DEFAULT_WINDOW",
    "SILSO_PAGE",
    "SILSO_URL",
    "MinMaxScaler",
    "SunspotDataUnavailable",
    "SunspotFormatError",
    "SunspotSplits",
    "cache_path",
    "fetch_silso",
    "load_sunspots",
    "make_windows",
    "parse_sunspots",
    "split_series",
]

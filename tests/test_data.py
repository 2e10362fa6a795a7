"""seqlab.data: parsing and validating the three layouts, cache/download logic, windows, split, scaler.

Nothing is downloaded: the fetch function is a fake and the cache lives in tmp_path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab import data
from seqlab.data import (
    MinMaxScaler,
    SunspotDataUnavailable,
    SunspotFormatError,
    load_sunspots,
    make_windows,
    parse_sunspots,
    split_series,
)

# ------------------------------------------------------------------------------ synthetic files


def months(n, start="1749-01"):
    return pd.period_range(start, periods=n, freq="M")


def silso_text(values, start="1749-01"):
    """SILSO's layout, padded the way SILSO pads it."""
    rows = []
    for m, v in zip(months(len(values), start), values):
        rows.append(f"{m.year};{m.month:02d};{m.year + (m.month - 0.5) / 12:8.3f};{v:6.1f}; -1.0;   -1;1")
    return "\n".join(rows) + "\n"


def simple_text(values, start="1749-01"):
    return "date,sunspots\n" + "".join(f"{m},{v}\n" for m, v in zip(months(len(values), start), values))


def kaggle_text(values, start="1749-01"):
    rows = [",Date,Monthly Mean Total Sunspot Number"]
    for i, (m, v) in enumerate(zip(months(len(values), start), values)):
        rows.append(f"{i},{m.to_timestamp(how='end').strftime('%Y-%m-%d')},{v}")
    return "\n".join(rows) + "\n"


VALUES = [96.7, 104.3, 116.7, 92.8, 141.7, 139.2, 158.0, 110.5, 126.5, 125.8, 264.3, 142.0, 0.0, 3.5]


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No SEQLAB_SUNSPOTS, an empty cache dir of our own."""
    monkeypatch.delenv("SEQLAB_SUNSPOTS", raising=False)
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "SN_m_tot_V2.0.csv"


class FakeFetch:
    def __init__(self, content: str | Exception):
        self.content, self.calls = content, 0

    def __call__(self):
        self.calls += 1
        if isinstance(self.content, Exception):
            raise self.content
        return self.content.encode()


def long_silso(n=300, start="1749-01"):
    rng = np.random.default_rng(0)
    return silso_text(np.round(rng.uniform(0, 300, n), 1), start)


# ------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize("layout", [silso_text, simple_text, kaggle_text])
def test_three_layouts_parse_to_the_same_series(layout):
    s = parse_sunspots(layout(VALUES))
    assert s.name == "sunspots" and s.dtype == float
    assert isinstance(s.index, pd.PeriodIndex) and s.index.freqstr == "M"
    assert list(s.index) == list(months(len(VALUES)))
    np.testing.assert_array_equal(s.to_numpy(), np.array(VALUES))


def test_trailing_missing_marker_dropped_but_inner_one_is_an_error():
    text = silso_text(VALUES + [-1.0, -1.0])
    assert len(parse_sunspots(text)) == len(VALUES)
    inner = silso_text(VALUES[:3] + [-1.0] + VALUES[3:])
    with pytest.raises(SunspotFormatError, match=r"line 4.*1749-04.*negative"):
        parse_sunspots(inner, "f.csv")


@pytest.mark.parametrize(
    "mangle, pattern",
    [
        (lambda ls: ls[:3] + ls[4:], r"line 4: month 1749-04 is missing \(gap before 1749-05\)"),
        (lambda ls: ls[:3] + [ls[2]] + ls[3:], r"line 4: month 1749-03 appears twice \(also line 3\)"),
        (lambda ls: ls[:2] + ["1749;xx;1749.2;5;1;1;1"] + ls[3:], r"line 3: cannot read row"),
        (lambda ls: ls[:1] + [ls[2], ls[1]] + ls[3:], r"line 3: month 1749-02 comes after 1749-03"),
        (lambda ls: ls[:3] + ls[6:], r"line 4: months 1749-04\.\.1749-06 are missing"),
        (lambda ls: ls[:5] + ["1749;06;1749.4;nan;1;1;1"] + ls[6:], r"line 6: value nan"),
    ],
)
def test_bad_rows_name_file_line_and_month(mangle, pattern):
    lines = silso_text(VALUES).splitlines()
    with pytest.raises(SunspotFormatError, match="bad.csv, " + pattern):
        parse_sunspots("\n".join(mangle(lines)), "bad.csv")


def test_empty_and_unknown_layout():
    with pytest.raises(SunspotFormatError, match="empty"):
        parse_sunspots("\n\n", "e.csv")
    with pytest.raises(SunspotFormatError, match="no data rows"):
        parse_sunspots("date,sunspots\n", "h.csv")
    with pytest.raises(SunspotFormatError, match="unknown layout"):
        parse_sunspots("time,value\n2000-01,3\n", "u.csv")


# ------------------------------------------------------------------------------ sources


def test_course_copy_via_environment():
    s = load_sunspots()  # conftest points SEQLAB_SUNSPOTS at the shared data folder
    assert (str(s.index[0]), str(s.index[-1]), len(s)) == ("1749-01", "2026-03", 3327)
    assert s.max() == 398.2 and str(s.idxmax()) == "1778-05"
    assert not s.index.has_duplicates and (np.diff(s.index.asi8) == 1).all()


def test_start_end_slice(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text(simple_text(VALUES))
    s = load_sunspots(f, start="1749-03", end="1749-05")
    assert list(map(str, s.index)) == ["1749-03", "1749-04", "1749-05"]
    assert list(s) == VALUES[2:5]
    with pytest.warns(UserWarning, match="ends at 1750-02"):
        assert len(load_sunspots(f)) == len(VALUES)  # ends before the default end
    assert len(load_sunspots(f, end=None)) == len(VALUES)
    with pytest.raises(ValueError, match="No sunspot months"):
        load_sunspots(f, start="1800-01", end=None)


def test_corrupt_explicit_path_is_an_error_and_kept(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text(simple_text(VALUES)[:-8] + "oops\n")
    with pytest.raises(SunspotFormatError, match="mine.csv, line"):
        load_sunspots(f, end=None)
    assert f.exists()
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        load_sunspots(tmp_path / "nothere.csv")


def test_environment_pointing_nowhere(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_SUNSPOTS", str(tmp_path / "missing.csv"))
    with pytest.raises(FileNotFoundError, match="SEQLAB_SUNSPOTS"):
        load_sunspots()


def test_download_is_validated_cached_then_reused(no_env):
    fetch = FakeFetch(long_silso())
    s = load_sunspots(end="1760-12", fetch=fetch)
    assert fetch.calls == 1 and no_env.is_file() and str(s.index[-1]) == "1760-12"
    offline = FakeFetch(OSError("offline"))
    s2 = load_sunspots(end="1760-12", fetch=offline)
    assert offline.calls == 0
    pd.testing.assert_series_equal(s, s2)
    assert not list(no_env.parent.glob("*.tmp"))  # atomic write leaves no temp file


def test_corrupt_cache_discarded_and_fetched_again(no_env):
    no_env.parent.mkdir(parents=True)
    no_env.write_text(long_silso()[:-30] + "\x00\x00garbage")  # cut mid-row
    fetch = FakeFetch(long_silso())
    with pytest.warns(UserWarning, match="corrupt"):
        s = load_sunspots(end="1760-12", fetch=fetch)
    assert fetch.calls == 1 and len(s) == 144
    assert parse_sunspots(no_env.read_text()).equals(parse_sunspots(long_silso()))


def test_truncated_cache_that_misses_end_is_refreshed(no_env):
    no_env.parent.mkdir(parents=True)
    no_env.write_text(long_silso(n=24))  # ends 1750-12, cut at a row boundary
    fetch = FakeFetch(long_silso(n=300))
    assert str(load_sunspots(end="1760-12", fetch=fetch).index[-1]) == "1760-12"
    assert fetch.calls == 1


def test_offline_without_cache_says_what_to_do(no_env):
    with pytest.raises(SunspotDataUnavailable) as info:
        load_sunspots(fetch=FakeFetch(OSError("no route")))
    message = str(info.value)
    for needle in (data.SILSO_URL, data.SILSO_PAGE, str(no_env), "SEQLAB_SUNSPOTS", "no route"):
        assert needle in message
    assert isinstance(info.value, RuntimeError)


def test_bad_download_is_not_cached(no_env):
    with pytest.raises(SunspotDataUnavailable, match="does not validate"):
        load_sunspots(fetch=FakeFetch("<html>maintenance</html>"))
    with pytest.raises(SunspotDataUnavailable, match="starts at 1800-01"):
        load_sunspots(fetch=FakeFetch(long_silso(start="1800-01")))
    assert not no_env.exists()


def test_default_fetch_is_monkeypatchable(no_env, monkeypatch):
    calls = []
    monkeypatch.setattr(data.sunspots, "fetch_silso", lambda: calls.append(1) or long_silso().encode())
    assert len(load_sunspots(end="1749-12")) == 12 and calls == [1]


# ------------------------------------------------------------------------------ windows, split, scaler


def test_make_windows_matches_a_loop():
    v = np.arange(10, dtype=float) ** 2
    X, y = make_windows(v, 3)
    assert X.shape == (7, 3) and y.shape == (7,)
    for i in range(7):
        assert list(X[i]) == list(v[i:i + 3]) and y[i] == v[i + 3]
    with pytest.raises(ValueError, match="more than window=10"):
        make_windows(v, 10)


def test_scaler_roundtrip_and_unfitted():
    with pytest.raises(RuntimeError, match="not fitted"):
        MinMaxScaler().transform([1.0])
    with pytest.raises(ValueError, match="constant"):
        MinMaxScaler().fit([2.0, 2.0])
    sc = MinMaxScaler().fit([10.0, 30.0, 20.0])
    np.testing.assert_allclose(sc.transform([10, 20, 30, 40]), [0, 0.5, 1, 1.5])
    np.testing.assert_allclose(sc.inverse_transform(sc.transform([3.3, 17.0])), [3.3, 17.0])


@settings(max_examples=60, deadline=None)
@given(T=st.integers(60, 300), window=st.integers(1, 12), train=st.floats(0.4, 0.75),
       val=st.floats(0.05, 0.15), seed=st.integers(0, 10**6))
def test_no_validation_or_test_value_leaks_into_training(T, window, train, val, seed):
    # Distinct values, so each value names its month; the permutation makes min/max land anywhere.
    values = np.random.default_rng(seed).permutation(T).astype(float) + 1.0
    s = pd.Series(values, index=months(T))
    sp = split_series(s, window, train, val)
    n_train, n_val = len(sp.months_train) + window, len(sp.months_val)
    train_vals = set(values[:n_train])

    def originals(a):
        return set(np.round(sp.scaler.inverse_transform(a.astype(np.float64))).astype(int).ravel())

    assert originals(sp.X_train) | originals(sp.y_train) <= train_vals  # inputs and targets
    assert (sp.scaler.data_min_, sp.scaler.data_max_) == (values[:n_train].min(), values[:n_train].max())
    assert originals(sp.y_val) == set(values[n_train:n_train + n_val])
    assert originals(sp.y_test) == set(values[n_train + n_val:])
    assert len(sp.y_train) + len(sp.y_val) + len(sp.y_test) == T - window
    assert sp.months_val[0] == sp.months_train[-1] + 1 and sp.months_test[0] == sp.months_val[-1] + 1
    # validation/test inputs are the `window` months just before each target
    np.testing.assert_array_equal(originals(sp.X_test[:1]), set(values[n_train + n_val - window:n_train + n_val]))


def test_split_rejects_too_short():
    with pytest.raises(ValueError, match="too few"):
        split_series(pd.Series(np.arange(10.0), index=months(10)), window=12)


def test_latest_refreshes_a_stale_cache_and_falls_back_offline(no_env):
    import os
    import time

    no_env.parent.mkdir(parents=True)
    no_env.write_text(long_silso(n=24))
    old = time.time() - 40 * 24 * 3600
    os.utime(no_env, (old, old))
    with pytest.warns(UserWarning, match="Could not refresh"):
        assert len(load_sunspots(end=None, fetch=FakeFetch(OSError("offline")))) == 24
    fetch = FakeFetch(long_silso(n=36))
    assert len(load_sunspots(end=None, fetch=fetch)) == 36 and fetch.calls == 1
    assert len(load_sunspots(end=None, fetch=FakeFetch(OSError("offline")))) == 36  # fresh now: no fetch

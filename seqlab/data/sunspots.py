"""Load SILSO's monthly mean total sunspot number (version 2.0) as a pandas Series.

Where the data comes from, in this order:

1. ``path`` if given, else the file named by the ``SEQLAB_SUNSPOTS`` environment variable;
2. a cached copy of SILSO's file in ``cache_path()`` (``platformdirs.user_cache_dir("seqlab")``,
   or ``SEQLAB_CACHE_DIR``);
3. a download from SILSO (``SILSO_URL``), validated, then cached atomically.

Three file layouts are read (the layout is recognised from the first line):

- SILSO's own ``SN_m_tot_V2.0.csv``: no header, ``year;month;decimal_year;value;std_dev;n_obs;flag``,
  value -1 marks a month without data (only allowed at the end, where provisional months lie);
- ``date,sunspots`` with dates ``YYYY-MM``;
- Kaggle's ``Sunspots.csv``: ``,Date,Monthly Mean Total Sunspot Number`` with dates ``1749-01-31``.

Source: WDC-SILSO, Royal Observatory of Belgium, Brussels (CC BY-NC 4.0).
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

SILSO_URL = "https://www.sidc.be/SILSO/INFO/snmtotcsv.php"
SILSO_PAGE = "https://www.sidc.be/SILSO/datafiles"
CACHE_FILE = "SN_m_tot_V2.0.csv"
DEFAULT_END = "2026-03"  # fixed so that every result in the lessons is reproducible
FIRST_MONTH = pd.Period("1749-01", freq="M")  # SILSO's monthly series starts here
STALE_AFTER_S = 30 * 24 * 3600  # with end=None a cache older than this is refreshed when online


class SunspotDataUnavailable(RuntimeError):
    """No sunspot file given, none cached, and SILSO could not be reached (or sent bad data)."""


class SunspotFormatError(ValueError):
    """A sunspot file that cannot be read: bad rows, gaps, duplicates, negative values."""


def cache_path() -> Path:
    """Where the downloaded SILSO file is kept: ``$SEQLAB_CACHE_DIR`` or the user cache dir."""
    root = os.environ.get("SEQLAB_CACHE_DIR")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("seqlab")
    return Path(root) / CACHE_FILE


def fetch_silso(url: str = SILSO_URL, timeout: float = 20.0) -> bytes:
    """Download SILSO's ``SN_m_tot_V2.0.csv`` content; raises ``OSError`` subclasses offline."""
    request = urllib.request.Request(url, headers={"User-Agent": "seqlab (teaching kit)"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


# ---------------------------------------------------------------------------------------- parsing


def _fail(source: str, line: int | None, problem: str, fix: str) -> SunspotFormatError:
    where = f"{source}, line {line}" if line is not None else source
    return SunspotFormatError(f"{where}: {problem}. {fix}")


def _rows(text: str, source: str):
    """(line number, month, value) for each data row, in file order."""
    lines = text.splitlines()
    first = next((i for i, s in enumerate(lines) if s.strip()), None)
    if first is None:
        raise _fail(source, None, "the file is empty", f"Download it again from {SILSO_URL}.")
    head = lines[first].strip().lstrip("\ufeff")
    if ";" in head:
        layout, skip = "silso", first
    elif head.replace(" ", "").lower() == "date,sunspots":
        layout, skip = "simple", first + 1
    elif "monthly mean total sunspot number" in head.lower():
        layout, skip = "kaggle", first + 1
    else:
        raise _fail(
            source, first + 1, f"unknown layout, first line {head[:60]!r}",
            "Expected SILSO's SN_m_tot_V2.0.csv (year;month;...), a 'date,sunspots' CSV or "
            "Kaggle's Sunspots.csv (',Date,Monthly Mean Total Sunspot Number').",
        )
    for i in range(skip, len(lines)):
        raw = lines[i].strip()
        if not raw:
            continue
        try:
            if layout == "silso":
                fields = [f.strip() for f in raw.split(";")]
                if len(fields) < 4:
                    raise ValueError("fewer than 4 fields")
                month = pd.Period(year=int(fields[0]), month=int(fields[1]), freq="M")
                value = float(fields[3])
            elif layout == "simple":
                date, value_text = raw.split(",")
                month, value = pd.Period(date.strip(), freq="M"), float(value_text)
            else:
                _, date, value_text = raw.split(",")
                month, value = pd.Period(date.strip()[:7], freq="M"), float(value_text)
        except (ValueError, TypeError) as error:
            raise _fail(
                source, i + 1, f"cannot read row {raw[:60]!r} as a {layout} row ({error})",
                "Fix or delete the row, or download the file again.",
            ) from None
        if not np.isfinite(value):
            raise _fail(source, i + 1, f"value {value} is not a number", "Fix or delete the row.")
        yield i + 1, month, value


def parse_sunspots(text: str, source: str = "<text>") -> pd.Series:
    """Parse and validate one of the three layouts; returns floats on a monthly PeriodIndex.

    Trailing months marked -1 (SILSO: no data yet) are dropped; any other negative value, a gap,
    a duplicated or out-of-order month raises ``SunspotFormatError`` naming the line and month.
    """
    rows = list(_rows(text, source))
    while rows and rows[-1][2] == -1:  # SILSO's "missing" marker, allowed only at the tail
        rows.pop()
    if not rows:
        raise _fail(source, None, "the file has no data rows", f"Download it again from {SILSO_URL}.")
    seen: dict[pd.Period, int] = {}
    for k, (line, month, value) in enumerate(rows):
        if month in seen:
            raise _fail(source, line, f"month {month} appears twice (also line {seen[month]})",
                        "Keep one row per month.")
        seen[month] = line
        if value < 0:
            raise _fail(source, line, f"month {month} has negative value {value}",
                        "Sunspot numbers are >= 0; -1 (missing) is only allowed in the last rows.")
        if k and month < rows[k - 1][1]:
            raise _fail(source, line, f"month {month} comes after {rows[k - 1][1]} (out of order)",
                        "Sort the rows by month.")
    for k in range(1, len(rows)):
        line, month, expected = rows[k][0], rows[k][1], rows[k - 1][1] + 1
        if month != expected:
            gap = f"month {expected} is" if month == expected + 1 else f"months {expected}..{month - 1} are"
            raise _fail(source, line, f"{gap} missing (gap before {month})",
                        f"Use a complete file, e.g. SILSO's from {SILSO_PAGE}.")
    index = pd.PeriodIndex([m for _, m, _ in rows], freq="M", name="month")
    return pd.Series([v for _, _, v in rows], index=index, name="sunspots", dtype=float)


def _read(path: Path, source: str) -> pd.Series:
    return parse_sunspots(path.read_text(encoding="utf-8", errors="replace"), source)


# ---------------------------------------------------------------------------------------- sources


def _unavailable(reason: str) -> SunspotDataUnavailable:
    return SunspotDataUnavailable(
        f"No sunspot data: {reason}. Download SILSO's monthly total sunspot number file "
        f"(SN_m_tot_V2.0.csv) from {SILSO_URL} (or via {SILSO_PAGE}) and save it as "
        f"{cache_path()}, or set SEQLAB_SUNSPOTS=/path/to/the/file (or pass path=...)."
    )


def _download(fetch: Callable[[], bytes], cache: Path) -> pd.Series:
    try:
        content = fetch()
    except OSError as error:  # URLError, timeouts, connection refused
        raise _unavailable(f"nothing cached at {cache} and the download failed ({error})") from error
    text = content.decode("utf-8", errors="replace")
    try:
        series = parse_sunspots(text, f"download from {SILSO_URL}")
    except SunspotFormatError as error:
        raise _unavailable(f"SILSO sent a file that does not validate ({error})") from error
    if series.index[0] != FIRST_MONTH:
        raise _unavailable(f"the downloaded file starts at {series.index[0]}, not {FIRST_MONTH}")
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".sunspots-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, cache)  # atomic: readers see the old file or the whole new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return series


def _from_cache_or_download(fetch: Callable[[], bytes], end: pd.Period | None) -> pd.Series:
    cache = cache_path()
    if cache.is_file():
        try:
            series = _read(cache, f"cached {cache}")
            if series.index[0] != FIRST_MONTH:
                raise SunspotFormatError(f"cached {cache} starts at {series.index[0]} (truncated)")
        except SunspotFormatError as error:
            warnings.warn(f"Discarding a corrupt sunspot cache ({error}); downloading it again.")
            cache.unlink(missing_ok=True)
        else:
            covers = end is None or series.index[-1] >= end
            fresh = end is not None or time.time() - cache.stat().st_mtime < STALE_AFTER_S
            if covers and fresh:
                return series
            try:
                return _download(fetch, cache)
            except SunspotDataUnavailable:
                if end is None:  # stale but usable: better than nothing
                    warnings.warn(f"Could not refresh {cache}; using the cached copy.")
                    return series
                raise
    return _download(fetch, cache)


def load_sunspots(
    path: str | os.PathLike | None = None,
    *,
    start: str | pd.Period | None = None,
    end: str | pd.Period | None = DEFAULT_END,
    fetch: Callable[[], bytes] | None = None,
) -> pd.Series:
    """SILSO's monthly mean total sunspot number (v2.0), months ``start``..``end`` inclusive.

    Args:
        path: a sunspot file (any of the three layouts); default ``$SEQLAB_SUNSPOTS``, then the
            cache, then a download.
        start, end: first and last month (``"YYYY-MM"``). ``end`` defaults to 2026-03 so results
            are reproducible; ``end=None`` gives the newest months (provisional ones included).
        fetch: a no-argument function returning SILSO's file as bytes (default ``fetch_silso``);
            tests pass a fake so that nothing is downloaded.

    Returns:
        a float Series named ``sunspots`` on a monthly ``PeriodIndex`` (freq ``M``) without gaps.
    """
    end_month = None if end is None else pd.Period(end, freq="M")
    if path is None and os.environ.get("SEQLAB_SUNSPOTS"):
        path = os.environ["SEQLAB_SUNSPOTS"]
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"SEQLAB_SUNSPOTS={path} is not a file. Point it at a sunspot CSV or unset it "
                f"to use the cache/download ({cache_path()})."
            )
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No sunspot file at {path}. Get SN_m_tot_V2.0.csv from {SILSO_PAGE}.")
        series = _read(path, str(path))  # a bad user file is an error, never deleted
        if end_month is not None and series.index[-1] < end_month:
            warnings.warn(
                f"{path} ends at {series.index[-1]}, before end={end_month}; "
                "results will differ from the lessons' (which use 1749-01..2026-03)."
            )
    else:
        series = _from_cache_or_download(fetch or (lambda: fetch_silso()), end_month)
    start_month = None if start is None else pd.Period(start, freq="M")
    series = series.loc[start_month:end_month]
    if series.empty:
        raise ValueError(f"No sunspot months between start={start} and end={end}; pick a range inside the data.")
    return series

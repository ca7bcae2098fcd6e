"""The grid trends count on: time buckets of a range × labels (states, names, queues).

Buckets are ``bucket_size(start, end)`` wide, their edges whole multiples of the size since the
Unix epoch (UTC); every bucket that overlaps ``[start, end)`` is present, and the first and last
may be cut by the range (``covered_seconds``). A row lands in one cell, bucket-major, or in none
(a NaT time, a time outside the buckets, a label not asked for). Times are computed on as
``datetime64[us]`` values, the frames' one unit. A missing label is ``(unknown)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

__all__ = [
    "ALL",
    "BUCKET_SIZES",
    "MAX_BUCKETS",
    "OTHER",
    "UNKNOWN",
    "UTC_TIME",
    "bucket_counts",
    "bucket_label",
    "bucket_positions",
    "bucket_size",
    "bucket_starts",
    "cell_counts",
    "cell_indices",
    "covered_seconds",
    "first_known",
    "label_codes",
    "labelled",
    "tiled",
    "time_value",
    "time_values",
]

#: The bucket widths a range may get: the smallest one that keeps the range within MAX_BUCKETS.
BUCKET_SIZES = tuple(pd.Timedelta(s) for s in ("1min", "5min", "15min", "1h", "6h", "1D", "7D"))
#: About as many bars as a wide chart shows legibly (7 days at 1 h is 168).
MAX_BUCKETS = 200
#: The label of a missing name or queue, and of the rest beyond the top N.
UNKNOWN = "(unknown)"
OTHER = "(other)"
ALL = "(all)"
#: The frames' one time unit (lib/frames/tasks.py): casting to it keeps masks and fills from
#: mixing units.
UTC_TIME = "datetime64[us, UTC]"


def bucket_size(start: datetime, end: datetime) -> pd.Timedelta:
    """The bucket width for a range: 1 min for an hour, 5 min for 6 h, ... 1 h for 7 days."""
    span = pd.Timestamp(end) - pd.Timestamp(start)
    for size in BUCKET_SIZES:
        if span / size <= MAX_BUCKETS:
            return size
    return BUCKET_SIZES[-1]


def bucket_label(size: timedelta) -> str:
    """``"1 min"``, ``"15 min"``, ``"1 h"``, ``"1 d"`` — a bucket width as the page says it."""
    seconds = int(pd.Timedelta(size).total_seconds())
    for unit, name in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds % unit == 0:
            return f"{seconds // unit} {name}"
    return f"{seconds} s"


def bucket_starts(start: datetime, end: datetime, size: timedelta) -> pd.DatetimeIndex:
    """The UTC start of every bucket that overlaps ``[start, end)``, oldest first."""
    first = pd.Timestamp(start).tz_convert("UTC").floor(size)
    last = (pd.Timestamp(end).tz_convert("UTC") - pd.Timedelta(1, "ns")).floor(size)
    return pd.date_range(first, last, freq=size, name="bucket").astype(UTC_TIME)


def bucket_counts(
    times: pd.Series,
    labels: pd.Series,
    order: list[str],
    start: datetime,
    end: datetime,
    size: timedelta,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Rows per bucket of the range and label. Columns: bucket (UTC start), label, count.

    Every bucket × every label of ``order`` (in that order), zeros included; a row whose label
    is not in ``order``, or whose time is NaT or in no bucket, counts nowhere. A row counts as
    its ``weights`` (1 each when None).
    """
    buckets = bucket_starts(start, end, size)
    positions = bucket_positions(times, buckets, size)
    cells = cell_indices(positions, label_codes(labels, order), len(order))
    return pd.DataFrame(
        {
            "bucket": buckets.repeat(len(order)),
            "label": tiled(order, len(buckets)),
            "count": cell_counts(cells, len(buckets) * len(order), weights),
        }
    )


def bucket_positions(times: pd.Series, buckets: pd.DatetimeIndex, size: timedelta) -> np.ndarray:
    """Each time's bucket as a position in ``buckets``; -1 for NaT or a time outside them.

    Buckets are consecutive and epoch-aligned, so the position is whole buckets since the
    first: the bucket a time floors to, without building a time per task.
    """
    values = time_values(times)
    if not len(buckets):
        return np.full(len(values), -1, dtype="int64")
    first = buckets.to_numpy(dtype="datetime64[us]").astype("int64")[0]
    width = int(pd.Timedelta(size) / pd.Timedelta(1, "us"))
    positions = (values.astype("int64") - first) // width
    outside = np.isnat(values) | (positions < 0) | (positions >= len(buckets))
    positions[outside] = -1
    return positions


def covered_seconds(
    buckets: pd.DatetimeIndex, start: datetime, end: datetime, size: timedelta
) -> np.ndarray:
    """Seconds of each bucket inside ``[start, end)``: the first and last may be cut."""
    starts = buckets.to_numpy(dtype="datetime64[us]")
    lo = np.maximum(starts, time_value(start))
    hi = np.minimum(starts + pd.Timedelta(size).to_timedelta64(), time_value(end))
    return ((hi - lo) / np.timedelta64(1, "s")).astype("float64")


def cell_indices(positions: np.ndarray, codes: np.ndarray, width: int) -> np.ndarray:
    """Each row's (bucket, label) cell in bucket-major order; -1 where either is unknown."""
    return np.where((positions >= 0) & (codes >= 0), positions * width + codes, -1)


def cell_counts(cells: np.ndarray, total: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Rows per cell (each row counting its ``weights``, else 1), every one of the ``total``
    cells present (zeros included)."""
    kept = cells >= 0
    counted = None if weights is None else weights[kept]
    return np.bincount(cells[kept], weights=counted, minlength=total).astype("int64")


def label_codes(labels: pd.Series, order: list[str]) -> np.ndarray:
    """Each label's position in ``order``; -1 for a label (or NA) not in it."""
    codes, uniques = pd.factorize(labels)  # the few distinct labels, then a lookup per row
    where = pd.Index(order, dtype=object).get_indexer(np.asarray(uniques, dtype=object))
    return np.append(where, -1)[codes]  # code -1 (NA) picks the appended -1


def labelled(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """A name/queue/worker column as codes into its distinct labels; missing is ``(unknown)``."""
    codes, labels = pd.factorize(column.fillna(UNKNOWN).astype(str))
    return codes, labels


def tiled(labels: list[str], times: int) -> pd.api.extensions.ExtensionArray:
    """The labels repeated for every bucket, as the ``str`` column a grouped index gives."""
    return pd.array(np.tile(np.asarray(labels, dtype=object), times), dtype="str")


def time_values(column: pd.Series) -> np.ndarray:
    """A UTC time column as ``datetime64[us]`` values (NaT kept), to compute on in numpy."""
    return column.to_numpy(dtype="datetime64[us]")


def time_value(moment: datetime) -> np.datetime64:
    """One aware moment as a UTC ``datetime64[us]`` value, to compare with ``time_values``."""
    return (
        pd.Timestamp(moment)
        .tz_convert("UTC")
        .tz_localize(None)
        .to_datetime64()
        .astype("datetime64[us]")
    )


def first_known(*candidates: np.ndarray) -> np.ndarray:
    """Elementwise the first candidate time that is not NaT (a new array)."""
    out = candidates[0].copy()
    for more in candidates[1:]:
        gap = np.isnat(out)
        out[gap] = more[gap]
    return out

"""Tables leave the console as CSV and JSON: one function each, so every download is made the
same way, and both from the same frame.

Times are written as ISO 8601 with their UTC offset, so a row is unambiguous whichever timezone
the table was shown in. Text cells that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading ``'``, so a task argument
cannot become a formula; numbers, and text that is just a number, stay as they are. The
console's own secrets are scrubbed from every text cell (``redact.SCRUBBER``).

JSON (``json_bytes``) holds the same rows as records (``{column: value}`` in the frame's column
order), scrubbed the same way: times are ISO 8601 strings with their offset (a naive time is UTC,
the console's own), a missing value is ``null`` (never ``NaN``), numbers stay numbers and lists
stay arrays. Text is not given the CSV's leading ``'``: a JSON reader runs no formulas, and the
value it gets must be the one the table shows.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from lib.redact import SCRUBBER

__all__ = ["FORMULA_STARTS", "csv_bytes", "json_bytes", "json_records", "json_value", "neutralise"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise(value: object) -> object:
    """``value`` made inert for spreadsheets when it is formula-like text."""
    formula = isinstance(value, str) and value.startswith(FORMULA_STARTS)
    return "'" + value if formula and not _PLAIN_NUMBER.match(value) else value


def csv_bytes(frame: pd.DataFrame, scrubber: Callable[[object], object] = SCRUBBER) -> bytes:
    """``frame`` as UTF-8 CSV, without the index, datetimes in ISO 8601 with offset."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].map(lambda t: t.isoformat() if pd.notna(t) else "")
        elif not pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(
            out[col]
        ):
            out[col] = out[col].map(lambda v: neutralise(scrubber(v)))
    out.columns = [neutralise(scrubber(str(c))) for c in out.columns]
    return out.to_csv(index=False).encode("utf-8")


def json_bytes(frame: pd.DataFrame, scrubber: Callable[[object], object] = SCRUBBER) -> bytes:
    """``frame`` as UTF-8 JSON: a list of records, one per row, in the frame's order."""
    records = json_records(frame, scrubber)
    return json.dumps(records, ensure_ascii=False, allow_nan=False).encode("utf-8")


def json_records(
    frame: pd.DataFrame, scrubber: Callable[[object], object] = SCRUBBER
) -> list[dict[str, object]]:
    """``frame``'s rows as JSON-ready dicts (``json_value`` for each cell)."""
    columns = [str(scrubber(str(c))) for c in frame.columns]
    if not columns:
        return [{} for _ in range(len(frame))]
    values = [_json_column(frame.iloc[:, i], scrubber) for i in range(frame.shape[1])]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _json_column(column: pd.Series, scrubber: Callable[[object], object]) -> list:
    """One column's cells as JSON values; the common dtypes vectorised, the rest cell by cell."""
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column):
        return [json_value(t, scrubber) for t in column]
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        if column.hasnans or not isinstance(column.dtype, np.dtype):  # NaN, pd.NA → null
            return [json_value(v, scrubber) for v in column.astype(object)]
        return column.tolist()
    return [json_value(v, scrubber) for v in column]


def json_value(value: object, scrubber: Callable[[object], object] = SCRUBBER) -> object:
    """``value`` as a JSON-ready value: text scrubbed, times ISO 8601 with offset, missing null."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, str):
        return scrubber(value)
    if isinstance(value, bool | int):
        return bool(value) if isinstance(value, bool) else int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
        return (stamp if stamp.tzinfo else stamp.tz_localize("UTC")).isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, date):
        return value.isoformat()
    return _json_container(value, scrubber)


def _json_container(value: object, scrubber: Callable[[object], object]) -> object:
    if isinstance(value, Mapping):
        return {str(scrubber(str(k))): json_value(v, scrubber) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v, scrubber) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_value(value.tolist(), scrubber)
    return scrubber(str(value))  # anything else as the text a CSV would hold

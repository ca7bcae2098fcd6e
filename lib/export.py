"""Tables leave the console as CSV: one function, so every download is made the same way.

Times are written as ISO 8601 with their UTC offset, so a row is unambiguous whichever timezone
the table was shown in. Text cells that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading ``'``, so a task argument
cannot become a formula; numbers, and text that is just a number, stay as they are. The
console's own secrets are scrubbed from every text cell (``redact.SCRUBBER``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from lib.redact import SCRUBBER

__all__ = ["FORMULA_STARTS", "csv_bytes", "neutralise"]

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

"""Tables leave the console as CSV: one function, so every download is made the same way.

Times are written as ISO 8601 with their UTC offset, so a spreadsheet row is unambiguous
whichever timezone the table was shown in.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["csv_bytes"]


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV, without the index, datetimes in ISO 8601 with offset."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].map(lambda t: t.isoformat() if pd.notna(t) else "")
    return out.to_csv(index=False).encode("utf-8")

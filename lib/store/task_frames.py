"""Stored task rows → the tasks frame, column by column: what every read of stored tasks returns.

A query's rows come back as the driver's plain tuples and each column is handed once to
``lib.frames.tasks.columns_frame`` (Arrow reads a column of strings or floats in C), never
as one dict per row: at 100k rows the per-row payloads and mappings cost more than the read.

Invariants:

- The frame is exactly what ``lib.frames.tasks_frame`` builds from the rows' payloads
  (``lib.store.rows.payload_of``): ``TASK_COLUMNS`` with its dtypes, in the rows' order, then
  ``in_flower`` (bool). So ``state`` is derived from the stored ``flower_state`` and
  ``revoked`` by the same rule, and an empty ``queue`` or ``children`` is missing, as there.
- A column the query leaves out is missing (NA/NaN/NaT) throughout; ``in_flower`` must be
  selected. A reader leaves out only what its consumers never read.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Connection, Select

from lib.frames.tasks import SOURCE_COLUMNS, columns_frame

__all__ = ["stored_frame", "tasks_frame_of"]

#: Stored text where ``''`` reads as missing: a payload's empty routing key or children list.
EMPTY_IS_MISSING = ("queue", "children")


def tasks_frame_of(conn: Connection, *queries: Select) -> pd.DataFrame:
    """The tasks frame of the rows ``queries`` select (each the same columns), in their order."""
    if not queries:
        raise ValueError("tasks_frame_of needs a query")
    names: list[str] = []
    rows: list = []
    for query in queries:
        result = conn.execute(query)
        names = list(result.keys())
        # The driver's own tuples: SQLAlchemy's rows cost more than the fetch, and every stored
        # column comes back from both drivers as the Python type the frame reads (SQLite's
        # booleans as 0/1, which ``stored_frame`` reads as such).
        rows.extend(result.cursor.fetchall())
        result.close()
    return stored_frame(names, rows)


def stored_frame(names: Sequence[str], rows: Sequence[Sequence]) -> pd.DataFrame:
    """The tasks frame (+ ``in_flower``) of stored rows: tuples of the ``names`` columns."""
    if "in_flower" not in names:
        raise ValueError("a stored tasks frame needs the in_flower column")
    if rows:
        by_name = dict(zip(names, zip(*rows, strict=True), strict=True))
    else:
        by_name = {name: () for name in names}
    source: dict[str, Sequence] = {}
    for name, values in by_name.items():
        if name == "flower_state":
            source["state"] = values  # the frame derives the effective state from Flower's
        elif name in EMPTY_IS_MISSING:
            source[name] = [value or None for value in values]
        elif name in SOURCE_COLUMNS and name != "state":
            source[name] = values
    frame = columns_frame(source, len(rows))  # TASK_COLUMNS in order
    frame["in_flower"] = pd.array([bool(v) for v in by_name["in_flower"]], dtype="bool")
    return frame

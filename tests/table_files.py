"""A table's two downloads, read back and compared: the CSV and the JSON must be one table.

``differences`` says, in words, every way a JSON download (a list of records) differs from its
CSV (a header and rows of text). They are the same table when both have the same columns in
the same order, the same number of rows, and in each cell:

- JSON ``null`` ↔ an empty CSV cell;
- a JSON number ↔ CSV text that reads as exactly that number; ``true``/``false`` ↔ ``True``/``False``;
- a time (ISO 8601 with an offset in both files) ↔ the same instant;
- JSON text ↔ the same CSV text, except that formula-like text (starting with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return, and not just a number such as ``-2``) must have a
  leading ``'`` in the CSV: the CSV's guard against spreadsheet formulas is the only difference
  in text, and it is required. Column names follow the same rule.

The rules are written here independently of ``lib.export``: the test must not borrow the
definition it checks.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path

__all__ = ["CsvTable", "csv_table", "differences", "read_csv", "read_json", "time_of"]

#: What a spreadsheet runs as a formula at the start of a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Text that is just a number: a spreadsheet reads it as that number, no formula.
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Enough differences to see a pattern without drowning the failure report.
MAX_SAID = 20

CsvTable = tuple[list[str], list[list[str]]]


def csv_table(text: str) -> CsvTable:
    """CSV text as (header, rows), every cell text as written."""
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return header, rows


def read_csv(path: Path) -> CsvTable:
    """A downloaded CSV file as (header, rows)."""
    return csv_table(path.read_text(encoding="utf-8"))


def read_json(path: Path) -> list[dict[str, object]]:
    """A JSON download: it must be a list of records (objects)."""
    records = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(records, list), f"{path.name}: not a list of records"
    assert all(isinstance(r, dict) for r in records), f"{path.name}: a row is not an object"
    return records


def time_of(text: str) -> datetime | None:
    """``text`` as an instant when it is an ISO 8601 time with an offset; else None."""
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def differences(table: CsvTable, records: list[dict[str, object]]) -> list[str]:
    """Every way ``records`` (the JSON) is not ``table`` (the CSV), in words; empty when equal."""
    header, rows = table
    said: list[str] = []
    if not records:
        return [] if not rows else [f"the JSON has no rows, the CSV {len(rows)}"]
    columns = list(records[0])
    said += [
        f"JSON row {i} has columns {list(r)}" for i, r in enumerate(records) if list(r) != columns
    ]
    if len(header) != len(columns) or not all(map(_same_text, header, columns)):
        said.append(f"columns differ: CSV {header} vs JSON {columns}")
    if len(rows) != len(records):
        said.append(f"row counts differ: CSV {len(rows)} vs JSON {len(records)}")
    if said:
        return said
    for i, (row, record) in enumerate(zip(rows, records, strict=True)):
        if len(row) != len(columns):
            said.append(f"CSV row {i} has {len(row)} cells for {len(columns)} columns")
            continue
        for column, cell in zip(columns, row, strict=True):
            if not same_cell(cell, value := record[column]):
                why = " (formula-like: the CSV lacks its leading ')" if cell == value else ""
                said.append(f"row {i}, {column}: CSV {cell!r} vs JSON {value!r}{why}")
    return said[:MAX_SAID] + ([f"… {len(said) - MAX_SAID} more"] if len(said) > MAX_SAID else [])


def same_cell(cell: str, value: object) -> bool:
    """Whether the CSV ``cell`` says what the JSON ``value`` says (rules: module docstring)."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == str(value)
    if isinstance(value, int | float):
        return _number(cell) == value
    if isinstance(value, str):
        if _same_text(cell, value):
            return True
        csv_time, json_time = time_of(cell), time_of(value)
        return csv_time is not None and json_time is not None and csv_time == json_time
    return False  # an array or object is no table cell


def _same_text(cell: str, value: str) -> bool:
    formula = value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value)
    return cell == ("'" + value if formula else value)


def _number(cell: str) -> int | float | None:
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            continue
    return None

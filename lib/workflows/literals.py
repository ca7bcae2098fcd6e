"""Values read out of a task's fields: Flower's repr strings, backend progress meta, and ids.

Flower reports a task's ``args``, ``kwargs`` and ``result`` as ``repr`` strings; the result
backend holds a running task's progress meta. This module turns them into values the views
use: literals, dicts, numbers, and each task's id from a view's id sources
(``lib.workflows.config.Source``). Pure: no I/O.

Invariants:

* Reprs are parsed with ``ast.literal_eval`` (never ``eval``); text that is not a literal
  (or is over 100,000 characters) parses as None. A repr Celery cut at 1024 characters is
  scanned for the key instead.
* No id is ever made up: a task whose sources are all empty has an NA id. An id is a
  non-empty scalar (string or number) as text; booleans, None and containers are no id.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping

import pandas as pd

from lib.workflows.config import Source

__all__ = [
    "MAX_META_READS",
    "extract_ids",
    "literal_dicts",
    "numbers_of",
    "parse_literal",
    "progress_meta",
    "regex_id",
]

#: Backend reads per refresh, so a cluster with thousands of running tasks stays responsive.
MAX_META_READS = 200
#: Celery's repr truncation marker: such a repr no longer parses as a literal.
TRUNCATED = "..."


def parse_literal(text: object) -> object:
    """A repr string's Python literal, or None when it is not one (or Celery truncated it)."""
    if not isinstance(text, str) or not text or len(text) > 100_000:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


#: A scalar literal as it appears inside a repr: a quoted string, a number or a boolean.
SCALAR = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?[\d.]+(?:[eE][-+]?\d+)?|True|False"""


def _scan(text: str, key: str) -> object:
    """``key``'s scalar in a repr that no longer parses (Celery cut it at 1024 characters).

    ``key`` is a dict key, or ``0`` for the first positional argument of an args tuple.
    """
    if key == "0" and text.startswith("("):
        found = re.match(rf"""\(\s*({SCALAR})\s*[,)]""", text)
    else:
        found = re.search(rf"""['"]{re.escape(key)}['"]\s*:\s*({SCALAR})""", text)
    return parse_literal(found.group(1)) if found else None


def _lookup(text: object, kind: str, key: str) -> object:
    parsed = parse_literal(text)
    if kind == "arg":
        if isinstance(parsed, tuple | list):
            return parsed[int(key)] if int(key) < len(parsed) else None
        return _scan(text, key) if isinstance(text, str) and key == "0" else None
    if isinstance(parsed, Mapping):
        return parsed.get(key)
    return _scan(text, key) if isinstance(text, str) and TRUNCATED in text else None


def _scalar(value: object) -> str | None:
    if isinstance(value, bool) or value is None or not isinstance(value, str | int | float):
        return None
    return str(value) if str(value) else None


def _from_source(frame: pd.DataFrame, source: Source, metas: Mapping[str, Mapping]) -> pd.Series:
    if source.kind in ("root", "uuid"):
        return frame["root_id" if source.kind == "root" else "uuid"].astype("string")
    if source.kind == "meta":
        values = [
            _scalar((progress_meta(metas.get(u)) or {}).get(source.key)) for u in frame["uuid"]
        ]
        return pd.Series(values, index=frame.index, dtype="string")
    column = {"arg": "args", "kwarg": "kwargs", "result": "result"}.get(source.kind, source.kind)
    values = frame["name" if source.kind == "name" else column]
    if source.kind == "name" and source.regex is None:
        return values.astype("string")
    if source.regex is not None:
        found = {v: regex_id(source.regex, v) for v in values.dropna().unique()}
    else:
        if source.kind != "arg":  # a repr without the quoted key cannot hold it: skip parsing
            key = re.escape(source.key)
            quoted = values.str.contains(f"['\"]{key}['\"]", regex=True)
            values = values.where(quoted.fillna(False).astype(bool))
        found = {v: _scalar(_lookup(v, source.kind, source.key)) for v in values.dropna().unique()}
    return values.map(found).astype("string")


def regex_id(regex: re.Pattern[str], value: str) -> str | None:
    """The regex's first group (else its whole match) in ``value``; None when absent or empty."""
    hit = regex.search(value)
    if hit is None:
        return None
    return (hit.group(1) if regex.groups else hit.group(0)) or None


def progress_meta(meta: Mapping | None) -> Mapping | None:
    """The custom-state meta dict of a backend record (its ``result`` while running)."""
    result = meta.get("result") if isinstance(meta, Mapping) else None
    return result if isinstance(result, Mapping) else None


def extract_ids(
    frame: pd.DataFrame, sources: Iterable[Source], metas: Mapping[str, Mapping] | None = None
) -> pd.Series:
    """Each task's id from the first of ``sources`` that has one (NA when none does)."""
    out = pd.Series(pd.NA, index=frame.index, dtype="string")
    for source in sources:
        missing = out.isna()
        if not missing.any():
            break
        out[missing] = _from_source(frame[missing], source, metas or {})
    return out


def literal_dicts(values: pd.Series) -> list[Mapping]:
    """Each repr parsed as a dict ({} when missing or not a dict), each distinct one once."""
    parsed = {v: parse_literal(v) for v in values.dropna().unique()}
    return [
        p if isinstance(p := parsed.get(v) if isinstance(v, str) else None, Mapping) else {}
        for v in values
    ]


def numbers_of(dicts: Iterable[Mapping], key: str) -> pd.Series:
    """``key`` of each dict as a number (NaN when absent or not numeric)."""
    return pd.to_numeric(pd.Series([d.get(key) for d in dicts], dtype=object), errors="coerce")

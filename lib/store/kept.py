"""Kept state: small named JSON values a process keeps in the store between runs.

The collector keeps its sync cursor and health here, so a restarted collector resumes where
it stopped instead of re-reading all of Flower. A value is one JSON object per key; writing a
key replaces its value whole. Nothing secret is kept here (callers pass scrubbed text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import Connection, delete, insert, select

from lib.store.schema import KEPT_STATE, TASKS

__all__ = ["flower_uuids", "get_kept", "put_kept", "write_probe"]


def get_kept(conn: Connection, key: str) -> dict | None:
    """The object kept under ``key``, or None (never kept, or not a JSON object)."""
    found = conn.execute(select(KEPT_STATE.c.value).where(KEPT_STATE.c.key == key)).scalar()
    if found is None:
        return None
    try:
        value = json.loads(found)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def put_kept(conn: Connection, key: str, value: Mapping, now: float) -> None:
    """Keep ``value`` (JSON-able) under ``key``, replacing what was there."""
    conn.execute(delete(KEPT_STATE).where(KEPT_STATE.c.key == key))
    conn.execute(insert(KEPT_STATE).values(key=key, value=json.dumps(dict(value)), updated_at=now))


def write_probe(conn: Connection, key: str, now: float) -> None:
    """Write a row under ``key`` and delete it again: inside one transaction this proves the
    store takes writes and leaves no trace (``./ops doctor``)."""
    put_kept(conn, key, {"probe": True}, now)
    conn.execute(delete(KEPT_STATE).where(KEPT_STATE.c.key == key))


def flower_uuids(conn: Connection) -> set[str]:
    """The ids of the stored tasks Flower held at the last look (``in_flower``)."""
    return set(conn.execute(select(TASKS.c.uuid).where(TASKS.c.in_flower)).scalars())

"""Recorded real Flower 2.2 payloads (see tests/fixtures/flower/README.md for how they were made)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "flower"


def recorded(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def recorded_tasks() -> list[dict]:
    """``/api/tasks`` as the client returns it: Flower's order, each with its uuid."""
    return [{**task, "uuid": uuid} for uuid, task in recorded("tasks").items()]


def special(case: str) -> str:
    """The uuid of a named special case (specials.json, written by demo/record_fixtures.py)."""
    return recorded("specials")[case]


def retried_own_parent() -> str:
    """A task Celery retried: Flower lists it as its own parent (reference §6)."""
    return next(t["uuid"] for t in recorded_tasks() if t.get("parent_id") == t["uuid"])


def truncated_args() -> str:
    """A task whose args repr Celery cut at 1024 characters with ``...``."""
    return next(t["uuid"] for t in recorded_tasks() if len(t.get("args") or "") > 1024)

"""Recorded real Flower 2.2 payloads (see tests/fixtures/flower/README.md for how they were made)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "flower"
#: Special cases in tasks.json, named by what makes them special.
RETRIED_OWN_PARENT = "f0c7776b-7a23-47d2-b58d-fc3391f18331"
TRUNCATED_ARGS = "379cb048-f26f-4879-bbd9-2d8bf4b9121b"


def recorded(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def recorded_tasks() -> list[dict]:
    """``/api/tasks`` as the client returns it: Flower's order, each with its uuid."""
    return [{**task, "uuid": uuid} for uuid, task in recorded("tasks").items()]

"""Payload factories for the workflow views: Flower task objects, views, progress records, chains.

Shaped like Flower's task objects (reference §6); times are seconds after ``T0``, and ``NOW``
is ``T0 + 100``. ``frame`` turns payloads into the tasks frame every view reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from lib import frames
from lib.workflows.config import load_workflows, parse_workflows

__all__ = [
    "ETL",
    "HOUR_AGO",
    "NOW",
    "T0",
    "TEAMS",
    "TRAINING",
    "chain",
    "frame",
    "progress_meta",
    "progress_record",
    "task",
    "view",
]

T0 = 1_800_000_000.0
NOW = datetime.fromtimestamp(T0 + 100, UTC)
HOUR_AGO = NOW - timedelta(hours=1)
#: The shipped default views, in file order.
TRAINING, ETL, TEAMS = load_workflows().views


def task(uuid: str, name: str | None = "demo.add", state: str = "SUCCESS", at: float = 0.0, **kw):
    """A Flower task object: sent at T0+at, started 0.5 s later, finished 1 s after that."""
    payload = {
        "uuid": uuid,
        "name": name,
        "state": state,
        "sent": T0 + at,
        "received": T0 + at + 0.1,
        "started": T0 + at + 0.5 if state not in ("PENDING", "RECEIVED") else None,
        "timestamp": T0 + at + 1.5,
        "root_id": uuid,
        "parent_id": None,
        "children": [],
        "worker": "w1@host",
        "routing_key": "default",
        "args": "()",
        "kwargs": "{}",
        "result": None,
        "revoked": None,
    }
    if state == "SUCCESS":
        payload.update(succeeded=T0 + at + 1.5, runtime=1.0, result="None")
    if state == "FAILURE":
        payload.update(failed=T0 + at + 1.5, exception="ValueError('x')")
    payload.update(kw)
    return payload


def frame(*payloads) -> pd.DataFrame:
    return frames.tasks_frame(payloads)


def view(text: str):
    config = parse_workflows(text)
    assert config.problems == (), config.problems
    return config.views[0]


def progress_meta(progress=25.0, **extra):
    return {
        "status": "PROGRESS",
        "result": {"progress": progress, "loss": 0.5, "accuracy": 0.8, "gpu": "gpu1", **extra},
    }


def progress_record(progress=40.0, loss=0.7, accuracy=0.6):
    return {
        "status": "PROGRESS",
        "result": {"progress": progress, "loss": loss, "accuracy": accuracy},
    }


def chain(pid: str, states=("SUCCESS", "SUCCESS", "SUCCESS"), at: float = 0.0, kwarg=True):
    """extract → transform → load sharing a root; steps after a failure are absent (never sent)."""
    out, parent = [], None
    for i, (stage, state) in enumerate(zip(("extract", "transform", "load"), states, strict=False)):
        uuid = f"{pid}-{stage}"
        result = f"{{'pipeline_id': '{pid}', 'records': {1000 - i * 10}, 'dropped': {i}}}"
        out.append(
            task(uuid, f"demo.{stage}", state, at=at + 2 * i, root_id=f"{pid}-extract", parent_id=parent,
                 kwargs=f"{{'pipeline_id': '{pid}'}}" if kwarg or i == 0 else "{}",
                 result=result if state == "SUCCESS" else None)
        )  # fmt: skip
        parent = uuid
        if state != "SUCCESS":
            break
    return out

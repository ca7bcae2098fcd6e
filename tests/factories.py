"""Payload factories: Flower task objects as /api/tasks returns them, times as epoch floats."""

from __future__ import annotations


def task_payload(
    uuid: str, state: str | None = "SUCCESS", *, at: float, runtime: float = 1.0, **kw
) -> dict:
    """A task finishing (or last seen) at ``at``: started 1 s, received 1.5 s, sent 2 s before."""
    base = {
        "uuid": uuid,
        "name": "demo.add",
        "state": state,
        "sent": at - 2.0,
        "received": at - 1.5,
        "started": at - 1.0,
        "timestamp": at,
        "worker": "w1@host",
        "routing_key": "default",
        "args": "(2, 3)",
        "kwargs": "{}",
        "retries": 0,
    }
    if state == "SUCCESS":
        base.update(succeeded=at, runtime=runtime, result="5")
    if state == "FAILURE":
        base.update(failed=at, exception="ValueError('bad')", traceback="Traceback ...")
    if state == "REVOKED":
        base.update(revoked=at)
    base.update(kw)
    return base

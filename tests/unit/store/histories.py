"""Payload histories: what Flower's /api/tasks shows of a task at each of its events."""

from __future__ import annotations

SECRET_URL = "https://u:S3CRET@h"
TOKEN = "tok-9f8e7d6c5b"


def retried_history(uuid: str, at: float, name: str = "demo.fetch") -> list[dict]:
    """RECEIVED → STARTED → RETRY (a secret URL) → STARTED → FAILURE (a token), cumulative."""
    base = {
        "uuid": uuid,
        "name": name,
        "worker": "w1@host",
        "routing_key": "default",
        "args": "(1,)",
        "kwargs": "{}",
        "retries": 0,
        "sent": at - 1.0,
    }
    received = {**base, "state": "RECEIVED", "received": at, "timestamp": at}
    started = {**received, "state": "STARTED", "started": at + 1, "timestamp": at + 1}
    retry = {
        **started,
        "state": "RETRY",
        "retried": at + 2,
        "timestamp": at + 2,
        "exception": f"Retry in 5s: ConnectionError('{SECRET_URL}/api refused')",
    }
    again = {**retry, "state": "STARTED", "started": at + 8, "timestamp": at + 8, "retries": 1}
    failure = {
        **again,
        "state": "FAILURE",
        "failed": at + 9,
        "timestamp": at + 9,
        "exception": f"PermissionError('rejected token={TOKEN}')",
        "traceback": f"Traceback (most recent call last):\n  fetch('{SECRET_URL}')\nPermissionError",
    }
    return [received, started, retry, again, failure]


def success_history(uuid: str, at: float, runtime: float, name: str = "demo.add") -> list[dict]:
    """PENDING-less RECEIVED → STARTED → SUCCESS, the last two with one timestamp (a tie)."""
    base = {"uuid": uuid, "name": name, "worker": "w2@host", "routing_key": "fast", "retries": 0}
    received = {**base, "state": "RECEIVED", "sent": at - 0.5, "received": at, "timestamp": at}
    started = {**received, "state": "STARTED", "started": at + 0.25, "timestamp": at + runtime}
    success = {
        **started,
        "state": "SUCCESS",
        "succeeded": at + 0.25 + runtime,
        "runtime": runtime,
        "result": "5",
        "timestamp": at + runtime,
    }
    return [received, started, success]

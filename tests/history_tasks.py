"""Many tasks spread over days, for the analytics-over-history tests (payloads as Flower sends)."""

from __future__ import annotations

import random

from tests.factories import task_payload

DAY = 86400.0
#: The analytics-over-history tests' "now": not on a whole minute (a range's start is not either).
HISTORY_NOW = 1_780_000_123.4
NAMES = [f"demo.task{i}" for i in range(7)]  # more than the top 5: "(other)" is exercised
STATES = ["SUCCESS"] * 14 + ["FAILURE"] * 3 + ["REVOKED", "STARTED", "RECEIVED"]


def spread_tasks(now: float, days: float, seed: int = 12) -> list[dict]:
    """A task every 4 minutes or so over ``days`` days before ``now`` (the newest 5 s before),
    every state, seven names, four queues (one missing), three workers."""
    rng = random.Random(seed)
    out = []
    at = now - days * DAY
    while at < now - 5:
        at += rng.uniform(30, 450)
        state = rng.choice(STATES)
        extra = {"name": rng.choice(NAMES), "worker": rng.choice(["w1@h", "w2@h", "w3@h"])}
        extra["routing_key"] = rng.choice(["default", "fast", "slow", None])
        if state == "FAILURE":
            extra["exception"] = rng.choice(["ValueError('bad 12')", "KeyError('k9')"])
        if state == "SUCCESS":
            extra["runtime"] = rng.lognormvariate(0, 1.5)
        out.append(task_payload(f"t{len(out)}", state, at=min(at, now - 5), **extra))
    return out

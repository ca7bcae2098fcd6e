"""Helpers for the history rules' tests: a rule of a kind, and the context one poll gives it."""

from __future__ import annotations

from types import MappingProxyType

from lib.alerts import AlertContext, Rule
from lib.collector.health import FLOWER, CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.store import Store
from tests.history_tasks import HISTORY_NOW

NOW = HISTORY_NOW


def rule(kind: str, severity: str = "warning", **fields) -> Rule:
    """A rule named after its kind; ``options`` as a plain dict."""
    options = MappingProxyType(dict(fields.pop("options", {})))
    return Rule(
        name=fields.pop("name", kind), kind=kind, severity=severity, options=options, **fields
    )


def context(
    store: Store,
    now: float = NOW,
    *,
    data_until: float | None = None,
    flower_down: bool = False,
    never_synced: bool = False,
    memory: dict | None = None,
    **fields,
) -> AlertContext:
    """One poll's context at ``now``: Flower's tasks synced at ``data_until`` (default ``now``);
    ``flower_down``: the last poll found Flower not answering; ``never_synced``: no task
    reached the store yet."""
    health = CollectorHealth(
        last_attempt=now,
        data_until=None if never_synced else now if data_until is None else data_until,
        last_error="Flower did not answer in 10 s." if flower_down else None,
        source=FLOWER if flower_down else None,
        no_answer=flower_down,
    )
    return AlertContext(
        now,
        "default",
        store,
        CollectorSnapshot(),
        health,
        {} if memory is None else memory,
        **fields,
    )

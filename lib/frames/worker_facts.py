"""What a worker's inspect data says about it: pool, prefetch, queues, task types and limits.

``worker_facts`` reads Flower's inspect cache of one worker (``/api/workers``: ``stats``,
``active_queues``, ``registered``, ``conf``, ``timestamp``) into a ``WorkerFacts``, the part a
worker's detail shows; ``to_kept``/``from_kept`` carry it through the store's kept state, so a
console reading an external collector (``lib.collector.stored``) has the same facts.

Invariants: only the fields below are read; of ``conf`` (which holds the broker and backend
URLs, credentials included) only the limit keys in ``LIMIT_KEYS`` and the prefetch multiplier,
and every kept text has the console's secrets scrubbed out. A value of another shape than
Celery sends is left out, never invented. Limits are what the inspect data says: the worker's
configuration (``task_annotations``, ``task_time_limit``...), its pool's timeouts, and limits
listed with a registered name (``name [rate_limit=10/m]``); a limit set only in a task's
decorator, or changed at run time, is not in what Flower keeps (Flower asks ``registered``
without task info items).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace

from lib.redact import scrub

__all__ = ["LIMIT_KEYS", "TaskLimits", "WorkerFacts", "facts_by_worker", "worker_facts"]

#: The limits a task type can have, as Celery names them on a task and in its annotations.
LIMITS = ("rate_limit", "time_limit", "soft_time_limit")
#: The configuration keys of worker-wide limits: the only ``conf`` keys read besides prefetch.
LIMIT_KEYS = {
    "rate_limit": "task_default_rate_limit",
    "time_limit": "task_time_limit",
    "soft_time_limit": "task_soft_time_limit",
}
#: ``registered`` with task info items: ``demo.add [rate_limit=10/m time_limit=30]``.
_REGISTERED = re.compile(r"^(?P<name>\S+)(?:\s+\[(?P<items>[^\]]*)\])?$")


@dataclass(frozen=True)
class TaskLimits:
    """One task type's limits on a worker (text as Celery says them; None: no limit)."""

    task: str
    rate_limit: str | None = None
    time_limit: str | None = None
    soft_time_limit: str | None = None


@dataclass(frozen=True)
class WorkerFacts:
    """One worker's inspect facts. ``inspected_at``: when Flower's cache got them (epoch s)."""

    worker: str
    inspected_at: float | None = None
    pool: str | None = None  # the implementation's short name: prefork, threads, solo...
    concurrency: int | None = None
    autoscale: str | None = None  # "min–max" with --autoscale
    prefetch_count: int | None = None
    prefetch_multiplier: int | None = None
    pid: int | None = None
    uptime: float | None = None  # seconds, as of ``inspected_at``
    queues: tuple[str, ...] = ()
    registered: tuple[str, ...] = ()
    limits: tuple[TaskLimits, ...] = field(default=())

    @property
    def started_at(self) -> float | None:
        """When the worker's current process started (epoch s), from its uptime."""
        if self.inspected_at is None or self.uptime is None:
            return None
        return self.inspected_at - self.uptime

    def to_kept(self) -> dict:
        """A JSON-able dict (``from_kept`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_kept(cls, kept: object) -> WorkerFacts | None:
        """Facts from ``to_kept``'s dict; None when it is not one (an older or odd value)."""
        if not isinstance(kept, Mapping) or not isinstance(kept.get("worker"), str):
            return None
        limits = tuple(
            TaskLimits(**{k: _text(item.get(k)) for k in ("task", *LIMITS)})
            for item in _items(kept.get("limits"))
            if isinstance(item, Mapping) and isinstance(item.get("task"), str)
        )
        return cls(
            worker=kept["worker"],
            inspected_at=_number(kept.get("inspected_at")),
            pool=_text(kept.get("pool")),
            concurrency=_integer(kept.get("concurrency")),
            autoscale=_text(kept.get("autoscale")),
            prefetch_count=_integer(kept.get("prefetch_count")),
            prefetch_multiplier=_integer(kept.get("prefetch_multiplier")),
            pid=_integer(kept.get("pid")),
            uptime=_number(kept.get("uptime")),
            queues=_texts(kept.get("queues")),
            registered=_texts(kept.get("registered")),
            limits=limits,
        )


def facts_by_worker(info: Mapping, secrets: Iterable[str] = ()) -> dict[str, WorkerFacts]:
    """``worker_facts`` of every worker in Flower's inspect cache (``/api/workers``)."""
    return {
        str(name): worker_facts(str(name), one, secrets)
        for name, one in info.items()
        if isinstance(one, Mapping)
    }


def worker_facts(worker: str, info: Mapping, secrets: Iterable[str] = ()) -> WorkerFacts:
    """One worker's facts from its inspect info, every text scrubbed of ``secrets``."""
    secrets = tuple(secrets)
    stats = _mapping(info.get("stats"))
    pool = _mapping(stats.get("pool"))
    scaler = _mapping(stats.get("autoscaler"))  # with --autoscale the pool's size is stale
    conf = _mapping(info.get("conf"))
    registered = [_REGISTERED.match(t.strip()) for t in _items(info.get("registered")) if _t(t)]
    names = tuple(sorted({m["name"] for m in registered if m}))
    implementation = _text(pool.get("implementation")) or ""
    queues = [
        q.get("name") if isinstance(q, Mapping) else None for q in _items(info.get("active_queues"))
    ]
    facts = WorkerFacts(
        worker=worker,
        inspected_at=_number(info.get("timestamp")),
        pool=_pool_name(implementation),
        concurrency=_integer(scaler.get("current", pool.get("max-concurrency"))),
        autoscale=f"{scaler['min']}–{scaler['max']}" if {"min", "max"} <= set(scaler) else None,
        prefetch_count=_integer(stats.get("prefetch_count")),
        prefetch_multiplier=_integer(conf.get("worker_prefetch_multiplier")),
        pid=_integer(stats.get("pid")),
        uptime=_number(stats.get("uptime")),
        queues=tuple(sorted({q for q in queues if _t(q)})),
        registered=names,
        limits=_limits(names, [m for m in registered if m], conf, pool),
    )
    return _scrubbed(facts, secrets) if secrets else facts


def _limits(
    names: tuple[str, ...], listed: list[re.Match], conf: Mapping, pool: Mapping
) -> tuple[TaskLimits, ...]:
    """Each registered type's limits, the most specific first: listed with its registered
    name, then its ``task_annotations`` entry, then ``"*"``'s, then the worker-wide ones (the
    pool's timeouts, which the worker took from ``task_*time_limit`` or its options)."""
    timeouts = _items(pool.get("timeouts"))  # Celery's order: (soft, hard)
    wide = {key: conf.get(setting) for key, setting in LIMIT_KEYS.items()}
    if len(timeouts) == 2:
        wide["soft_time_limit"] = _limit(timeouts[0]) or _limit(wide["soft_time_limit"])
        wide["time_limit"] = _limit(timeouts[1]) or _limit(wide["time_limit"])
    annotations = _annotations(conf.get("task_annotations"))
    items = {m["name"]: _info_items(m["items"] or "") for m in listed}
    found = []
    for name in names:
        layers = (items.get(name, {}), annotations.get(name, {}), annotations.get("*", {}), wide)
        limits = {
            k: next(filter(None, (_limit(layer.get(k)) for layer in layers)), None) for k in LIMITS
        }
        if any(limits.values()):
            found.append(TaskLimits(name, **limits))
    return tuple(found)


def _annotations(value: object) -> dict[str, Mapping]:
    """``task_annotations`` as task name → its mapping (a dict, or a list of dicts, merged in
    order as Celery applies them; a class or other value is not readable here)."""
    merged: dict[str, dict] = {}
    for layer in _items(value) if isinstance(value, list | tuple) else [value]:
        for name, limits in _mapping(layer).items():
            if isinstance(limits, Mapping):
                merged.setdefault(str(name), {}).update(limits)
    return merged


def _info_items(text: str) -> dict[str, str]:
    """``rate_limit=10/m time_limit=30`` → its pairs."""
    pairs = (part.split("=", 1) for part in text.split() if "=" in part)
    return {key: value for key, value in pairs}


def _limit(value: object) -> str | None:
    """A limit as text; None, 0, "" and "None" (no limit) as None."""
    if value is None or isinstance(value, bool) or value in (0, "", "0", "None"):
        return None
    if isinstance(value, int | float):
        return f"{value:g}"
    return value if isinstance(value, str) else None


def _scrubbed(facts: WorkerFacts, secrets: tuple[str, ...]) -> WorkerFacts:
    """``facts`` with ``secrets`` scrubbed out of every text (names can be anything)."""

    def clean(text: str | None) -> str | None:
        return None if text is None else scrub(text, secrets)

    def clean_limits(limits: TaskLimits) -> TaskLimits:
        return TaskLimits(*(clean(getattr(limits, k)) for k in ("task", *LIMITS)))

    return replace(
        facts,
        worker=clean(facts.worker),
        pool=clean(facts.pool),
        queues=tuple(map(clean, facts.queues)),
        registered=tuple(map(clean, facts.registered)),
        limits=tuple(map(clean_limits, facts.limits)),
    )


def _pool_name(implementation: str) -> str | None:
    """``celery.concurrency.prefork:TaskPool`` → ``prefork`` (Celery's pools are all called
    TaskPool: their module names them); a custom pool class keeps its class name."""
    module, _, cls = implementation.rpartition(":")
    if cls != "TaskPool":
        return cls or None
    short = module.rsplit(".", 1)[-1]
    return "threads" if short == "thread" else short or None


def _mapping(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> list:
    return list(value) if isinstance(value, list | tuple) else []


def _t(value: object) -> bool:
    """Non-empty text."""
    return isinstance(value, str) and bool(value.strip())


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: object) -> tuple[str, ...]:
    return tuple(v for v in _items(value) if isinstance(v, str))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _integer(value: object) -> int | None:
    number = _number(value)
    return None if number is None or number != int(number) else int(number)

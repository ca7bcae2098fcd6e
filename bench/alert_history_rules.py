"""Benchmark: what the history alert rules cost per poll, on a filled SQLite store.

Fills ``--tasks`` (100,000) synthetic tasks over the last 7 days (``bench.million``: 32 names,
5 % failures), adds a minute of worker samples, then times each evaluator of
``lib.alerts`` that reads history (runtime_regression, events_stopped, missed_runs,
new_error), each ``--repeats`` times (best and median printed). new_error's first poll groups
every stored failure; its later polls read only the failures since (the rule's memory), so
both are printed. Prints figures, never asserts; the machine may be shared.

Run from the repo root: ``.venv/bin/python -m bench.alert_history_rules [--tasks 100000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from collections.abc import Callable
from functools import partial

import pandas as pd

from bench.million import WORKERS, filled_sqlite
from lib.alerts.evaluate import EVALUATORS
from lib.alerts.model import AlertContext, Rule
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.store import Store

__all__ = ["main"]

KINDS = ("runtime_regression", "events_stopped", "missed_runs", "new_error")


def _timed(step: Callable[[], int], repeats: int) -> tuple[float, float, int]:
    """Best and median seconds of ``repeats`` runs of ``step``, and what its last run gave."""
    times = timeit.repeat(step, number=1, repeat=repeats)
    return min(times), statistics.median(times), step()


def _context(store: Store, now: float, memory: dict) -> AlertContext:
    health = CollectorHealth(last_attempt=now, data_until=now, last_success=now)
    return AlertContext(now, "default", store, CollectorSnapshot(), health, memory)


def _samples(store: Store, now: float) -> None:
    """Six polls of every bench worker, their counters rising."""
    queues = pd.DataFrame({"queue": [], "messages": [], "consumers": []})
    for i in range(6):
        workers = pd.DataFrame({"worker": WORKERS, "online": True, "processed": 100 + i})
        store.record_samples(queues, workers, now - 50 + 10 * i)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    now = time.time()
    with filled_sqlite(args.tasks, now) as (store, _):
        _samples(store, now)
        _report(store, now, args.repeats)


def _report(store: Store, now: float, repeats: int) -> None:
    for kind in KINDS:
        threshold = 3.0 if kind == "runtime_regression" else None
        rule = Rule(name=kind, kind=kind, severity="warning", threshold=threshold)
        if kind == "new_error":
            first, _, found = _timed(partial(_poll, rule, store, now, {}), 1)
            print(f"new_error first poll (every failure grouped): {first:.3f} s, {found} found")
        memory: dict = {}
        _poll(rule, store, now, memory)  # warm: caches and the rule's memory
        best, median, found = _timed(partial(_poll, rule, store, now, memory), repeats)
        print(f"{kind}: best {best:.3f} s, median {median:.3f} s, {found} found")


def _poll(rule: Rule, store: Store, now: float, memory: dict) -> int:
    """One poll's evaluation of ``rule``: how many conditions it found."""
    return len(EVALUATORS[rule.kind](rule, _context(store, now, memory)))


if __name__ == "__main__":
    main()

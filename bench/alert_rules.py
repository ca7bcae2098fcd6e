"""Benchmark: what the rule book's worker, queue, failure-rate and orphan rules cost per poll.

Fills ``--tasks`` (100,000) synthetic tasks over the last 7 days (``bench.million``) and 10
minutes of queue samples (a poll every 10 s, every bench queue), then times each default rule
of those kinds (``lib.alerts.evaluate``) ``--repeats`` times against a workers frame with half
the workers offline (best and median printed, and how many conditions it found). Prints
figures, never asserts. The machine may be shared: times move with its load.

Run from the repo root: ``.venv/bin/python -m bench.alert_rules [--tasks 100000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from bench.flags import _timed, _workers
from bench.million import QUEUES, filled_sqlite
from lib import frames
from lib.alerts.evaluate import evaluate
from lib.alerts.model import AlertContext
from lib.alerts.rules import load_rule_book
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.store import Store

__all__ = ["main"]

#: The kinds this bench times (the other kinds have their own benches).
KINDS = ("worker_offline", "queue_depth", "queue_growing", "failure_rate", "orphaned_tasks")
POLL = 10.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    now = time.time()
    with filled_sqlite(args.tasks, now) as (store, _):
        _report(store, now, args.repeats)


def _context(store: Store, now: float) -> AlertContext:
    workers = _workers(now)
    depths = {q: 50 + 40 * i for i, q in enumerate(QUEUES)}
    empty = frames.tasks_frame([])
    for ago in range(600, -1, -int(POLL)):
        at = now - ago - 1
        queues = frames.queues_frame(depths, workers, empty, datetime.fromtimestamp(at, UTC))
        store.record_samples(queues, workers, at)
    snapshot = CollectorSnapshot(
        version=1, workers=workers, workers_at=now - 1, depths=depths, depths_at=now - 1
    )
    health = CollectorHealth(poll_seconds=POLL, last_attempt=now - 2)
    return AlertContext(now, "default", store, snapshot, health)


def _report(store: Store, now: float, repeats: int) -> None:
    context = _context(store, now)
    for rule in load_rule_book(None).rules:
        if rule.kind not in KINDS:
            continue
        best, median, found = _timed(lambda rule=rule: evaluate([rule], context), repeats)
        said = f"{len(found.conditions)} conditions" + (
            f", unknown: {found.unknown}" * bool(found.unknown)
        )
        print(f"{rule.name} ({rule.kind}): {said}; best {best:.3f} s, median {median:.3f} s")


if __name__ == "__main__":
    main()

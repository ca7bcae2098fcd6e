"""Benchmark: the history store (``lib.store``) on SQLite. Prints figures, never asserts.

1. Ingest: ``--tasks`` tasks (50k) each through RECEIVED → STARTED → SUCCESS or FAILURE (1 in
   10), fed as a collector would, in event order, ``--poll`` updates per ``upsert_tasks`` call;
   wall time, CPU time of this process, updates per second, and the share of one core 200
   updates/s would take (the issue's goal: ≤ 30 %).
2. Size: the file (WAL checkpointed) per task, timeline and rollups included; the goal is
   ≤ 1 KB per raw task. From it, the store's size per million tasks and per day at ``--rate``
   tasks/s (10) with the default retention: raw successes kept ``OPS_RETENTION_SUCCESS_DAYS``
   (2) days, failures (1 in 10 here) and rollups ``OPS_RETENTION_DAYS`` (14) days; rollups are
   measured apart: an hour of traffic at ``--rate`` (15 minutes with ``--quick``) ingested into
   a store of its own, its rollup tables' bytes (SQLite's dbstat) scaled to a day.
3. Pruning: of ``--prune`` (100k) tasks three days old, the successes deleted by ``Store.prune``
   in its default batches, their failures and ``--kept`` (50k) tasks a day old kept, while a
   reader thread keeps reading; the longest single transaction and the reader's reads (the
   goal: no reader stalled > 100 ms).

Run from the repo root: ``.venv/bin/python -m bench.store [--tasks 50000] [--prune 100000] [--kept 50000] [--rate 10]``.
``--quick``: 10k tasks, 20k pruned, 10k kept.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path

from lib.settings import DEFAULT_RETENTION_DAYS, DEFAULT_RETENTION_SUCCESS_DAYS
from lib.store import Store

NOW = 1_800_000_000.0
DAY = 86400.0
FINISHED = ("SUCCESS", "FAILURE")
NAMES = ("shop.charge", "shop.email", "etl.extract", "etl.load", "ml.train_step")


def task_updates(n: int, start: float, seed: int = 1, spacing: float = 0.005) -> list[dict]:
    """Every task's three cumulative payloads, in the order the events happen; one task sent
    every ``spacing`` seconds."""
    rng = random.Random(seed)
    updates = []
    for i in range(n):
        sent = start + i * spacing
        received = sent + rng.uniform(0.001, 0.2)
        began = received + rng.uniform(0.001, 0.5)
        runtime = rng.lognormvariate(-2, 1.2)
        base = {
            "uuid": f"{i:08d}-6c1e-4b6f-9a53-{rng.getrandbits(48):012x}",
            "name": rng.choice(NAMES),
            "worker": f"celery@worker-{i % 4}",
            "routing_key": ("default", "fast", "bulk")[i % 3],
            "args": f"({i}, 'order-{i}')",
            "kwargs": "{'currency': 'EUR', 'token': 'tok_live_abc'}",
            "retries": 0,
            "sent": sent,
            "received": received,
            "root_id": None,
            "parent_id": None,
            "children": [],
        }
        at_received = {**base, "state": "RECEIVED", "timestamp": received}
        at_started = {**at_received, "state": "STARTED", "started": began, "timestamp": began}
        end = began + runtime
        if i % 10 == 9:
            final = {
                **at_started,
                "state": "FAILURE",
                "failed": end,
                "timestamp": end,
                "exception": "ConnectionError('redis://:pw@cache:6379 refused')",
                "traceback": "Traceback (most recent call last):\n  ...\nConnectionError\n",
            }
        else:
            final = {
                **at_started,
                "state": "SUCCESS",
                "succeeded": end,
                "runtime": runtime,
                "result": "{'ok': True}",
                "timestamp": end,
            }
        updates += [(received, at_received), (began, at_started), (end, final)]
    updates.sort(key=lambda pair: pair[0])
    return [payload for _, payload in updates]


def bench_ingest(folder: Path, tasks: int, poll: int) -> tuple[int, int]:
    path = folder / "ingest.sqlite3"
    store = Store(f"sqlite:///{path}")
    updates = task_updates(tasks, NOW - 3600)
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(updates), poll):
        store.upsert_tasks(updates[start : start + poll], NOW)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"ingest: {len(updates):,} updates of {tasks:,} tasks, {poll} per upsert")
    print(f"  wall {wall:.1f} s, CPU {cpu:.1f} s → {len(updates) / wall:,.0f} updates/s")
    print(f"  at 200 updates/s: {100 * cpu / len(updates) * 200:.1f} % of one core (goal ≤ 30 %)")
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(p.stat().st_size for p in folder.glob("ingest.sqlite3*"))
    print(f"size: {size / 1e6:.1f} MB for {tasks:,} tasks = {size / tasks:,.0f} bytes per task")
    print("  (tasks, 3 timeline rows each, rollups and indexes; goal ≤ 1 KB per raw task)")
    rollups = rollup_bytes(store, path)
    store.close()
    return size, rollups


def rollup_bytes(store: Store, path: Path) -> int:
    """Bytes of the rollup tables and their indexes (SQLite's dbstat), 0 if unavailable."""
    try:
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'rollup%' "
                "OR name IN (SELECT name FROM sqlite_master WHERE tbl_name LIKE 'rollup%')"
            ).scalar()
        return int(rows or 0)
    except Exception:  # dbstat is a compile-time option of SQLite
        return 0


def rollups_per_day(folder: Path, rate: float, minutes: int) -> float:
    """Rollup bytes per day of traffic at ``rate`` tasks/s: ``minutes`` of it ingested into a
    store of its own, its rollup tables measured, scaled to 24 h."""
    path = folder / "rollups.sqlite3"
    store = Store(f"sqlite:///{path}")
    updates = task_updates(int(rate * 60 * minutes), NOW - 2 * DAY, seed=3, spacing=1 / rate)
    for start in range(0, len(updates), 2000):
        store.upsert_tasks(updates[start : start + 2000], NOW - 2 * DAY)
    size = rollup_bytes(store, path)
    store.close()
    return size * 24 * 60 / minutes


def size_lines(
    size: int, rollups: int, tasks: int, rate: float, rollup_day: float, success_days: float,
    days: float,
) -> list[str]:  # fmt: skip
    """Size per million tasks and per day at ``rate``, with retention applied."""
    raw = (size - rollups) / tasks
    per_day = rate * DAY
    kept = per_day * success_days * 0.9 + per_day * days * 0.1  # successes, failures (1 in 10)
    steady = kept * raw + rollup_day * days
    return [
        f"store size: {raw:,.0f} bytes per raw task (timeline and indexes included) = "
        f"{raw * 1e6 / 1e9:.2f} GB per million tasks",
        f"  at {rate:g} tasks/s ({per_day:,.0f} a day): raw rows {per_day * raw / 1e9:.2f} GB a "
        f"day, rollups {rollup_day / 1e6:.1f} MB a day ({len(NAMES)} task names, 3 queues, "
        "4 workers)",
        f"  with the default retention ({success_days:g} days of raw successes, {days:g} days of "
        f"failures at 10 % and of rollups): about {steady / 1e9:.2f} GB steady state",
    ]


def prune_store(folder: Path, rows: int, kept: int) -> Store:
    """A store holding ``rows`` tasks three days old (their successes past retention, their
    failures, 1 in 10, kept 14 days) and ``kept`` tasks a day old that stay."""
    store = Store(f"sqlite:///{folder / 'prune.sqlite3'}")
    old = [p for p in task_updates(rows, NOW - 3 * DAY, seed=2) if p["state"] in FINISHED]
    new = [p for p in task_updates(kept, NOW - DAY, seed=4) if p["state"] in FINISHED]
    for payloads in (old, new):
        for start in range(0, len(payloads), 5000):
            store.upsert_tasks(payloads[start : start + 5000], NOW - 3 * DAY)
    return store


def bench_prune(folder: Path, rows: int, kept: int) -> None:
    store = prune_store(folder, rows, kept)
    reads, stop = [], threading.Event()

    def reader() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            store.rollup_counts(NOW - 4 * DAY, NOW, by=("name",), step_minutes=60)
            reads.append(time.perf_counter() - began)

    thread = threading.Thread(target=reader, name="bench-reader")
    thread.start()
    began = time.perf_counter()
    try:
        report = store.prune(NOW, retention_days=14, success_days=2)
    finally:
        stop.set()
        thread.join()
    took = time.perf_counter() - began
    print(
        f"prune: {report.deleted.get('tasks', 0):,} successful tasks (+ their timeline rows) of "
        f"{rows:,} three days old; their failures and {kept:,} newer tasks stay"
    )
    print(
        f"  {report.batches} transactions in {took:.1f} s; longest {1000 * report.longest:.0f} ms"
    )
    reads.sort()
    print(
        f"  reader during the prune: {len(reads)} reads, median {1000 * reads[len(reads) // 2]:.0f}"
        f" ms, longest {1000 * reads[-1]:.0f} ms, {sum(r > 0.1 for r in reads)} over 100 ms "
        "(goal: no reader stalled > 100 ms)"
    )
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--poll", type=int, default=1000, help="updates per upsert_tasks call")
    parser.add_argument("--prune", type=int, default=100_000)
    parser.add_argument("--kept", type=int, default=50_000, help="newer tasks the prune keeps")
    parser.add_argument("--rate", type=float, default=10.0, help="tasks/s for the size per day")
    parser.add_argument("--quick", action="store_true", help="10k tasks, 20k pruned")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.prune, args.kept = 10_000, 20_000, 10_000
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        size, rollups = bench_ingest(Path(folder), args.tasks, args.poll)
        rollup_day = rollups_per_day(Path(folder), args.rate, 15 if args.quick else 60)
        lines = size_lines(
            size, rollups, args.tasks, args.rate, rollup_day, DEFAULT_RETENTION_SUCCESS_DAYS,
            DEFAULT_RETENTION_DAYS,
        )  # fmt: skip
        print("\n".join(lines), flush=True)
        bench_prune(Path(folder), args.prune, args.kept)


if __name__ == "__main__":
    main()

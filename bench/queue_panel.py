"""Benchmark: a queue panel's store reads (``lib.store.waiting``) on a store of ``--tasks``
(100k) tasks. Prints figures, never asserts.

The store: tasks of three queues over two days, finished but for a backlog of ``--waiting``
(5k) PENDING tasks in ``bulk`` sent over the last hour and a few hundred PENDING ones in other
queues (sent events whose tasks were never seen again). Read, each ``--repeat`` times (the
median and the slowest): ``bulk``'s and ``fast``'s oldest waiting sent time, and ``bulk``'s
flow of the last 10 minutes (the ``ix_tasks_last_at`` range); then the oldest-waiting reads
again with the waiting-tasks index dropped (what they cost without migration step "waiting
tasks"), with each read's plan.

Run from the repo root: ``.venv/bin/python -m bench.queue_panel [--tasks 100000] [--url URL]``
(``--url``: a PostgreSQL store to fill; by default a SQLite file in a temporary directory).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, insert, literal_column, select, text

from lib.store import Store
from lib.store.engine import reading, writing
from lib.store.schema import TASKS
from lib.store.waiting import WAITING_STATE

NOW = 1_800_000_000.0
DAY = 86400.0
QUEUES = ("default", "fast", "bulk")


def rows(count: int, waiting: int, seed: int = 7) -> list[dict]:
    """``count`` finished tasks over two days, ``waiting`` PENDING in bulk over the last hour,
    and one stale PENDING task per 500 finished ones in the other queues."""
    rng = random.Random(seed)
    found = []
    for i in range(count):
        sent = NOW - rng.uniform(0, 2 * DAY)
        queue = QUEUES[i % 3]
        if i % 500 == 0 and queue != "bulk":
            found.append(_row(f"stale-{i}", "PENDING", queue, sent))
            continue
        found.append(_row(f"t-{i}", "SUCCESS", queue, sent, received=sent + 0.1))
    found += [_row(f"w-{i}", "PENDING", "bulk", NOW - rng.uniform(0, 3600)) for i in range(waiting)]
    return found


def _row(uuid: str, state: str, queue: str, sent: float, received: float | None = None) -> dict:
    last = received + 1 if received is not None else sent
    return {
        "uuid": uuid, "state": state, "flower_state": state, "queue": queue, "name": "n",
        "sent": sent, "received": received, "timestamp": last, "last_at": last,
        "placed_at": last if received is not None else None, "counted": True, "in_flower": True,
    }  # fmt: skip


def timed(read: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and slowest wall time of ``read`` in ms."""
    took = []
    for _ in range(repeat):
        began = time.perf_counter()
        read()
        took.append((time.perf_counter() - began) * 1000)
    return statistics.median(took), max(took)


def plan(store: Store, queue: str) -> str:
    t = TASKS.c
    query = select(func.min(t.sent)).where(
        t.state == literal_column(f"'{WAITING_STATE}'"), t.queue == queue, t.sent.is_not(None)
    )
    sql = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with reading(store.engine) as conn:
        if conn.dialect.name == "postgresql":
            return " | ".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
        return " | ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def report(store: Store, repeat: int, label: str) -> None:
    for queue in ("bulk", "fast"):
        median, worst = timed(lambda q=queue: store.oldest_waiting_sent(q), repeat)
        print(f"  {label}: oldest waiting of {queue}: {median:.2f} ms median, {worst:.2f} ms max")
        print(f"    plan: {plan(store, queue)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--waiting", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.url or f"sqlite:///{Path(tmp) / 'store.sqlite3'}")
        filled = rows(args.tasks, args.waiting)
        with writing(store.engine) as conn:
            for start in range(0, len(filled), 5000):
                conn.execute(insert(TASKS), filled[start : start + 5000])
            if conn.dialect.name == "postgresql":
                conn.execute(text("ANALYZE tasks"))
        print(f"{store.engine.dialect.name}: {store.task_count():,} tasks")
        report(store, args.repeat, "with the index")
        median, worst = timed(lambda: store.queue_flow("bulk", NOW - 600, NOW), args.repeat)
        print(f"  flow of bulk, last 10 min: {median:.2f} ms median, {worst:.2f} ms max")
        with writing(store.engine) as conn:
            conn.execute(text("DROP INDEX ix_tasks_waiting"))
            if conn.dialect.name == "postgresql":
                conn.execute(text("ANALYZE tasks"))
        store.close()  # pooled SQLite connections keep statements planned with the index
        store = Store(store.url)
        report(store, args.repeat, "without it")
        if args.url:  # leave a shared database without the bench's tasks
            with writing(store.engine) as conn:
                conn.execute(text("DELETE FROM tasks"))
        store.close()


if __name__ == "__main__":
    main()

"""Benchmark: the store's task reads that build frames, on a copy of a filled store.

Times, on a COPY of the store given (opening a store migrates it, so the original is never
opened), the reads pages make of stored tasks: ``trend_rows`` over the last 24 h and 7 days
(planned as the monitor plans them, default retention) and the tasks running since before
each, as the monitor reads both (``range_rows``: their busy time counts in the range's worker
usage), ``tasks_window`` of FAILUREs over 7 days,
``newest_tasks(10_000)``, ``queue_traffic`` of the last 5 minutes, and the Tasks page filtered
to "received in the last day + SUCCESS" (a page of 10,000 and its count). "Now" is the store's
newest ``timestamp``. Wall-clock seconds and this process's CPU seconds (steadier on a shared
machine), each the median of ``--runs`` (3), and the rows read.
Prints figures, never asserts.

Run from the repo root: ``.venv/bin/python -m bench.store_reads --store PATH [--runs 3]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.frames.filters import TaskFilter
from lib.settings import DEFAULT_RETENTION_SUCCESS_DAYS
from lib.store import Store
from lib.store.engine import reading
from lib.trends import history

__all__ = ["main", "reads"]

PAGE = 10_000  # the Tasks page's rows (screens/tasks.py MAX_ROWS)


def reads(store: Store, now: float) -> dict[str, Callable[[], object]]:
    """Each read by its label, as the pages make it."""
    end = datetime.fromtimestamp(now, UTC)
    raw_from = history.raw_from(now, DEFAULT_RETENTION_SUCCESS_DAYS)
    day = history.plan(end - timedelta(days=1), end, raw_from)
    week = history.plan(end - timedelta(days=7), end, raw_from)
    last_day = TaskFilter(received_from=end - timedelta(days=1), states=("SUCCESS",))
    return {
        "trend_rows 24h": lambda: store.trend_rows(day.start, day.split, day.end),
        "trend_rows 7d": lambda: store.trend_rows(week.start, week.split, week.end),
        "range_rows 24h (+ running)": lambda: store.range_rows(day.start, day.split, day.end),
        "range_rows 7d (+ running)": lambda: store.range_rows(week.start, week.split, week.end),
        "tasks_window FAILURE 7d": lambda: store.tasks_window(week.start, week.end, ["FAILURE"]),
        "newest_tasks 10k": lambda: store.newest_tasks(10_000),
        "queue_traffic 5 min": lambda: store.queue_traffic(end - timedelta(minutes=5)),
        "received 1d + SUCCESS": lambda: store.tasks_page(last_day, PAGE),
    }


def _rows(value: object) -> int:
    if isinstance(value, tuple):  # range_rows: the range's rows and the running before it
        return sum(len(part) for part in value)
    return len(getattr(value, "rows", value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a filled SQLite store file")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store.sqlite3"
        source, target = sqlite3.connect(args.store), sqlite3.connect(copy)
        source.backup(target)  # a consistent copy, WAL included
        source.close()
        target.close()
        store = Store(f"sqlite:///{copy}")
        with reading(store.engine) as conn:
            now = conn.exec_driver_sql("SELECT max(timestamp) FROM tasks").scalar()
        print(f"{store.task_count()} tasks stored; now = newest timestamp {now:.0f}")
        for label, read in reads(store, float(now)).items():
            seconds, cpu = [], []
            for _ in range(args.runs):
                began, began_cpu = time.perf_counter(), time.process_time()
                value = read()
                seconds.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            wall, used = statistics.median(seconds), statistics.median(cpu)
            print(f"{label:<26} {wall:7.3f} s  (CPU {used:.3f} s)  {_rows(value):>7} rows")
        store.close()


if __name__ == "__main__":
    main()

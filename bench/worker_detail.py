"""Benchmark: what one worker's detail (``Workers?worker=<name>``) reads, on a large store.

Prints figures, never asserts. ``--tasks`` (100,000) synthetic tasks (``bench.million``) over
the last 7 days are written to a fresh SQLite file; then, on a ``ClusterMonitor`` over it, each
read the detail adds to the Workers page is timed cold and warm (median of ``--repeat``): the
states held (``task_values``, built once per poll and shared by every session), the tasks
running on one worker (``task_page`` with ``running_filter``: one indexed query per rerun),
the detail built from them (``worker_detail``, pure), and for scale the range's analytics the
detail shares with Trends (``analytics``, once per poll and range, shared). The machine may be
shared: wall times move with its load (printed).

Run from the repo root: ``.venv/bin/python -m bench.worker_detail [--tasks 100000]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.million import WORKERS, filled_sqlite
from bench.million_read import Stopped
from lib.frames import workers_frame
from lib.frames.worker_detail import RangeUsage, running_filter, worker_detail
from lib.monitor import ClusterMonitor
from lib.settings import Settings

__all__ = ["main"]

SHOWN = 200  # lib.ui.worker_detail.RUNNING_SHOWN


def _timed(read: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Cold (first) and warm (median of the next ``repeat``) wall times in ms, and the value."""
    began = time.perf_counter()
    value = read()
    cold = (time.perf_counter() - began) * 1000
    warm = []
    for _ in range(repeat):
        began = time.perf_counter()
        read()
        warm.append((time.perf_counter() - began) * 1000)
    return cold, statistics.median(warm) if warm else cold, value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    now = time.time()
    with filled_sqlite(args.tasks, now) as (store, folder):
        _read(ClusterMonitor(Settings(data_dir=folder), store, Stopped(now)), now, args)


def _read(monitor: ClusterMonitor, now: float, args: argparse.Namespace) -> None:
    worker = WORKERS[0]
    end = datetime.fromtimestamp(now, UTC)
    start = end - timedelta(hours=1)
    states = _timed(lambda: monitor.store.task_values(), args.repeat)
    wanted = running_filter(worker, states[2]["state"])
    page = _timed(lambda: monitor.store.tasks_page(wanted, SHOWN), args.repeat)
    analytics = _timed(lambda: monitor.analytics(start, end).value, 0)
    result = analytics[2]
    usage = RangeUsage(result.usage, result.plan.start, result.busy_from, result.plan.end)
    workers = workers_frame([], {}, {worker: True}, now)  # online, known: the whole detail
    rows = page[2].rows
    built = _timed(lambda: worker_detail(worker, workers, None, rows, usage, now), args.repeat)
    print(f"load average {os.getloadavg()[0]:.2f}; worker {worker}; {page[2].matching:,} running")
    if not built[2].known or len(built[2].active) != len(rows):
        raise SystemExit("the bench built no detail: its figure would mean nothing")
    for label, (cold, warm, _) in (
        ("states held (task_values; once per poll)", states),
        (f"running on the worker (task_page, newest {SHOWN})", page),
        ("the detail built (worker_detail)", built),
    ):
        print(f"  {label:<52} cold {cold:8.1f} ms   warm {warm:8.1f} ms")
    print(
        f"  {'last hour analytics (shared with Trends; once per poll)':<52} {analytics[0]:8.1f} ms"
    )


if __name__ == "__main__":
    main()

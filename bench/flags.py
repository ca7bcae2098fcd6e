"""Benchmark: what the orphaned and stuck flags cost once per poll, on a filled SQLite store.

Fills ``--tasks`` (200,000) synthetic tasks over the last 7 days (``bench.million``: 0.3 %
STARTED, on 24 workers), then times, each ``--repeats`` times (best and median printed):
the unfinished tasks' read (``Store.flag_candidates``), 7 days of runtime histograms
and their p99 per name (read as hourly rows, and summed by the database as the monitor reads), and ``flags_frame`` against a workers frame with half the workers
offline. Prints figures, never asserts. The machine may be shared: times move with its load.

Run from the repo root: ``.venv/bin/python -m bench.flags [--tasks 200000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from bench.million import DAY, WORKERS, filled_sqlite
from lib import frames
from lib.frames import flags
from lib.store import Store

__all__ = ["main"]


def _timed(step: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    times, value = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        value = step()
        times.append(time.perf_counter() - began)
    return min(times), statistics.median(times), value


def _workers(now: float):
    """Every bench worker, the even ones offline, each up for a day."""
    summaries = [{"hostname": w, "heartbeats": [now - 30]} for w in WORKERS]
    info = {w: {"stats": {"uptime": DAY}, "timestamp": now} for w in WORKERS}
    status = {w: i % 2 == 1 for i, w in enumerate(WORKERS)}
    return frames.workers_frame(summaries, info, status, now)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    now = time.time()
    with filled_sqlite(args.tasks, now) as (store, _):
        _report(store, now, args.repeats)


def _report(store: Store, now: float, repeats: int) -> None:
    best, median, held = _timed(store.flag_candidates, repeats)
    print(
        f"flag_candidates: {len(held):,} unfinished tasks, best {best:.3f} s, median {median:.3f} s"
    )
    start = now - flags.P99_DAYS * DAY
    for label, step in (("hourly rows", 60), ("weekly rows", flags.P99_STEP_MINUTES)):
        week = lambda step=step: store.histograms("runtime", start, now, step)  # noqa: E731
        best, median, hist = _timed(lambda week=week: flags.runtime_p99_frame(week()), repeats)
        print(f"p99 per name over 7 days from {label}: {len(hist)} names, ", end="")
        print(f"best {best:.3f} s, median {median:.3f} s")
    workers = _workers(now)
    best, median, found = _timed(lambda: flags.flags_frame(held, workers, hist, now), repeats)
    counts = flags.flag_counts(found)
    print(f"flags_frame: {counts}, best {best:.3f} s, median {median:.3f} s")


if __name__ == "__main__":
    main()

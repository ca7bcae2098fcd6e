"""Benchmark: a million stored tasks, read as the console reads them, on SQLite and PostgreSQL.

Issue 13 point 7. Prints figures, never asserts; the goals are printed beside them.

1. Fill: ``--tasks`` (1,000,000) synthetic tasks spread over the last 7 days, with text of
   realistic sizes (args and kwargs of tens to a thousand characters, a few with secrets to
   mask; results; tracebacks of one to four thousand characters for failures), written by
   ``Store.upsert_tasks`` in batches (masking, caps, timeline and rollups as the collector
   writes them) into a fresh SQLite file and a fresh database on a throwaway PostgreSQL server
   (``tests.postgres``; needs Debian's ``postgresql`` package).
2. Read, in a separate process per store (so its RSS is a console's, not the filler's): each
   reading once cold, then warm on a new poll version (the monitor builds once per version):
   Trends for the last 7 days (``monitor.analytics``), Errors for the last 7 days
   (``monitor.failures``), the Tasks page with filters (``monitor.task_page``: newest 10,000
   and the matching count), the queues frame, ``monitor.tasks()``. Then the process's RSS now
   and at its peak.
3. A side-by-side table of the warm figures.

Run from the repo root: ``.venv/bin/python -m bench.million [--tasks 100000] [--only sqlite]``.
The machine may be shared: wall times move with its load.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lib.store import Store

__all__ = ["fill", "main", "synthetic_tasks"]

DAY = 86400.0
BATCH = 5000
NAMES = tuple(f"{app}.{verb}" for app in ("shop", "etl", "ml", "mail") for verb in "abcdefgh")
WORKERS = tuple(f"celery@worker-{i:02d}" for i in range(24))
QUEUES = ("default", "fast", "bulk", "email", "etl", "ml", "reports", "webhooks")
#: (state, share of tasks): the rest succeed.
STATES = (("FAILURE", 0.05), ("REVOKED", 0.01), ("RETRY", 0.005), ("STARTED", 0.003))
GOALS = {"trends": 2.0, "errors": 2.0, "tasks_filtered": 1.0, "rss_mb": 1024.0}


def _text(rng: random.Random, median: float, cap: int = 1024) -> str:
    """Printable text of a lognormal length around ``median`` characters, cut as Celery cuts."""
    size = min(int(rng.lognormvariate(0, 0.9) * median) + 2, cap)
    words = []
    while sum(map(len, words)) < size:
        words.append(rng.choice(("order", "id", "42", "EUR", "sku-19", "user", "x" * 12, "ok")))
    return "'" + " ".join(words)[:size] + ("...'" if size == cap else "'")


def _traceback(rng: random.Random, name: str) -> str:
    frames = [
        f'  File "/app/{name.replace(".", "/")}.py", line {rng.randint(1, 900)}, in step_{i}\n'
        f"    result = client.call(payload, retries={rng.randint(0, 5)})\n"
        for i in range(rng.randint(8, 40))
    ]
    return "Traceback (most recent call last):\n" + "".join(frames) + "ConnectionError: refused\n"


def _state(rng: random.Random) -> str:
    roll = rng.random()
    for state, share in STATES:
        if roll < share:
            return state
        roll -= share
    return "SUCCESS"


def synthetic_task(i: int, now: float, rng: random.Random) -> dict:
    """One task's latest Flower payload, placed in the 7 days before ``now``."""
    state = _state(rng)
    recent = state == "STARTED"  # running tasks started lately
    received = now - rng.uniform(0, 3600 if recent else 7 * DAY)
    started = received + rng.lognormvariate(-1, 1.5)
    end = started + rng.lognormvariate(-1.5, 1.3)
    name = rng.choice(NAMES)
    secret = ", 'password': 'hunter2'" if i % 50 == 0 else ""
    task = {
        "uuid": f"{i:08x}-{rng.getrandbits(16):04x}-4b6f-9a53-{rng.getrandbits(48):012x}",
        "name": name,
        "state": state,
        "worker": rng.choice(WORKERS),
        "routing_key": rng.choice(QUEUES),
        "args": f"({_text(rng, 120)},)",
        "kwargs": "{'note': " + _text(rng, 60) + secret + "}",
        "retries": 0,
        "sent": received - rng.uniform(0, 0.05),
        "received": received,
        "started": started,
        "timestamp": started if state in ("STARTED", "RETRY") else end,
        "root_id": None,
        "parent_id": None,
        "children": [],
    }
    if state == "SUCCESS":
        task.update(succeeded=end, runtime=end - started, result=_text(rng, 40))
    elif state == "FAILURE":
        message = f"ConnectionError({_text(rng, 50)})"
        task.update(failed=end, exception=message, traceback=_traceback(rng, name))
    elif state == "REVOKED":
        task.update(revoked=end)
    elif state == "RETRY":
        task.update(retried=started, exception="Retry('in 30s')", traceback=_traceback(rng, name))
    return task


def synthetic_tasks(count: int, now: float, seed: int = 13):
    """``count`` tasks' payloads, in batches of ``BATCH``."""
    rng = random.Random(seed)
    for start in range(0, count, BATCH):
        yield [synthetic_task(i, now, rng) for i in range(start, min(start + BATCH, count))]


def fill(url: str, count: int, now: float) -> dict:
    """Write ``count`` synthetic tasks into the store at ``url``; the time it took."""
    store = Store(url)
    began, written = time.perf_counter(), 0
    try:
        for batch in synthetic_tasks(count, now):
            written += store.upsert_tasks(batch, now)
            if written % 100_000 < BATCH:
                print(f"  {written:,} tasks written", file=sys.stderr, flush=True)
    finally:
        store.close()
    return {"fill_s": time.perf_counter() - began, "written": written}


@contextmanager
def filled_sqlite(count: int, now: float) -> Iterator[tuple[Store, Path]]:
    """A throwaway SQLite store filled with ``count`` synthetic tasks (the fill's time printed),
    open, and its folder; closed and removed after."""
    with tempfile.TemporaryDirectory(prefix="bench-filled-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.sqlite3'}"
        filled = fill(url, count, now)
        print(f"filled {filled['written']:,} tasks in {filled['fill_s']:.1f} s")
        store = Store(url)
        try:
            yield store, Path(tmp)
        finally:
            store.close()


def _read_in_child(url: str, now: float) -> dict:
    """The read figures, measured in a fresh process (its RSS is a console's)."""
    code = "import json,sys; from bench.million_read import read_figures; "
    code += "print(json.dumps(read_figures(sys.argv[1], float(sys.argv[2]))))"
    done = subprocess.run(
        [sys.executable, "-c", code, url, str(now)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _bench(kind: str, url: str, count: int, now: float) -> dict:
    print(f"{kind}: filling {count:,} tasks…", file=sys.stderr, flush=True)
    figures = fill(url, count, now)
    print(f"{kind}: reading…", file=sys.stderr, flush=True)
    figures.update(_read_in_child(url, now))
    print(f"{kind}: {json.dumps(figures)}", file=sys.stderr, flush=True)  # before the others end
    return figures


def _print_table(results: dict[str, dict], count: int) -> None:
    kinds = list(results)
    rows = sorted({key for figures in results.values() for key in figures})
    print(f"\n{count:,} tasks; warm figures in seconds unless named (goal in brackets)")
    print(f"{'':34}" + "".join(f"{k:>14}" for k in kinds))
    for key in rows:
        goal = GOALS.get(key.removesuffix("_warm_s"))
        label = key + (f" [≤ {goal:g}]" if goal else "")
        cells = "".join(f"{_cell(results[k].get(key)):>14}" for k in kinds)
        print(f"{label:34}{cells}")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    now, results = time.time(), {}
    with tempfile.TemporaryDirectory(prefix="ops-million-") as tmp:
        if args.only != "postgresql":
            url = f"sqlite:///{Path(tmp) / 'store.sqlite3'}"
            results["sqlite"] = _bench("sqlite", url, args.tasks, now)
        if args.only != "sqlite":
            results["postgresql"] = _bench_postgres(args.tasks, now)
    _print_table(results, args.tasks)


def _bench_postgres(count: int, now: float) -> dict:
    from tests.postgres import PostgresServer, find_postgres_bin

    found = find_postgres_bin()
    if found is None:
        print("PostgreSQL is not installed: skipped.", file=sys.stderr)
        return {}
    with PostgresServer(found) as server:
        return _bench("postgresql", server.database(), count, now)


if __name__ == "__main__":
    main()

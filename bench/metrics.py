"""Benchmark: the collector's Prometheus side (``lib.metrics``). Prints figures, never asserts.

A SQLite store of ``--tasks`` (100k) finished tasks (1 in 10 failed; ``--distinct`` of the
failures with a message of their own, the rest sharing a few), written through
``Store.upsert_tasks`` with the first-finished hand-over on, then: one reading of the gauges
(``read_metrics``: what each poll adds; the first parses every distinct exception text, later
ones reuse the parses), and one scrape (``generate_latest``: what each request costs), with the
exposition's size and series count.

Run from the repo root: ``.venv/bin/python -m bench.metrics [--tasks 100000] [--distinct 1000]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from prometheus_client import generate_latest

from bench.store import NOW, task_updates
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.metrics import MetricsExporter
from lib.settings import Settings
from lib.store import Store


def finished_payloads(tasks: int, distinct: int) -> list[dict]:
    """Each task's final payload; ``distinct`` failures with a message of their own."""
    final = [p for p in task_updates(tasks, NOW - 3000, spacing=3000 / tasks) if "timestamp" in p]
    last = {p["uuid"]: p for p in final}
    failed = 0
    for payload in last.values():
        if payload["state"] == "FAILURE":
            if failed < distinct:
                payload["exception"] = f"KeyError('order-{failed}')"
            failed += 1
    return list(last.values())


def timed(action, times: int = 5) -> tuple[float, float]:
    """First and median-of-the-rest wall time (s) of ``action()``."""
    runs = []
    for _ in range(times):
        began = time.perf_counter()
        action()
        runs.append(time.perf_counter() - began)
    return runs[0], statistics.median(runs[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'metrics.sqlite3'}")
        settings = Settings(data_dir=Path(folder), metrics_port=0)
        health = CollectorHealth(last_success=NOW)
        exporter = MetricsExporter(settings, store, "default", lambda: health)
        payloads = finished_payloads(args.tasks, args.distinct)
        began = time.perf_counter()
        for start in range(0, len(payloads), 1000):
            finished: list[dict] = []
            store.upsert_tasks(payloads[start : start + 1000], NOW, finished)
            exporter.finished.add(finished)
        print(
            f"store: {len(payloads):,} finished tasks written in {time.perf_counter() - began:.1f} s"
        )
        workers = pd.DataFrame(
            {"worker": ["w1"], "online": [True], "queues": ["default, fast, bulk"]}
        )
        snapshot = CollectorSnapshot(depths={"default": 3, "fast": 0, "bulk": 9}, workers=workers)
        first, warm = timed(lambda: exporter.after_poll(snapshot, NOW))
        print(
            f"reading per poll: first {first * 1000:.0f} ms, then {warm * 1000:.0f} ms (median of 4)"
        )
        first, warm = timed(lambda: generate_latest(exporter.registry))
        text = generate_latest(exporter.registry).decode()
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        print(
            f"scrape: {warm * 1000:.1f} ms (median of 4), {len(text) / 1024:.0f} KiB, {series} series"
        )
        store.close()


if __name__ == "__main__":
    main()

"""Benchmark: the webhook outbox (``lib.alerts.delivery``) on SQLite. Prints figures, never asserts.

A store holding ``--sent`` (50k) notifications already delivered (a long history: nothing prunes
them yet) and ``--queued`` (200) waiting, spread over 50 alerts (so most wait behind an older
one of their alert), then:

1. An idle round (nothing due): what each poll's wake costs the deliverer thread; median and
   worst of 200.
2. The backlog delivered to a real HTTP receiver on loopback (each row: read, claim, POST,
   record): rows per second and milliseconds per row.
3. ``outbox_summary`` (the Alerts page's line): median of 50.

Run from the repo root: ``.venv/bin/python -m bench.alert_outbox [--sent 50000] [--queued 200]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from lib.alerts.delivery import Deliverer
from lib.alerts.outbox import outbox_summary
from lib.store import Store
from lib.store.engine import writing
from lib.store.schema import ALERT_CHANGES, ALERT_DELIVERIES
from tests.scripted_server import ScriptedServer

NOW = 1_800_000_000.0
ALERTS = 50


def fill(store: Store, sent: int, queued: int) -> None:
    """``sent`` delivered and ``queued`` waiting notifications, their changes first."""
    total = sent + queued
    changes, rows = [], []
    for i in range(total):
        at = NOW - (total - i) * 10.0
        subject = f"w{i % ALERTS}"
        changes.append(
            dict(
                id=i + 1, cluster="default", rule="worker_offline", subject=subject, state="firing"
            )
            | dict(severity="critical", summary="Worker offline.", link="workers", at=at)
        )
        done = i < sent
        body = json.dumps({"rule": "worker_offline", "subject": subject, "state": "firing"})
        rows.append(
            dict(cluster="default", change_id=i + 1, payload=body, attempts=int(done))
            | dict(status="sent" if done else "queued", created_at=at, next_at=at)
            | dict(sent_at=at if done else None)
        )
    with writing(store.engine) as conn:
        conn.execute(insert(ALERT_CHANGES), changes)
        conn.execute(insert(ALERT_DELIVERIES), rows)


def timed(action, times: int) -> list[float]:
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        action()
        spent.append((time.perf_counter() - began) * 1000)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sent", type=int, default=50_000)
    parser.add_argument("--queued", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'store.sqlite3'}")
        fill(store, args.sent, args.queued)
        with ScriptedServer(lambda method, path: (200, "ok", {})) as server:
            sender = Deliverer(store, "default", f"{server.url}/hook", batch=100)
            idle = timed(lambda: sender.deliver_due(NOW - 10.0 * (args.queued + 1)), 200)
            print(
                f"idle round ({args.sent} sent, {args.queued} queued): median "
                f"{statistics.median(idle):.2f} ms, worst {max(idle):.2f} ms"
            )
            began, delivered = time.perf_counter(), 0
            while delivered < args.queued:
                delivered += sender.deliver_due(NOW).sent
            spent = time.perf_counter() - began
            print(
                f"backlog of {args.queued} delivered in {spent:.2f} s: "
                f"{args.queued / spent:.0f} rows/s, {spent * 1000 / args.queued:.1f} ms per row"
            )
        summary = timed(lambda: outbox_summary(store, "default", NOW), 50)
        print(f"outbox_summary: median {statistics.median(summary):.2f} ms")
        store.close()


if __name__ == "__main__":
    main()

"""Benchmark: the Alerts page's reads (``lib.store.alert_views``). Prints figures, never asserts.

A store holding ``--alerts`` alerts per cluster (1,000) in three clusters, a tenth of them
firing, and ``--changes`` state changes (100,000) over 30 days: the median and worst time of
the Overview strip's and the sidebar's one query (``Store.firing_alerts``, read once per poll),
of the Alerts page's reads for the last 24 h and the last 30 days (``read_board``'s three reads:
current alerts, silences, history) and of the page's frames built from them.

Run from the repo root: ``.venv/bin/python -m bench.alerts_page [--alerts 1000] [--changes 100000]
[--postgres URL]`` (an SQLite file by default). ``--quick``: 200 alerts, 20,000 changes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from lib.frames import alerts as frames
from lib.store import Store
from lib.store.engine import writing
from lib.store.schema import ALERT_CHANGES, ALERTS

NOW = 1_800_000_000.0
DAY = 86400.0
CLUSTERS = ("default", "eu", "us")
RULES = ("worker_offline", "queue_backlog", "failure_rate", "new_error")


def fill(store: Store, alerts: int, changes: int, seed: int = 1) -> None:
    """``alerts`` current rows per cluster (a tenth firing) and ``changes`` change rows."""
    rnd = random.Random(seed)
    rows = []
    for cluster in CLUSTERS:
        for i in range(alerts):
            state = "firing" if i % 10 == 0 else rnd.choice(("pending", "resolved"))
            at = NOW - rnd.uniform(0, 30 * DAY)
            rows.append({"cluster": cluster, "rule": RULES[i % 4], "subject": f"s{i}",
                         "state": state, "severity": "warning", "summary": f"s{i} is wrong",
                         "link": f"queues?queue=s{i}", "since": at, "pending_since": at,
                         "fired_at": at if state != "pending" else None,
                         "resolved_at": at + 60 if state == "resolved" else None,
                         "updated_at": at})  # fmt: skip
    history = []
    for n in range(changes):
        at = NOW - 30 * DAY + n * (30 * DAY / changes)
        i = rnd.randrange(alerts)
        history.append({"cluster": rnd.choice(CLUSTERS), "rule": RULES[i % 4], "subject": f"s{i}",
                        "state": ("firing", "resolved")[n % 2], "severity": "warning",
                        "summary": f"s{i} is wrong", "link": f"queues?queue=s{i}", "at": at})  # fmt: skip
    with writing(store.engine) as conn:
        conn.execute(ALERTS.insert(), rows)
        for start in range(0, len(history), 5000):
            conn.execute(ALERT_CHANGES.insert(), history[start : start + 5000])


def timed(what: str, work: Callable[[], object], runs: int = 20) -> None:
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        took.append((time.perf_counter() - began) * 1000)
    print(f"{what:<46} median {statistics.median(took):8.2f} ms   worst {max(took):8.2f} ms")


def board(store: Store, since: float) -> None:
    current = store.current_alerts("default", since)
    silences = store.active_silences("default", NOW)
    opened, changes = store.alert_history("default", since)
    frames.firing_frame(current, silences, UTC, NOW)
    frames.pending_frame(current, silences, UTC, NOW)
    frames.episodes_frame(opened, changes, NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--postgres", default="")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    alerts, changes = (200, 20_000) if args.quick else (args.alerts, args.changes)
    url = args.postgres or f"sqlite:///{Path(tempfile.mkdtemp()) / 'alerts.sqlite3'}"
    store = Store(url)
    began = time.perf_counter()
    fill(store, alerts, changes)
    print(f"{store.engine.dialect.name}: {alerts:,} alerts × {len(CLUSTERS)} clusters, "
          f"{changes:,} changes, written in {time.perf_counter() - began:.1f} s")  # fmt: skip
    timed("strip + sidebar: firing_alerts (1 query)", lambda: store.firing_alerts("default"))
    timed("page reads + frames, last 24 h", lambda: board(store, NOW - DAY))
    timed("page reads + frames, last 30 days", lambda: board(store, NOW - 30 * DAY), runs=5)
    store.close()


if __name__ == "__main__":
    main()

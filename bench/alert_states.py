"""Benchmark: what the collector's alert step costs a poll. Prints figures, never asserts.

A test evaluator (registered for the ``new_error`` kind) finds ``N`` conditions each poll on a
fresh SQLite store; the watcher runs ``--polls`` polls for each ``N`` in ``--alerts``: the
first poll creates ``N`` firing alerts with their changes and outbox rows, the later ones
update their figures (a steady cluster), and a last one resolves them all. Printed per N:
the first poll, the median steady poll, the resolving poll (seconds, wall clock).

Run from the repo root: ``.venv/bin/python -m bench.alert_states [--alerts 0,100,1000]
[--polls 5]``. Takes seconds. The machine is shared: read figures with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from lib.alerts.evaluate import EVALUATORS
from lib.alerts.model import Condition, Rule
from lib.alerts.rules import RuleBook
from lib.alerts.watch import AlertWatcher
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.store import Store

__all__ = ["main"]

RULE = Rule("new_error", "new_error", "info")


def _run(count: int, polls: int, folder: Path) -> tuple[float, float, float]:
    """Seconds of the first, the median steady and the resolving poll with ``count`` alerts."""
    found = {"n": count}

    def evaluator(rule: Rule, context) -> list[Condition]:
        return [
            Condition(rule.name, f"e{i}", "info", f"New error e{i}", f"tasks?error_group=e{i}")
            for i in range(found["n"])
        ]

    EVALUATORS["new_error"] = evaluator
    store = Store(f"sqlite:///{folder / f'alerts-{count}.sqlite3'}")
    clock = {"now": 1_800_000_000.0}
    watcher = AlertWatcher(store, "default", RuleBook((RULE,)), "http://x", lambda: clock["now"])
    times = []
    for _ in range(polls + 1):
        clock["now"] += 10
        began = time.perf_counter()
        watcher.watch(CollectorSnapshot(), CollectorHealth())
        times.append(time.perf_counter() - began)
    found["n"], clock["now"] = 0, clock["now"] + 10
    began = time.perf_counter()
    watcher.watch(CollectorSnapshot(), CollectorHealth())
    resolving = time.perf_counter() - began
    store.close()
    return times[0], statistics.median(times[1:]), resolving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", default="0,100,1000")
    parser.add_argument("--polls", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        for count in (int(n) for n in args.alerts.split(",")):
            first, steady, resolving = _run(count, args.polls, Path(folder))
            print(
                f"{count:>6} alerts: first poll {first:.3f} s · steady poll {steady:.3f} s · "
                f"resolving poll {resolving:.3f} s"
            )


if __name__ == "__main__":
    main()

"""Benchmark: the analytics frames over 10k, 100k and 1M synthetic tasks.

For each size, in a fresh child process (so one size's memory never inflates the next), it
builds Flower-shaped task payloads — 25 task names with skewed popularity, 4 queues, 8 workers,
states mostly SUCCESS with ~8 % FAILURE and some still under way, failures from ten realistic
exception kinds with ids, hosts and paths in their messages and ~1 KB tracebacks, all sent
over the last 24 hours — then times the four steps a Trends + Errors page view costs:

1. tasks frame   ``frames.tasks_frame(payloads)``
2. trend         ``trends.window_frame`` (last 24 h: every task) + ``state_trend_frame`` +
                 ``trend_frame`` overall, by name and by queue
3. percentiles   ``runtime_percentiles_frame`` + ``runtime_trend_frame`` + ``queue_wait_frame``
                 + ``worker_usage_frame``
4. error groups  ``failures.failures_frame`` + ``error_groups_frame`` + ``category_frame`` +
                 ``category_trend_frame``

Time is wall-clock (``perf_counter``), the median of 3 runs (1 run at 1M). Memory is the
process's peak resident set (Linux ``VmHWM``, reset before each step through
``/proc/self/clear_refs``), which includes the payloads the console's sync store holds anyway;
"+MB" is the step's peak above the resident set before it. The goal — 100k tasks through the
four steps in under 1 s with peak RSS under 600 MB — is printed met / not met, never asserted.

Run from the repo root: ``.venv/bin/python -m bench.frames [--sizes 10000 100000 1000000]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from lib import failures, frames, trends

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SPAN = timedelta(hours=24)
GOAL_SIZE, GOAL_SECONDS, GOAL_MB = 100_000, 1.0, 600
STEPS = ("tasks frame", "trend", "percentiles", "error groups")

NAMES = [f"app.{area}.{verb}" for area in ("billing", "mail", "etl", "ml", "reports") for verb in ("sync", "send", "load", "train", "render")]  # fmt: skip
QUEUES = ("default", "email", "etl", "ml")
WORKERS = [f"w{i}@node{i % 3}" for i in range(1, 9)]
HOSTS = (("db", 5432), ("db2", 5433), ("cache", 6380), ("search", 9200))
STATES = (("SUCCESS", 0.86), ("FAILURE", 0.08), ("STARTED", 0.02), ("RECEIVED", 0.01),
          ("PENDING", 0.01), ("RETRY", 0.01), ("REVOKED", 0.01))  # fmt: skip
TRACE_HEAD = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/.venv/lib/python3.11/site-packages/celery/app/trace.py", line 453, in trace_task\n'
    "    R = retval = fun(*args, **kwargs)\n"
    '  File "/srv/app/.venv/lib/python3.11/site-packages/celery/app/trace.py", line 736, in __protected_call__\n'
    "    return self.run(*args, **kwargs)\n"
    '  File "/srv/app/app/{area}/tasks.py", line {line}, in {verb}\n'
    "    result = client.call(payload, timeout=30)\n"
    '  File "/srv/app/app/common/client.py", line 88, in call\n'
    "    raise {kind}({args})\n"
)


def failure_of(rng: random.Random) -> tuple[str, str]:
    """An exception repr and the traceback's last line, as Celery reports them."""
    n = rng.randrange(1, 100_000)
    host, port = rng.choice(HOSTS)
    kinds = [
        ("ConnectionRefusedError", f"'Error 111 connecting to {host}:{port}. Connection refused.'"),
        ("TimeoutError", f"'request to https://api.partner.example/v2/orders/{n} timed out after 30s'"),
        ("SoftTimeLimitExceeded", ""),
        ("OutOfMemoryError", f"'CUDA out of memory. Tried to allocate {n % 4096} MiB on gpu{n % 2}'"),
        ("ExceptionWithTraceback", ""),
        ("ValueError", f"\"invalid email address: 'user{n}@'\""),
        ("LookupError", f"'record {n} not found'"),
        ("KeyError", f"'customer_{n}'"),
        ("PermissionError", f"13, 'Permission denied: /data/{uuid.UUID(int=n)}/out.csv'"),
        ("ZeroDivisionError", "'division by zero'"),
    ]  # fmt: skip
    kind, args = rng.choices(kinds, weights=(20, 15, 10, 8, 3, 15, 12, 8, 5, 4))[0]
    if kind == "ExceptionWithTraceback":
        last = f"billiard.exceptions.WorkerLostError: Worker exited prematurely: signal 9 (SIGKILL) Job: {n}."
        return "ExceptionWithTraceback()", last
    return f"{kind}({args})", f"{kind}: {args.strip(chr(39))}"


def payloads(count: int, seed: int = 7) -> list[dict]:
    """``count`` Flower task objects (``/api/tasks`` values with their uuid)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(NAMES))]  # a few names do most of the work
    end = NOW.timestamp()
    out = []
    for i in range(count):
        name = rng.choices(NAMES, weights)[0]
        area, verb = name.split(".")[1:]
        state = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
        sent = end - rng.random() * SPAN.total_seconds()
        received = sent + rng.expovariate(20)
        started = received + rng.expovariate(2) if state not in ("PENDING", "RECEIVED") else None
        runtime = rng.lognormvariate(-1 + NAMES.index(name) % 5 * 0.4, 0.6)
        task_id = str(uuid.UUID(int=rng.getrandbits(128)))
        task = {
            "uuid": task_id, "name": name, "state": state, "sent": sent,
            "received": received if state != "PENDING" else None, "started": started,
            "succeeded": None, "failed": None, "retried": None, "revoked": None, "rejected": None,
            "args": f"({i}, '{verb}')", "kwargs": f"{{'batch': {i % 97}, 'dry_run': False}}",
            "eta": None, "expires": None, "retries": 0, "result": None, "exception": None,
            "traceback": None, "runtime": None, "exchange": "", "routing_key": QUEUES[NAMES.index(name) % 4],
            "clock": i, "client": "gen1@producer", "root_id": task_id, "parent_id": None,
            "children": [], "worker": rng.choice(WORKERS) if state != "PENDING" else None,
            "timestamp": started or received or sent,
        }  # fmt: skip
        if state == "SUCCESS":
            task.update(succeeded=started + runtime, runtime=runtime, timestamp=started + runtime)
            task["result"] = f"{{'rows': {i % 5000}, 'ok': True}}"
        elif state == "FAILURE":
            exception, last = failure_of(rng)
            kind = last.split(":")[0].rsplit(".", 1)[-1]
            head = TRACE_HEAD.format(area=area, verb=verb, line=40 + i % 200, kind=kind, args="...")
            task.update(failed=started + runtime, timestamp=started + runtime)
            task.update(exception=exception, traceback=head + last + "\n")
        elif state == "REVOKED":
            task.update(revoked=started + runtime / 2, timestamp=started + runtime / 2)
        elif state == "RETRY":
            task.update(retried=started + runtime, timestamp=started + runtime, retries=1)
        out.append(task)
    return out


# -- measuring -------------------------------------------------------------------------------


def rss_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> bool:
    """Start a new peak-RSS measurement (Linux ≥ 4.0); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def measure(step: Callable[[], object], repeats: int) -> dict:
    times, peaks, growths = [], [], []
    for _ in range(repeats):
        gc.collect()
        before = rss_mb("VmRSS")
        exact = reset_peak()
        began = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - began)
        peaks.append(rss_mb("VmHWM"))
        growths.append(max(peaks[-1] - before, 0.0))  # a step that frees memory grew by 0
        del result
    return {
        "seconds": statistics.median(times),
        "peak_mb": max(peaks),
        "growth_mb": max(growths),
        "exact_peak": exact,
    }


def steps_for(raw: list[dict]) -> dict[str, Callable[[], object]]:
    """The four measured steps, in page order, over one set of payloads."""
    start, end = NOW - SPAN, NOW
    bucket = trends.bucket_size(start, end)
    rules = failures.load_rules()
    tasks = frames.tasks_frame(raw)
    window = trends.window_frame(tasks, start, end)

    def trend() -> object:
        fresh = trends.window_frame(tasks, start, end)  # the window is part of this step's cost
        return (
            trends.state_trend_frame(fresh, start, end, bucket),
            trends.trend_frame(fresh, start, end, bucket),
            trends.trend_frame(fresh, start, end, bucket, by="name"),
            trends.trend_frame(fresh, start, end, bucket, by="queue"),
        )

    def percentiles() -> object:
        return (
            trends.runtime_percentiles_frame(window),
            trends.runtime_trend_frame(window, start, end, bucket),
            trends.queue_wait_frame(window),
            trends.worker_usage_frame(tasks, start, end, window=window),  # as the page does
        )

    def error_groups() -> tuple[pd.DataFrame, int]:
        failed = failures.failures_frame(window, rules)
        failures.category_frame(failed)
        failures.category_trend_frame(failed, start, end, bucket)
        return failures.error_groups_frame(failed), len(failed)

    return {
        "tasks frame": lambda: frames.tasks_frame(raw),
        "trend": trend,
        "percentiles": percentiles,
        "error groups": error_groups,
    }


def run_one(size: int, repeats: int) -> dict:
    """All four steps over ``size`` tasks, in this process."""
    began = time.perf_counter()
    raw = payloads(size)
    made = time.perf_counter() - began
    baseline = rss_mb("VmRSS")
    steps = steps_for(raw)
    results = {name: measure(step, repeats) for name, step in steps.items()}
    groups, failed = steps["error groups"]()
    return {
        "size": size,
        "repeats": repeats,
        "generate_seconds": made,
        "baseline_mb": baseline,
        "failures": failed,
        "groups": len(groups),
        "steps": results,
    }


# -- reporting -------------------------------------------------------------------------------


def child(size: int, repeats: int) -> dict:
    command = [sys.executable, "-m", "bench.frames", "--one", str(size), "--repeats", str(repeats)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench child for {size:,} tasks failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rows: list[dict]) -> None:
    print(
        f"bench.frames — Python {platform.python_version()}, pandas {version('pandas')}, "
        f"numpy {version('numpy')}, {os.cpu_count()} CPUs, {platform.machine()}"
    )
    print("Range: last 24 h (every task in it), bucket 15 min; seconds = median of runs.\n")
    header = (
        f"{'tasks':>10} | " + " | ".join(f"{s:>20}" for s in STEPS) + " | total s | peak RSS MB"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = [
            f"{row['steps'][s]['seconds']:7.3f} s {row['steps'][s]['growth_mb']:+7.0f} MB"
            for s in STEPS
        ]
        total = sum(row["steps"][s]["seconds"] for s in STEPS)
        peak = max(row["steps"][s]["peak_mb"] for s in STEPS)
        print(
            f"{row['size']:>10,} | "
            + " | ".join(f"{c:>20}" for c in cells)
            + f" | {total:7.3f} | {peak:11.0f}"
        )
    print()
    for row in rows:
        print(
            f"{row['size']:,} tasks: payloads built in {row['generate_seconds']:.1f} s and held in "
            f"{row['baseline_mb']:.0f} MB RSS; {row['failures']:,} failures in {row['groups']:,} groups; "
            f"runs per step: {row['repeats']}"
        )
    if not all(s["exact_peak"] for row in rows for s in row["steps"].values()):
        print("note: /proc/self/clear_refs not writable; peaks are the process's peak so far")
    goal = next((row for row in rows if row["size"] == GOAL_SIZE), None)
    if goal:
        total = sum(goal["steps"][s]["seconds"] for s in STEPS)
        peak = max(goal["steps"][s]["peak_mb"] for s in STEPS)
        met = total < GOAL_SECONDS and peak < GOAL_MB
        print(
            f"\nGoal at {GOAL_SIZE:,} tasks: < {GOAL_SECONDS:g} s total and < {GOAL_MB} MB peak RSS — "
            f"{total:.3f} s, {peak:.0f} MB: {'met' if met else 'NOT met'}"
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child's size
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs per step (default 3; 1 at 1M+)"
    )
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.repeats or 3)))
        return
    rows = []
    for size in args.sizes:
        repeats = args.repeats or (3 if size < 1_000_000 else 1)
        print(f"[bench.frames] {size:,} tasks…", file=sys.stderr, flush=True)
        rows.append(child(size, repeats))
    report(rows)


if __name__ == "__main__":
    main()

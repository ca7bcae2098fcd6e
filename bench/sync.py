"""Benchmark: the console's incremental task sync against a real Flower 2.2 holding 100k tasks.

It measures, over HTTP on loopback, against ``bench.synthetic_flower`` (Flower's own code, state
filled with synthetic task events):

1. the first full load through ``TaskSync.refresh()``, paged (page_size 1000);
2. a "full-dump refresh", what a naive poller does on every poll: one ``GET /api/tasks`` whose
   limit covers every task Flower can hold;
3. after ``--new`` tasks (500) reached Flower, an incremental ``TaskSync.refresh()``;
4. the goals: incremental bytes ≤ 2 % of the full dump, incremental refresh ≤ 0.5 s. They are
   printed with met / not met, never asserted: this is a measurement, not a test.

To explain where the time goes it also prints each request of the incremental walk and
Flower's cost per request by page size and offset (median of 3), and times a what-if: a twin
``TaskSync`` in the same state reads the same batch with a larger first incremental page
(``--what-if-first-page``, default 0 = skipped). The what-if patches ``lib.sync``'s constant in
this process only, to show what a change in lib/ would buy before anyone makes it.

Times are wall-clock in this process and include JSON decoding and the store merge; "http s"
is the part spent in requests (Flower's work plus the transfer). The Flower child is stopped on
every exit path: normal end, exception, Ctrl-C, SIGTERM; if this process is killed outright the
child sees its stdin close and stops by itself.

Run from the repo root: ``.venv/bin/python -m bench.sync [--tasks 100000] [--new 500]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import selectors
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from unittest import mock

import requests

import lib.sync
from lib.flower import FlowerClient
from lib.sync import FIRST_INCREMENTAL_PAGE, SyncReport, TaskSync

REPO = Path(__file__).resolve().parent.parent
BYTES_GOAL = 0.02  # incremental bytes / full-dump bytes
SECONDS_GOAL = 0.5  # one incremental refresh
PROBE_REPEATS = 3  # a median of 3 hides a stray GC pause without costing much


def log(message: str) -> None:
    """Progress goes to stderr so stdout keeps only the report."""
    print(f"[bench.sync {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the Flower child ------------------------------------------------------------------------


class SyntheticFlower:
    """``bench.synthetic_flower`` in a child process; a context manager that always stops it."""

    def __init__(
        self, tasks: int, max_tasks: int, hours: float, seed: int, timeout: float,
        log_path: Path | None = None,
    ):  # fmt: skip
        self.argv = [
            sys.executable,
            "-m",
            "bench.synthetic_flower",
            f"--tasks={tasks}",
            f"--max-tasks={max_tasks}",
            f"--hours={hours}",
            f"--seed={seed}",
            "--exit-on-stdin-eof",
            "--verbose",
        ]
        self.startup_timeout = timeout
        self.log_path = log_path  # None: its log goes to our stderr
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def __enter__(self) -> SyntheticFlower:
        env = {**os.environ, "FLOWER_UNAUTHENTICATED_API": "true"}
        err = open(self.log_path, "ab") if self.log_path else None  # the child keeps its copy
        # A session of its own: Ctrl-C reaches only this process, which then stops the child
        # in order instead of both racing. stdin stays a pipe so the child sees us die.
        self.proc = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        if err is not None:
            err.close()
        try:
            self.ready = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return str(self.ready["flower_url"])

    def add_tasks(self, count: int) -> dict[str, Any]:
        """Have Flower receive ``count`` tasks sent since the last batch (their uuids back)."""
        answer = requests.post(
            f"{self.ready['control_url']}/tasks", params={"n": count}, timeout=120
        )
        answer.raise_for_status()
        return answer.json()

    def status(self) -> dict[str, Any]:
        answer = requests.get(f"{self.ready['control_url']}/status", timeout=30)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                pipe.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def _wait_ready(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"Flower was not ready within {self.startup_timeout:g} s")
                if selector.select(timeout=min(left, 1.0)):
                    line = self.proc.stdout.readline()
                    if not line:
                        raise RuntimeError(f"Flower child exited with {self.proc.wait()}")
                    return json.loads(line)
                if self.proc.poll() is not None:
                    raise RuntimeError(f"Flower child exited with {self.proc.returncode}")


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Call:
    """One ``/api/tasks`` request as the client saw it."""

    limit: int
    offset: int
    rows: int
    bytes: int
    http: float


class RecordingClient(FlowerClient):
    """The console's client, noting every ``list_tasks`` call so costs can be attributed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[Call] = []

    def list_tasks(self, limit: int, offset: int = 0, **filters: Any) -> list[dict]:
        bytes_before, seconds_before = self.stats.bytes, self.stats.seconds
        rows = super().list_tasks(limit, offset, **filters)
        self.calls.append(
            Call(
                limit,
                offset,
                len(rows),
                self.stats.bytes - bytes_before,
                self.stats.seconds - seconds_before,
            )
        )
        return rows


@dataclass
class Step:
    """One row of the report: a refresh or the dump, with the requests it made."""

    label: str
    seconds: float
    http: float
    requests: int
    bytes: int
    tasks: int
    calls: list[Call] = field(default_factory=list)


def timed_refresh(label: str, sync: TaskSync, client: RecordingClient) -> tuple[Step, SyncReport]:
    first = len(client.calls)
    report = sync.refresh()
    calls = client.calls[first:]
    step = Step(
        label,
        report.seconds,
        sum(c.http for c in calls),
        report.requests,
        report.bytes,
        report.fetched,
        calls,
    )
    return step, report


def full_dump(client: RecordingClient, limit: int) -> Step:
    """The naive poller: everything, every time, in one request."""
    first = len(client.calls)
    started = time.monotonic()
    rows = client.list_tasks(limit=limit)
    seconds = time.monotonic() - started
    call = client.calls[first]
    return Step("2 full-dump refresh (1 GET)", seconds, call.http, 1, call.bytes, len(rows), [call])


def page_costs(
    client: RecordingClient, held: int, repeats: int = PROBE_REPEATS
) -> list[tuple[str, Call]]:
    """Flower's cost for one request by page size and depth: the median of ``repeats``."""
    probes = [
        ("limit=1, offset=0", 1, 0),
        (f"limit={FIRST_INCREMENTAL_PAGE}, offset=0", FIRST_INCREMENTAL_PAGE, 0),
        ("limit=1000, offset=0", 1000, 0),
        (f"limit=1000, offset={max(held - 1000, 0)}", 1000, max(held - 1000, 0)),
    ]
    found = []
    for label, limit, offset in probes:
        runs = []
        for _ in range(repeats):
            client.list_tasks(limit=limit, offset=offset)
            runs.append(client.calls[-1])
        runs.sort(key=lambda c: c.http)
        found.append((label, runs[len(runs) // 2]))
    return found


# -- reporting -------------------------------------------------------------------------------


def machine_lines(load_at_start: tuple[float, float, float]) -> list[str]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), "?"
            )
    except OSError:
        pass
    start, end = (", ".join(f"{x:.2f}" for x in load) for load in (load_at_start, os.getloadavg()))
    return [
        f"date      {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine   nproc {len(os.sched_getaffinity(0))} ({cpu})",
        f"load avg  {start} at start, {end} at end (1, 5, 15 min; the machine is shared)",
        f"software  Python {platform.python_version()}, flower {version('flower')}, "
        f"celery {version('celery')}, tornado {version('tornado')}, requests "
        f"{version('requests')}",
    ]


def mb(n: float) -> str:
    return f"{n / 1e6:,.2f} MB"


def step_table(steps: list[Step]) -> list[str]:
    head = (
        f"{'step':<34}{'seconds':>9}{'http s':>9}{'requests':>10}{'bytes':>15}{'':>12}{'tasks':>9}"
    )
    lines = [head, "-" * len(head)]
    for s in steps:
        lines.append(
            f"{s.label:<34}{s.seconds:>9.3f}{s.http:>9.3f}{s.requests:>10}"
            f"{s.bytes:>15,}{mb(s.bytes):>12}{s.tasks:>9,}"
        )
    return lines


def call_table(calls: list[tuple[str, Call]]) -> list[str]:
    lines = [f"  {'request':<28}{'rows':>7}{'bytes':>12}{'http s':>9}"]
    for label, c in calls:
        lines.append(f"  {label:<28}{c.rows:>7,}{c.bytes:>12,}{c.http:>9.3f}")
    return lines


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def goal_lines(label: str, inc: Step, dump: Step) -> list[str]:
    ratio = inc.bytes / dump.bytes if dump.bytes else math.inf
    return [
        f"{label + ': bytes / full-dump bytes':<48}{ratio:>10.2%}{BYTES_GOAL:>10.0%}   "
        f"{verdict(ratio <= BYTES_GOAL)}",
        f"{label + ': refresh time':<48}{inc.seconds:>8.3f} s{SECONDS_GOAL:>8.1f} s   "
        f"{verdict(inc.seconds <= SECONDS_GOAL)}",
    ]


@dataclass
class Results:
    """Everything one run measured, for the report."""

    ready: dict[str, Any]
    load_at_start: tuple[float, float, float]
    full: Step
    dump: Step
    inc: Step
    inc_report: SyncReport
    added: dict[str, Any]
    missing: int
    held_by_console: int
    flower_count: int | None
    probes: list[tuple[str, Call]]
    status: dict[str, Any]
    what_if: Step | None = None


def report(args: argparse.Namespace, sync: TaskSync, r: Results) -> None:
    ready, inc = r.ready, r.inc
    states = ", ".join(f"{n:,} {s}" for s, n in ready["states"].items())
    pages = [c.http for c in r.full.calls]
    reason = f" ({r.inc_report.reason})" if r.inc_report.reason else ""
    count = f"{r.flower_count:,}" if r.flower_count is not None else "?"
    steps = [r.full, r.dump, inc] + ([r.what_if] if r.what_if else [])
    out = [
        "Incremental task sync vs a Flower holding many tasks (bench/sync.py)",
        *machine_lines(r.load_at_start),
        f"flower    synthetic (bench.synthetic_flower): {ready['tasks_held']:,} tasks over the "
        f"last {args.hours:g} h ({states}), {ready['events']:,} events fed in "
        f"{ready['fill_seconds']:.1f} s; RSS {r.status.get('rss_mb', 0):.0f} MB, "
        f"peak {r.status.get('peak_rss_mb', 0):.0f} MB",
        f"console   TaskSync(page_size={sync.page_size}), first incremental page twice the "
        f"last walk's new tasks (min {FIRST_INCREMENTAL_PAGE}; a full page after a full load), "
        f"overlap {sync.overlap:g} s",
        "",
        *step_table(steps),
        "",
        f"step 1 pages (http): first {pages[0]:.3f} s, median {statistics.median(pages):.3f} s, "
        f"last {pages[-1]:.3f} s, max {max(pages):.3f} s",
        f"step 3: mode {r.inc_report.mode!r}{reason}, {r.added['added']} tasks added, "
        f"{r.inc_report.fetched} fetched, {r.inc_report.changed} changed, {r.missing} of the new "
        f"tasks missing; console holds {r.held_by_console:,}, Flower {count}",
        "step 3 requests (the incremental walk):",
        *call_table([(f"limit={c.limit}, offset={c.offset}", c) for c in inc.calls]),
        f"  client side (decode + merge): {inc.seconds - inc.http:.3f} s",
        f"Flower's cost per request (median of {PROBE_REPEATS}):",
        *call_table(r.probes),
        "",
        f"{'goal':<48}{'value':>10}{'target':>10}   verdict",
        *goal_lines("incremental", inc, r.dump),
    ]
    if r.what_if:
        out += [
            *goal_lines(f"what-if first page {args.what_if_first_page}", r.what_if, r.dump),
            f"(what-if: a twin TaskSync in the same state reads the same +{args.new} batch "
            f"with lib.sync.FIRST_INCREMENTAL_PAGE patched to {args.what_if_first_page} in this "
            "process only; not the console's current setting)",
        ]
    print("\n".join(out), flush=True)


# -- main ------------------------------------------------------------------------------------


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    # SystemExit unwinds through the ``with`` block, so the Flower child is stopped.
    log(f"{signal.Signals(signum).name}: stopping the Flower child")
    raise SystemExit(128 + signum)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks Flower holds first")
    parser.add_argument("--new", type=int, default=500, help="tasks added before step 3")
    parser.add_argument("--hours", type=float, default=6.0, help="time span of the first tasks")
    parser.add_argument("--page-size", type=int, default=1000, help="TaskSync page_size")
    parser.add_argument("--seed", type=int, default=20241122)
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="client read timeout (the dump is slow)"
    )
    parser.add_argument(
        "--what-if-first-page",
        type=int,
        default=0,
        help="also time a second incremental refresh with this first page size (0: skip)",
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, flower: SyntheticFlower, max_tasks: int) -> None:
    load_at_start = os.getloadavg()
    client = RecordingClient(flower.url, timeout=args.timeout)
    sync = TaskSync(client, page_size=args.page_size)

    log("step 1: first full load through TaskSync.refresh()")
    full, _ = timed_refresh("1 first full load (paged)", sync, client)

    log("step 2: full dump, one GET /api/tasks")
    dump = full_dump(client, limit=max_tasks)
    gc.collect()  # drop the dump's 100k dicts before timing the incremental refresh

    twin = None
    if args.what_if_first_page:
        # A second sync in exactly the same state, so the what-if reads the very same batch.
        twin = TaskSync(client, page_size=args.page_size)
        twin.store.replace(sync.store.tasks())
        twin.watermark = sync.watermark

    log(f"step 3: adding {args.new} tasks, then an incremental refresh")
    added = flower.add_tasks(args.new)
    inc, inc_report = timed_refresh(f"3 incremental after +{args.new}", sync, client)
    missing = sum(1 for task_id in added["uuids"] if sync.task(task_id) is None)
    held = len(sync.snapshot()[1])

    what_if = None
    if twin is not None:
        log(f"what-if: the same refresh with first incremental page {args.what_if_first_page}")
        # The walk reads the module constant at call time; patch it here, never in lib/.
        with mock.patch.object(lib.sync, "FIRST_INCREMENTAL_PAGE", args.what_if_first_page):
            label = f"3' same, first page {args.what_if_first_page}"
            what_if, _ = timed_refresh(label, twin, client)

    log("probing Flower's cost per request")
    probes = page_costs(client, added["tasks_held"])
    results = Results(
        ready=flower.ready,
        load_at_start=load_at_start,
        full=full,
        dump=dump,
        inc=inc,
        inc_report=inc_report,
        added=added,
        missing=missing,
        held_by_console=held,
        flower_count=added["tasks_held"],
        probes=probes,
        status=flower.status(),
        what_if=what_if,
    )
    report(args, sync, results)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C must work even when a shell started us in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    # Room for the new tasks so none of the first ones is evicted, and at least 110k as asked.
    max_tasks = max(110_000, math.ceil((args.tasks + args.new) * 1.1))
    # Flower ingests a few thousand events per second here; allow for a slow, shared machine.
    startup = 120 + args.tasks * 0.01
    log(f"starting a synthetic Flower with {args.tasks:,} tasks (max_tasks {max_tasks:,})")
    try:
        with SyntheticFlower(args.tasks, max_tasks, args.hours, args.seed, startup) as flower:
            log(f"Flower ready at {flower.url} after {flower.ready['fill_seconds']} s of filling")
            measure(args, flower, max_tasks)
    except KeyboardInterrupt:
        log("interrupted; the Flower child was stopped")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

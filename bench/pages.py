"""Benchmark: the console in a real browser (issue 12's page goals). Prints figures, never asserts.

Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright's sync API; never ``playwright
install``) opens the console served by ``streamlit run app.py`` (``bench.consoles``). A page
counts as shown once it is *idle with data*, the browser suite's rule (tests/browser):
connected, script ``notRunning``, no skeleton, a table (``stDataFrame``) visible (on the
Overview also its 7 KPI cards); checked in the page at every frame for a page opened by its
address, by the suite's ``settle`` (with its 200 ms pause) for a sidebar click
(``bench.browser``). Until 2026-12-01 every visit used ``settle``: its pause added up to 0.2 s
to a page whose data came after its first idle run.
Times run from navigation, each page reached three ways (``VISITS``): a new tab of a
*returning* browser (a context that has opened the console before, so Streamlit's frontend is
in its cache, as in an operator's browser: the goals are judged on this), a *fresh* browser
profile (nothing cached: the first visit ever), and a *click* on the page in the sidebar of an
open tab (no reload). Every ``page.goto`` is a new Streamlit session.

1. **restart**: a synthetic Flower (``bench.synthetic_flower``) holding ``--tasks`` (100k)
   tasks; the console's own collector fills a store from it (in this process); then the
   console is started ``--restarts`` times on that store and Flower for each of a returning
   browser and a fresh one, on one port (a browser's cache is per address): time from the
   server's first ``/_stcore/health`` answer to the Overview idle with data. Goal ≤ 3 s.
   Its queues' depths are read from a real ``redis-server`` (``bench.consoles.QueueBroker``,
   ``WAITING`` messages per queue), the broker of every console in parts 1, 2 and 2'.
2. **hung**: a copy of that store, ``FLOWER_URL`` a loopback socket that accepts and never
   answers, ``FLOWER_TIMEOUT=10``: each page (Overview … Audit log) timed once each way,
   after one warm-up visit (printed apart). Goal ≤ 2 s each. This is a console *started* while Flower
   hangs: it has only the store.
2'. **stall**: the same pages on a console that has been reading Flower through a loopback
   relay (``HungFlower(upstream)``) until the relay stops answering; timed once the
   collector's read has outlasted ``FLOWER_TIMEOUT``. The same goal.
3. **tabs**: a synthetic Flower holding ``--tab-tasks`` (20k, its ``--max-tasks`` too) that
   keeps receiving ``--rate`` tasks/s through its control API; ``OPS_POLL_SECONDS=2``; CPU
   seconds of the console's process group (``/proc``; browser and Flower excluded) over
   ``--seconds`` (120) with 1 Overview tab, then with ``--tabs`` (8). Goal: ratio ≤ 2.5×.
   Each tab's "Processed" card is read before and after, to show every tab kept polling.
4. **base**: the same runs on a git worktree of ``--base`` (37139b7, the last commit before
   the console read the collector; its pages read Flower directly), made under /tmp and
   removed at the end; ratios current ÷ base. ``--no-base`` skips it.

The machine is shared: read absolute figures with the load average printed beside them.

Run from the repo root:
``.venv/bin/python -m bench.pages [--quick] [--only restart,hung,stall,tabs] [--no-base]
[--tasks 100000] [--tab-tasks 20000] [--seconds 120] [--tabs 8] [--rate 10] [--restarts 2]
[--cap 60] [--base 37139b7]``. ``--quick`` = 5k/3k tasks, 20 s CPU windows, 1 restart.
A full run takes about 25 minutes (most of it the 4 CPU windows and the old commit's reloads).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from playwright.sync_api import Browser

from bench.browser import (
    Shown,
    chromium,
    click_timed,
    open_timed,
    processed_card,
    returning_browser,
    time_page,
)
from bench.consoles import (
    ConsoleServer,
    HungFlower,
    QueueBroker,
    console_env,
    copy_data_dir,
    fill_store,
    free_port,
    group_cpu_seconds,
    log,
    retarget,
)
from bench.sync import SyntheticFlower, machine_lines
from tests.browser.conftest import VIEWPORT
from tests.browser.test_console import PAGES  # the contract's page paths, as the suite has them

REPO = Path(__file__).resolve().parent.parent
HUNG_GOAL, RESTART_GOAL, TABS_GOAL = 2.0, 3.0, 2.5
HUNG_TITLE = "console started while Flower hangs (accepts, never answers; FLOWER_TIMEOUT=10):"
STALL_TITLE = "running console, then Flower hangs (a relay stops answering), FLOWER_TIMEOUT=10:"
#: Messages waiting in the synthetic cluster's queues (bench.synthetic_flower.WORKERS) on the
#: restart/stall/hung runs' broker, so the Queues page has depths to show.
WAITING = {
    "default": 120,
    "emails": 35,
    "webhooks": 4,
    "billing": 0,
    "media": 12,
    "reports": 2,
    "etl": 60,
}
WARM_UP_SECONDS = 10.0  # tabs open and polling before a CPU window starts
#: How a page is reached, the goals judged on the first: an operator's browser has opened the
#: console before. The others are printed beside it.
VISITS = {
    "returning": "a new tab of a browser that has opened the console before (its cache warm)",
    "fresh": "a new browser profile (nothing cached: Streamlit's frontend loaded from nothing)",
    "click": "chosen in the sidebar of an open tab (no reload)",
}
JUDGED = "returning"


@dataclass
class Results:
    """Everything measured for one checkout (current or base)."""

    label: str
    #: (how the Overview was opened, server start s, shown)
    restarts: list[tuple[str, float, Shown]] = field(default_factory=list)
    hung_warm_up: Shown | None = None
    hung: dict[str, dict[str, Shown]] = field(default_factory=dict)  # visit -> page -> shown
    stall_warm_up: Shown | None = None
    stall: dict[str, dict[str, Shown]] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)  # tabs -> CPU seconds
    processed: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


# -- the measurements ---------------------------------------------------------------------------


def bench_restart(
    browser: Browser, app: Path, flower_url: str, data: Path, args: argparse.Namespace, r: Results
) -> None:
    """The console restarted ``--restarts`` times for each of a returning browser and a fresh
    one (alternately), on one port: the returning browser opened it before the first."""
    env = console_env(flower_url, data, poll=args.poll, timeout=10, broker=args.broker)
    port, returning = free_port(), None
    try:
        with ConsoleServer(app, env, data.parent / f"{r.label}-restart-0.log", port=port) as first:
            returning = returning_browser(browser, first.url + "/", args.cap_restart)
        for n in range(args.restarts * 2):
            how = ("returning", "fresh")[n % 2]
            log_path = data.parent / f"{r.label}-restart-{n + 1}.log"
            with ConsoleServer(app, env, log_path, port=port) as server:
                start = server.answered - server.spawned
                shown = time_page(
                    browser,
                    server.url + "/",
                    True,
                    args.cap_restart,
                    returning if how == "returning" else None,
                )
                log(f"  {r.label} restart ({how}): server {start:.1f} s, Overview {shown.cell()}")
                r.restarts.append((how, start, shown))
    finally:
        if returning is not None:
            returning.close()


def bench_hung(
    browser: Browser, app: Path, data: Path, args: argparse.Namespace, r: Results
) -> None:
    """A console started while Flower hangs: only the store to show."""
    with HungFlower() as hung:
        env = console_env(hung.url, data, poll=args.poll, timeout=10, broker=args.broker)
        with ConsoleServer(app, env, data.parent / f"{r.label}-hung.log") as server:
            r.hung_warm_up = time_page(browser, server.url + "/", True, args.cap)
            log(f"  {r.label} hung: warm-up Overview {r.hung_warm_up.cell()}")
            time_pages(browser, server.url, args.cap, r.hung, f"{r.label} hung", visits_of(r))


def bench_stall(
    browser: Browser,
    app: Path,
    flower_url: str,
    data: Path,
    args: argparse.Namespace,
    r: Results,
) -> None:
    """A running console whose Flower stops answering: its relay hangs after a good poll."""
    upstream = flower_url.split("//", 1)[1].rstrip("/").split(":")
    with HungFlower((upstream[0], int(upstream[1]))) as relay:
        retarget(data, relay.url)  # the same Flower: resume, as after a restart
        env = console_env(relay.url, data, poll=args.poll, timeout=10, broker=args.broker)
        with ConsoleServer(app, env, data.parent / f"{r.label}-stall.log") as server:
            r.stall_warm_up = time_page(browser, server.url + "/", True, args.cap_restart)
            log(f"  {r.label} stall: Overview before the hang {r.stall_warm_up.cell()}")
            relay.hang()
            time.sleep(10 + 2 * args.poll)  # FLOWER_TIMEOUT passes: the collector's read hangs
            time_pages(browser, server.url, args.cap, r.stall, f"{r.label} stall", visits_of(r))


def visits_of(r: Results) -> tuple[str, ...]:
    """How ``r``'s pages are reached: every way on this checkout, the judged one on the base
    (its pages wait out the cap on a hung Flower: three ways would take half an hour)."""
    return tuple(VISITS) if r.label == "current" else (JUDGED,)


def time_pages(
    browser: Browser,
    url: str,
    cap: float,
    into: dict[str, dict[str, Shown]],
    what: str,
    visits: tuple[str, ...],
) -> None:
    """Every page opened each of ``visits`` ways (``VISITS``): a returning browser's new tab
    and a fresh profile's, page by page in turn, then each chosen in the sidebar of one open
    tab."""
    for visit in visits:
        into[visit] = {}
    returning = returning_browser(browser, url + "/", cap)
    try:
        for title, path in PAGES.items():
            for visit in [v for v in ("returning", "fresh") if v in visits]:
                context = returning if visit == "returning" else None
                shown = time_page(browser, url + path, title == "Overview", cap, context)
                log(f"  {what} ({visit}): {title} {shown.cell()} {shown.note}")
                into[visit][title] = shown
        if "click" not in visits:
            return
        tab = returning.new_page()
        open_timed(tab, url + "/", cap)
        for title in [*list(PAGES)[1:], "Overview"]:
            shown = click_timed(tab, title, title == "Overview", cap)
            log(f"  {what} (click): {title} {shown.cell()} {shown.note}")
            into["click"][title] = shown
    finally:
        returning.close()


def bench_tabs(
    browser: Browser, app: Path, flower_url: str, data: Path, args: argparse.Namespace, r: Results
) -> None:
    env = console_env(flower_url, data, poll=2, timeout=10)
    with ConsoleServer(app, env, data.parent / f"{r.label}-tabs.log") as server:
        for count in (1, args.tabs):
            contexts = [
                browser.new_context(viewport=VIEWPORT, timezone_id="UTC") for _ in range(count)
            ]
            try:
                tabs = [c.new_page() for c in contexts]
                for tab in tabs:
                    open_timed(tab, server.url + "/", args.cap_restart)
                time.sleep(WARM_UP_SECONDS)  # every tab polling before the window opens
                before = [processed_card(t) for t in tabs]
                cpu0 = group_cpu_seconds(server.pid)
                time.sleep(args.seconds)  # the measured window: the console works, we wait
                r.cpu[count] = group_cpu_seconds(server.pid) - cpu0
                r.processed[count] = list(
                    zip(before, [processed_card(t) for t in tabs], strict=True)
                )
                log(f"  {r.label} tabs: {count} tab(s) {r.cpu[count]:.1f} CPU s")
            finally:
                for c in contexts:
                    c.close()


@contextmanager
def feeding(flower: SyntheticFlower, rate: float) -> Iterator[None]:
    """Add ``rate`` tasks/s to the synthetic Flower (a batch every 2 s) until the block ends."""
    stop = threading.Event()

    def feed() -> None:
        while not stop.wait(2.0):
            try:
                flower.add_tasks(max(1, round(rate * 2)))
            except requests.RequestException as exc:
                log(f"  feeding failed: {exc}")

    thread = threading.Thread(target=feed, name="feeder", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def base_checkout(commit: str) -> Iterator[Path]:
    """A detached git worktree of ``commit`` under /tmp, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="bench-base-")) / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), commit],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)], cwd=REPO, capture_output=True
        )
        subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True)


# -- the report ----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}×"


def restart_lines(runs: dict[str, Results]) -> list[str]:
    lines = ["restart (store holds the filled tasks; Flower the same):"]
    for r in runs.values():
        for n, (how, start, shown) in enumerate(r.restarts, 1):
            lines.append(
                f"  {r.label:<8} #{n} {how:<9}: server answered {start:5.1f} s after spawn; "
                f"Overview idle with data {shown.cell():>9} after that (data visible "
                f"{'—' if shown.data is None else f'{shown.data:.2f} s'}) {shown.note}"
            )
    visits = runs["current"].restarts if "current" in runs else []
    if fresh := [s.idle for how, _, s in visits if how == "fresh"]:
        lines.append(
            "  a fresh browser profile: worst "
            + ("no data" if None in fresh else f"{max(fresh):.2f} s")
            + " (printed; the goal is judged on the returning browser)"
        )
    cur = [s.idle for how, _, s in visits if how == JUDGED]
    if cur:
        worst = None if None in cur else max(cur)
        lines.append(
            f"  goal: Overview ≤ {RESTART_GOAL:g} s after the server answers — worst "
            f"{'no data' if worst is None else f'{worst:.2f} s'}: "
            f"{verdict(worst is not None and worst <= RESTART_GOAL)}"
        )
        if "base" in runs and runs["base"].restarts:
            lines.append(
                f"  ratio current ÷ base: {ratio(worst, runs['base'].restarts[0][2].idle)}"
            )
    return lines


def hung_lines(runs: dict[str, Results], kind: str, title_line: str) -> list[str]:
    labels = [r.label for r in runs.values() if getattr(r, kind)]
    if not labels:
        return []
    columns = [(lb, visit) for lb in labels for visit in VISITS if visit in getattr(runs[lb], kind)]
    head = f"  {'page':<11}" + "".join(f"{f'{lb} {visit}':>19}" for lb, visit in columns)
    head += f"{'ratio':>9}" if "base" in labels else ""
    lines = [title_line, *(f"  {v}: {what}" for v, what in VISITS.items()), head]
    warm_ups = [getattr(runs[lb], f"{kind}_warm_up") for lb in labels]
    warm = "".join(f"{w.cell():>19}" for w in warm_ups if w is not None)
    lines.append(f"  {'(warm-up)':<11}{warm}   (a fresh profile, the server's first session)")
    for title in PAGES:
        cells = [
            getattr(runs[lb], kind).get(visit, {}).get(title, Shown(None, None, "not run"))
            for lb, visit in columns
        ]
        row = f"  {title:<11}" + "".join(f"{c.cell():>19}" for c in cells)
        judged = dict(zip(columns, cells, strict=True))
        if "base" in labels:
            row += f"{ratio(judged['current', JUDGED].idle, judged['base', JUDGED].idle):>9}"
        cur = judged[labels[0], JUDGED].idle
        row += f"   {JUDGED} ≤ {HUNG_GOAL:g} s: {verdict(cur is not None and cur <= HUNG_GOAL)}"
        notes = "; ".join(f"{lb} {v}: {c.note}" for (lb, v), c in judged.items() if c.note)
        lines.append(row + (f"  ({notes})" if notes else ""))
    return lines


def tabs_lines(runs: dict[str, Results], args: argparse.Namespace) -> list[str]:
    lines = [
        f"{args.tabs} Overview tabs vs 1 (OPS_POLL_SECONDS=2, Flower adding {args.rate:g} tasks/s), "
        f"console CPU over {args.seconds:g} s:"
    ]
    got = {}
    for r in runs.values():
        if len(r.cpu) < 2:
            continue
        one, many = r.cpu[1], r.cpu[args.tabs]
        got[r.label] = many / one if one else None
        lines.append(
            f"  {r.label:<8} 1 tab {one:6.1f} CPU s ({one / args.seconds:.2f} cores), "
            f"{args.tabs} tabs {many:6.1f} CPU s ({many / args.seconds:.2f} cores): "
            f"{ratio(many, one)}"
        )
        changed = sum(1 for a, b in r.processed[args.tabs] if a != b)
        lines.append(
            f"           tabs whose 'Processed' card changed in the window: {changed}/{args.tabs}"
        )
    if got.get("current") is not None:
        lines.append(
            f"  goal: {args.tabs} tabs ≤ {TABS_GOAL:g}× one tab — {got['current']:.2f}×: "
            f"{verdict(got['current'] <= TABS_GOAL)}"
        )
    if "current" in got and "base" in got and len(runs["base"].cpu) == 2:
        cur, base = runs["current"].cpu, runs["base"].cpu
        lines.append(
            f"  ratios current ÷ base: 1 tab {ratio(cur[1], base[1])}, {args.tabs} tabs "
            f"{ratio(cur[args.tabs], base[args.tabs])}"
        )
    return lines


# -- main ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What every part of one run shares: the browser, the checkouts, options, a folder."""

    browser: Browser
    apps: dict[str, Path]  # label -> checkout
    args: argparse.Namespace
    tmp: Path
    runs: dict[str, Results]  # label -> what was measured


def run_stored(run: Run) -> str:
    """Restart, stall and hung Flower: all start from one store filled from a big Flower."""
    browser, apps, args, tmp, runs = run.browser, run.apps, run.args, run.tmp, run.runs
    max_tasks = max(110_000, int(args.tasks * 1.1))
    flog = tmp / "flower-big.log"
    with QueueBroker(tmp / "broker", WAITING) as broker:
        args.broker = broker.url  # every console of these runs samples its queues there
        with SyntheticFlower(
            args.tasks, max_tasks, 6.0, 20241122, 120 + args.tasks * 0.01, flog
        ) as flower:
            held = flower.ready["tasks_held"]
            log(f"Flower holds {held:,} tasks; filling a store with the console's collector")
            took = fill_store(flower.url, tmp / "filled", held, 600, broker=broker.url)
            if "restart" in args.only:
                for label, app in apps.items():
                    data = copy_data_dir(tmp / "filled", tmp / f"{label}-restart" / "data")
                    bench_restart(browser, app, flower.url, data, args, runs[label])
            if "stall" in args.only:
                for label, app in apps.items():
                    data = copy_data_dir(tmp / "filled", tmp / f"{label}-stall" / "data")
                    bench_stall(browser, app, flower.url, data, args, runs[label])
        if "hung" in args.only:
            for label, app in apps.items():
                data = copy_data_dir(tmp / "filled", tmp / f"{label}-hung" / "data")
                bench_hung(browser, app, data, args, runs[label])
    return f"restart/hung store: {held:,} tasks from a synthetic Flower, filled in {took:.0f} s"


def run_tabs(run: Run) -> str:
    """1 tab, then N, on each checkout, against one Flower that keeps receiving tasks."""
    browser, apps, args, tmp, runs = run.browser, run.apps, run.args, run.tmp, run.runs
    n = args.tab_tasks
    with SyntheticFlower(n, n, 6.0, 20241123, 120 + n * 0.01, tmp / "flower-tabs.log") as flower:
        held = flower.ready["tasks_held"]
        fill_store(flower.url, tmp / "tabs-filled", held, deadline_s=600)  # as if running already
        with feeding(flower, args.rate):
            for label, app in apps.items():
                data = copy_data_dir(tmp / "tabs-filled", tmp / f"{label}-tabs" / "data")
                bench_tabs(browser, app, flower.url, data, args, runs[label])
    return f"tabs: Flower holds {held:,} tasks (its max_tasks), {args.rate:g} new tasks/s"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small data, short windows")
    p.add_argument("--only", default="restart,hung,stall,tabs", help="comma-separated parts to run")
    p.add_argument("--no-base", action="store_true", help="skip the older commit")
    p.add_argument("--base", default="37139b7", help="the commit to compare against")
    p.add_argument("--tasks", type=int, default=100_000, help="tasks for restart and hung")
    p.add_argument("--tab-tasks", type=int, default=20_000, help="tasks Flower holds for tabs")
    p.add_argument("--seconds", type=float, default=120.0, help="each CPU window")
    p.add_argument("--tabs", type=int, default=8)
    p.add_argument("--rate", type=float, default=10.0, help="tasks/s added during tabs")
    p.add_argument("--restarts", type=int, default=2)
    p.add_argument("--poll", type=float, default=2.0, help="OPS_POLL_SECONDS for restart/hung")
    p.add_argument("--cap", type=float, default=40.0, help="most seconds to wait for a page")
    p.add_argument("--cap-restart", type=float, default=300.0, help="same, for a first load")
    args = p.parse_args(argv)
    if args.quick:
        args.tasks, args.tab_tasks, args.seconds, args.restarts = 5000, 3000, 20.0, 1
    args.only = set(args.only.split(","))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_at_start = os.getloadavg()
    began = time.monotonic()
    runs: dict[str, Results] = {"current": Results("current")}
    notes = []
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder, chromium() as browser:
        tmp = Path(folder)
        with base_checkout(args.base) if not args.no_base else _none() as base:
            apps = {"current": REPO} | ({"base": base} if base else {})
            if base:
                runs["base"] = Results("base")
            if args.only & {"restart", "hung", "stall"}:
                notes.append(run_stored(Run(browser, apps, args, tmp, runs)))
            if "tabs" in args.only:
                notes.append(run_tabs(Run(browser, apps, args, tmp, runs)))
    out = [
        "The console in a browser (bench/pages.py): time to idle with data, CPU per tab",
        *machine_lines(load_at_start),
        *(f"data      {n}" for n in notes),
        f"base      {'none' if args.no_base else args.base + ' (pages read Flower directly)'}",
        "",
        *restart_lines(runs),
        "",
        *hung_lines(runs, "hung", HUNG_TITLE),
        "",
        *hung_lines(runs, "stall", STALL_TITLE),
        "",
        *tabs_lines(runs, args),
        "",
        f"run time  {(time.monotonic() - began) / 60:.1f} min",
    ]
    print("\n".join(out), flush=True)
    return 0


@contextmanager
def _none() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())

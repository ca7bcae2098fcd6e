"""Where the console's CPU goes with N Overview tabs open: cProfile of every thread, by kind.

Starts a synthetic Flower holding ``--tasks`` (20k) tasks that keeps receiving ``--rate``
tasks/s, fills a store from it with the console's collector, then serves the console under a
wrapper that gives every thread its own ``cProfile.Profile`` timed by the thread's CPU clock
(``threading.setprofile``), opens
``--tabs`` (8) Overview tabs, waits ``--seconds`` (60) and stops the server. The profiles are
grouped by thread kind — the collector's thread, script runs (``ScriptRunner``: every page
and fragment rerun of every tab), and the rest (Tornado, websockets) — and each group's top
functions by cumulative CPU time are printed. A diagnosis aid: profiling slows the console
down, so read shares, not absolute times.

Run from the repo root: ``.venv/bin/python -m bench.profile_console [--tabs 8] [--seconds 60]
[--tasks 20000] [--rate 10] [--top 25] [--app DIR]`` (``--app``: another checkout).
"""

from __future__ import annotations

import argparse
import pstats
import sys
import tempfile
import time
from pathlib import Path

from bench.browser import chromium, open_timed
from bench.consoles import ConsoleServer, console_env, fill_store, log
from bench.pages import REPO, feeding
from bench.sync import SyntheticFlower
from tests.browser.conftest import VIEWPORT

__all__ = ["main"]

#: Runs streamlit with a profiler per thread; on exit each thread's stats go to DUMP_DIR.
WRAPPER = """
import atexit, cProfile, os, sys, threading, time
DUMP_DIR = sys.argv.pop(1)
profiles = []
def start(*_):
    sys.setprofile(None)
    p = cProfile.Profile(time.thread_time)  # CPU time of this thread, not wall time
    profiles.append((threading.current_thread().name, p))
    p.enable()
threading.setprofile(start)
start()
def dump():
    for i, (name, p) in enumerate(profiles):
        p.disable()
        safe = "".join(c if c.isalnum() else "_" for c in name)
        p.dump_stats(os.path.join(DUMP_DIR, f"{i:05d}-{safe}.prof"))
atexit.register(dump)
from streamlit.web.cli import main
sys.argv[0] = "streamlit"
main()
"""


def kind(name: str) -> str:
    if name.startswith("collector"):
        return "collector thread"
    if "scriptrunner" in name.lower():
        return "script runs (pages, fragments)"
    return "other threads (server, websockets)"


def report(dump_dir: Path, top: int) -> None:
    groups: dict[str, list[str]] = {}
    for path in sorted(dump_dir.glob("*.prof")):
        groups.setdefault(kind(path.stem.split("-", 1)[1]), []).append(str(path))
    for group, paths in groups.items():
        stats = pstats.Stats(*paths, stream=sys.stdout)
        print(f"\n===== {group}: {len(paths)} thread(s), {stats.total_tt:.1f} s profiled")
        stats.strip_dirs().sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_console")
    p.add_argument("--tasks", type=int, default=20_000)
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--tabs", type=int, default=8)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--app", type=Path, default=REPO)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
        tmp = Path(folder)
        dumps = tmp / "profiles"
        dumps.mkdir()
        n = args.tasks
        with SyntheticFlower(n, n, 6.0, 20241123, 120 + n * 0.01, tmp / "flower.log") as flower:
            fill_store(flower.url, tmp / "data", flower.ready["tasks_held"], deadline_s=600)
            launcher = [sys.executable, "-c", WRAPPER, str(dumps)]
            env = console_env(flower.url, tmp / "data", poll=2, timeout=10)
            with feeding(flower, args.rate), chromium() as browser:
                with ConsoleServer(args.app, env, tmp / "console.log", launcher=launcher) as srv:
                    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(args.tabs)]
                    for context in contexts:
                        open_timed(context.new_page(), srv.url + "/", 300)
                    log(f"{args.tabs} tabs open; profiling for {args.seconds:g} s")
                    time.sleep(args.seconds)  # the tabs poll, the console works
                    for context in contexts:
                        context.close()
                log("server stopped; reading the profiles")
        report(dumps, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

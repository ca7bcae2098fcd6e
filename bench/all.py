"""Every benchmark, one after the other, each in its own process; figures only, never asserts.

Runs ``bench.store`` (ingest, size, pruning), ``bench.sync`` (incremental sync against a 100k
Flower), ``bench.frames`` (analytics frames at 10k/100k/1M) and ``bench.pages`` (the browser
goals of issue 12, against the older commit too), printing each one's report as it ends and
how long each took. One failing benchmark does not stop the others; the exit code is 1 if any
failed. Run on a quiet machine: every figure is a time or a CPU share.

Run from the repo root: ``.venv/bin/python -m bench.all [--quick] [--skip pages,frames]``.
``--quick`` runs each one's short form (about 10 minutes in all); the full run takes about
45 minutes (most of it ``bench.pages``: four 120 s CPU windows and the older commit's reloads).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
#: name -> (full arguments, quick arguments)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "store": ([], ["--quick"]),
    "sync": ([], ["--tasks", "10000"]),
    "frames": ([], ["--sizes", "10000", "100000"]),
    "pages": ([], ["--quick"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.all", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's short form")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    began, failed, took = time.monotonic(), [], {}
    for name, (full, quick) in BENCHES.items():
        if name in skip:
            continue
        command = [sys.executable, "-m", f"bench.{name}", *(quick if args.quick else full)]
        print(f"\n===== {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        # stdout (the report) comes through; progress on stderr is dropped unless it fails
        done = subprocess.run(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
        took[name] = time.monotonic() - started
        if done.returncode != 0:
            failed.append(name)
            print(f"bench.{name} failed ({done.returncode}):\n{done.stderr[-3000:]}", flush=True)
    print("\n===== run times: " + ", ".join(f"{n} {s / 60:.1f} min" for n, s in took.items()))
    print(f"total {(time.monotonic() - began) / 60:.1f} min; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

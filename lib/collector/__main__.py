"""``./ops collect``: the collector alone, in the foreground, on the configured cluster.

Reads the same configuration as the console (the environment, then ``.streamlit/secrets.toml``'s
top-level keys), writes the store ``OPS_STORE_URL`` names, and prints one line per poll at
most every ``--every`` seconds (and at once whenever the health changes between working and
failing). Never prints a secret: every line is scrubbed. Ctrl-C (or SIGTERM) stops it.
Exit codes: 0 stopped, 2 the configuration or the store cannot be used.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import tomllib
from collections.abc import Callable

from lib.collector.health import CollectorHealth, health_sentence
from lib.collector.loop import Collector, PollReport
from lib.errors import ConsoleError
from lib.redact import SCRUBBER, protect
from lib.settings import load_settings, secrets_toml
from lib.store import Store

__all__ = ["main", "poll_line"]


def poll_line(report: PollReport, health: CollectorHealth) -> str:
    """One poll in one line: what it did, then the health sentence at the poll's end."""
    done = f"{report.mode} sync, {report.fetched} read" if report.mode else "no sync"
    counts = f"{done}, {report.written} written, {report.samples} samples"
    if report.pruned:
        counts += f", {report.pruned} pruned"
    end = report.started + report.seconds
    return f"{counts} in {report.seconds:.1f} s — {health_sentence(health, end)}"


def _printer(
    every: float, out: Callable[[str], None]
) -> Callable[[PollReport, CollectorHealth], None]:
    last: list[float | None] = [None]
    failing: list[bool] = [False]

    def on_poll(report: PollReport, health: CollectorHealth) -> None:
        now = time.monotonic()
        changed = failing[0] != bool(report.problems)
        if changed or last[0] is None or now - last[0] >= every:
            out(str(SCRUBBER(poll_line(report, health))))
            last[0], failing[0] = now, bool(report.problems)

    return on_poll


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./ops collect", description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=10.0, help="seconds between lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for chatty in ("urllib3", "lib.sync"):  # each poll's line already says what failed
        logging.getLogger(chatty).setLevel(logging.ERROR)
    try:
        settings = load_settings(os.environ, secrets_toml())
        protect(settings.secrets)
        store = Store.from_settings(settings)
    except (ConsoleError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"ops collect: {SCRUBBER(str(exc))}", file=sys.stderr)
        return 2
    say = lambda line: print(line, flush=True)  # noqa: E731 - one line, named for reading
    collector = Collector(settings, store, on_poll=_printer(args.every, say))
    where = f"Flower at {settings.flower_display_url}"
    say(
        f"collecting {where} every {settings.poll_seconds:g} s into the history store; Ctrl-C stops"
    )
    if collector.resumed:
        say(health_sentence(collector.health, time.time()) + " Resuming from the kept cursor.")
    collector.run_forever()
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

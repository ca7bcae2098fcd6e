"""``./ops collect``: the collector alone, in the foreground, on the configured cluster(s).

Reads the same configuration as the console (the environment, then ``.streamlit/secrets.toml``'s
top-level keys), writes the store ``OPS_STORE_URL`` names, and prints one line per poll at
most every ``--every`` seconds (and at once whenever the health changes between working and
failing). With ``OPS_CLUSTERS_FILE``, one collector thread per cluster, each into its own part of
the store, its lines prefixed with ``[<cluster>]`` (``lib.collector.every_cluster``). Never
prints a secret: every line is scrubbed. Ctrl-C (or SIGTERM) stops it.
Exit codes: 0 stopped, 2 the configuration or the store (every cluster's) cannot be used.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import tomllib

from lib.clusters import load_clusters
from lib.collector.every_cluster import collect_every_cluster
from lib.collector.health import health_sentence
from lib.collector.lines import PollPrinter, poll_line
from lib.collector.loop import Collector
from lib.errors import ConsoleError
from lib.redact import SCRUBBER, protect
from lib.settings import load_settings, secrets_toml
from lib.store import Store

__all__ = ["main", "poll_line"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./ops collect", description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=10.0, help="seconds between lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for chatty in ("urllib3", "lib.sync"):  # each poll's line already says what failed
        logging.getLogger(chatty).setLevel(logging.ERROR)
    try:
        secrets = secrets_toml()
        settings = load_settings(os.environ, secrets)
        protect(settings.secrets)
        several = settings.clusters_file is not None
        book = load_clusters(settings, os.environ, secrets) if several else None
        store = None if several else Store.from_settings(settings)
    except (ConsoleError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"ops collect: {SCRUBBER(str(exc))}", file=sys.stderr)
        return 2
    say = lambda line: print(line, flush=True)  # noqa: E731 - one line, named for reading
    if book is not None:
        return collect_every_cluster(book, args.every, say)
    collector = Collector(settings, store, on_poll=PollPrinter(args.every, say))
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

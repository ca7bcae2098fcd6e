"""``./ops collect`` with ``OPS_CLUSTERS_FILE``: one process, one ``Collector`` thread per cluster.

Each cluster's collector writes its own part of the store (``Store.from_settings`` of the
cluster's settings: a file beside OPS_STORE_URL's for SQLite, a schema for PostgreSQL), with its
own Flower client and FLOWER_TIMEOUT (a hung Flower slows only its own loop), and prints one line
per poll prefixed with ``[<cluster>]``. With OPS_METRICS_PORT set, their exporters share one
``/metrics`` + ``/healthz`` server (``lib.metrics.port``).

Invariants: a cluster whose store cannot be opened is said in plain words and left out while the
others run; none left is exit 2. SIGINT or SIGTERM stops every collector (each asked first, then
waited for: about the longest FLOWER_TIMEOUT in all). Lines never interleave and are scrubbed of
every cluster's secrets (the caller protected them).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

from lib.clusters import ClusterBook
from lib.collector.health import health_sentence
from lib.collector.lines import PollPrinter
from lib.collector.loop import Collector
from lib.errors import ConsoleError
from lib.redact import SCRUBBER, redact_url
from lib.settings import Settings
from lib.store import Store

__all__ = ["collect_every_cluster", "open_collectors"]

#: How often the waiting main thread looks up (a signal's handler runs between its waits).
WAKE_SECONDS = 1.0


def collect_every_cluster(book: ClusterBook, every: float, say: Callable[[str], None]) -> int:
    """Run a collector per cluster of ``book`` until SIGINT/SIGTERM; the exit code."""
    lock = threading.Lock()

    def out(line: str) -> None:
        with lock:  # the collectors print from their own threads
            say(str(SCRUBBER(line)))

    if book.notice:
        out(book.notice)
    collectors = open_collectors(book, every, out)
    if not collectors:
        out("No cluster can be collected: none of their history stores opens (see above).")
        return 2
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        for collector in collectors:
            collector.start()
        names = ", ".join(c.cluster for c in collectors)
        out(f"collecting {len(collectors)} clusters ({names}); Ctrl-C stops")
        while not stop.wait(WAKE_SECONDS):
            pass
    finally:
        for collector in collectors:
            collector.stop(timeout=0)  # all asked at once: the waits below overlap
        for collector in collectors:
            collector.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out("stopped")
    return 0


def open_collectors(book: ClusterBook, every: float, out: Callable[[str], None]) -> list[Collector]:
    """A collector for each cluster whose store opens (said, with where it writes); a cluster
    whose store does not is said in plain words and left out."""
    collectors = []
    for cluster in book.clusters:
        prefix = f"[{cluster.cluster}] "
        try:
            store = Store.from_settings(cluster)
            printer = PollPrinter(every, out, prefix)
            collector = Collector(cluster, store, cluster=cluster.cluster, on_poll=printer)
        except (ConsoleError, OSError) as exc:
            out(f"{prefix}not collected: its history store cannot be used. {exc}")
            continue
        out(prefix + _where(cluster))
        if collector.resumed:
            out(prefix + health_sentence(collector.health, time.time()) + " Resuming.")
        collectors.append(collector)
    return collectors


def _where(cluster: Settings) -> str:
    return (
        f"collecting Flower at {cluster.flower_display_url} every {cluster.poll_seconds:g} s "
        f"into {redact_url(cluster.cluster_store_url)}"
    )

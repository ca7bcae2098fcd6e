"""The read half of ``bench.million``: one store read as the console reads it, timed, with RSS.

Run in its own process by ``bench.million`` (its RSS is then a console's): a ``ClusterMonitor``
over the store and a stopped collector readout; each reading once cold, then warm: rebuilt with
the database's caches warm. The monitor builds a store reading once per version
(``ClusterMonitor._build_version``): per poll for samples and the snapshot, but per task rows
written (``health.tasks_written``) and minute of data for what the task rows give, so a new poll
alone would hand the cold result back. ``Stopped.next_poll`` moves both the poll version and
``tasks_written`` on, as a poll that wrote task rows does: every warm figure is a real rebuild.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.frames import TaskFilter, workers_frame
from lib.monitor import ClusterMonitor
from lib.settings import Settings
from lib.store import Store

__all__ = ["read_figures", "rss_mb"]

WEEK = "Last 7 days"
PAGE = 10_000  # the Tasks page's rows (screens/tasks.py MAX_ROWS)


@dataclass
class Stopped:
    """A collector as the monitor reads it, stopped; ``next_poll`` makes every reading stale."""

    now: float
    version: int = 1
    health: CollectorHealth = field(init=False)

    def __post_init__(self) -> None:
        self.health = CollectorHealth(data_until=self.now)

    @property
    def snapshot(self) -> CollectorSnapshot:
        depths = {"default": 3, "fast": 0}
        workers = workers_frame([], {}, {})
        return CollectorSnapshot(
            version=self.version, depths=depths, depths_at=self.now, workers=workers
        )

    def next_poll(self) -> None:
        """A poll that wrote task rows: every reading the monitor holds is built again."""
        self.version += 1
        self.health = replace(self.health, tasks_written=self.health.tasks_written + 1)

    def wait_polled(self, version: int, timeout: float) -> bool:
        return True

    def wake(self) -> None:
        pass


def rss_mb() -> tuple[float, float]:
    """This process's resident memory now and at its peak, in MB."""
    found = {}
    with open("/proc/self/status") as status:
        lines = status.read().splitlines()
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


def _timed(readout: Stopped, read: Callable[[], object]) -> tuple[float, float, object]:
    """Seconds cold and warm (the second rebuilt after ``next_poll``), and the warm value."""
    began = time.perf_counter()
    read()
    cold = time.perf_counter() - began
    readout.next_poll()
    began = time.perf_counter()
    value = read()
    return cold, time.perf_counter() - began, value


def readings(monitor: ClusterMonitor, now: float) -> dict[str, Callable[[], object]]:
    end = datetime.fromtimestamp(now, UTC)
    start = end - timedelta(days=7)
    name = monitor.task_values()["name"][0]
    return {
        "trends": lambda: monitor.analytics(start, end, WEEK),
        "errors": lambda: monitor.failures(start, end, WEEK),
        "tasks_filtered": lambda: monitor.task_page(TaskFilter(states=("FAILURE",)), PAGE),
        "tasks_by_name": lambda: monitor.task_page(TaskFilter(names=(name,)), PAGE),
        "tasks_unfiltered": lambda: monitor.task_page(TaskFilter(), PAGE),
        "tasks_search": lambda: monitor.task_page(TaskFilter(text="sku-19 user"), PAGE),
        "tasks_last_day": lambda: monitor.task_page(
            TaskFilter(received_from=end - timedelta(days=1), states=("SUCCESS",)), PAGE
        ),
        "queues": monitor.queues,
        "tasks_recent": monitor.tasks,
        "task_values": monitor.task_values,  # the page's choosers, once per poll
        "tasks_held": monitor.tasks_held,  # the sidebar's count, once per poll
    }


def read_figures(url: str, now: float) -> dict:
    """Every reading's warm seconds (cold too, for the record) and the RSS, as a dict."""
    store = Store(url)
    readout = Stopped(now)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(flower_url="http://127.0.0.1:9", data_dir=tmp, store_url=url)
        monitor = ClusterMonitor(settings, store, readout, clock=lambda: now)
        figures: dict = {"stored": store.task_count()}
        for key, read in readings(monitor, now).items():
            cold, warm, value = _timed(readout, read)
            figures[f"{key}_cold_s"], figures[f"{key}_warm_s"] = cold, warm
            page = getattr(getattr(value, "value", None), "matching", None)
            if page is not None:
                figures[f"{key}_matching"] = page
        figures["rss_mb"], figures["rss_peak_mb"] = rss_mb()
    store.close()
    return figures

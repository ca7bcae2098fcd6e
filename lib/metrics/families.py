"""``ConsoleMetrics``: a Prometheus collector that formats the latest reading, declared once.

Like celery-exporter's, every metric is declared once (``METRICS``: name, type, help, labels)
and filled at scrape time from what the collector's last poll computed (``MetricsReading``),
what it saw finish (``FinishedView``) and its health: a scrape reads no store and asks no one.

Invariants: every series carries ``cluster`` first; names are the contract's
(``celery_console_*``); every label value is scrubbed of the configured secrets; a metric with no
value (never read yet) has no series rather than a made-up zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from lib.metrics.finished import FinishedView
from lib.metrics.readings import MetricsReading
from lib.redact import scrub

if TYPE_CHECKING:  # types only: lib.collector imports this package
    from lib.collector.health import CollectorHealth

__all__ = ["METRICS", "PREFIX", "ConsoleMetrics", "MetricSpec"]

PREFIX = "celery_console_"


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric: its name (without ``PREFIX``), type, help text and labels."""

    name: str
    kind: str  # gauge | counter | histogram
    help: str
    labels: tuple[str, ...] = ()


METRICS = (
    MetricSpec("queue_messages", "gauge", "Messages waiting in the queue (broker).", ("queue",)),
    MetricSpec("queue_consumers", "gauge", "Online workers consuming the queue.", ("queue",)),
    MetricSpec("workers", "gauge", "Workers by state (online, offline).", ("state",)),
    MetricSpec("tasks", "gauge", "Tasks in the store by effective state.", ("task", "state")),
    MetricSpec(
        "task_failures",
        "gauge",
        "Failed tasks in the store by exception type and error category.",
        ("task", "exception", "category"),
    ),
    MetricSpec(
        "tasks_finished",
        "counter",
        "Tasks this collector saw finish (since it started).",
        ("task", "state"),
    ),
    MetricSpec(
        "task_runtime_seconds",
        "gauge",
        "Runtime percentiles over the last hour (linear interpolation).",
        ("task", "quantile"),
    ),
    MetricSpec(
        "queue_wait_seconds",
        "gauge",
        "Queue wait percentiles over the last hour (linear interpolation).",
        ("queue", "quantile"),
    ),
    MetricSpec(
        "task_runtime_histogram_seconds",
        "histogram",
        "Runtimes of the tasks this collector saw finish.",
        ("task",),
    ),
    MetricSpec(
        "queue_wait_histogram_seconds",
        "histogram",
        "Queue waits of the tasks this collector saw finish.",
        ("queue",),
    ),
    MetricSpec(
        "alerts_firing", "gauge", "Firing alerts by rule and severity.", ("rule", "severity")
    ),
    MetricSpec(
        "collector_last_success_timestamp_seconds",
        "gauge",
        "When the collector's last fully successful poll ended (epoch seconds).",
    ),
    MetricSpec(
        "collector_consecutive_failed_polls",
        "gauge",
        "Polls in a row that had a problem (0 when the last one worked).",
    ),
)
FAMILIES = {"gauge": GaugeMetricFamily, "counter": CounterMetricFamily}


class ConsoleMetrics(Collector):
    """Yields ``METRICS`` for one cluster from the getters of the latest figures."""

    def __init__(
        self,
        cluster: str,
        reading: Callable[[], MetricsReading | None],
        finished: Callable[[], FinishedView],
        health: Callable[[], CollectorHealth],
        secrets: Iterable[str] = (),
    ):
        self.cluster, self.secrets = cluster, tuple(secrets)
        self._reading, self._finished, self._health = reading, finished, health

    def describe(self) -> Iterator[Metric]:
        for spec in METRICS:
            yield self._family(spec)

    def collect(self) -> Iterator[Metric]:
        values = self._values()
        for spec in METRICS:
            family = self._family(spec)
            for labels, value in values.get(spec.name, {}).items():
                labels = [self._clean(v) for v in (self.cluster, *labels)]
                if spec.kind == "histogram":
                    family.add_metric(labels, value.cumulative(), value.total)
                else:
                    family.add_metric(labels, value)
            yield family

    def _values(self) -> dict[str, dict]:
        """Each metric's label values (after ``cluster``) → value."""
        reading, finished, health = self._reading(), self._finished(), self._health()
        values: dict[str, dict] = {
            "tasks_finished": finished.finished,
            "task_runtime_histogram_seconds": {(k,): h for k, h in finished.runtime.items()},
            "queue_wait_histogram_seconds": {(k,): h for k, h in finished.wait.items()},
            "collector_consecutive_failed_polls": {(): health.consecutive_failures},
        }
        if health.last_success is not None:
            values["collector_last_success_timestamp_seconds"] = {(): health.last_success}
        if reading is not None:
            values.update(_reading_values(reading))
        return values

    def _family(self, spec: MetricSpec) -> Metric:
        labels = ["cluster", *spec.labels]
        if spec.kind == "histogram":
            return HistogramMetricFamily(PREFIX + spec.name, spec.help, labels=labels)
        return FAMILIES[spec.kind](PREFIX + spec.name, spec.help, labels=labels)

    def _clean(self, value: object) -> str:
        return scrub(str(value), self.secrets)


def _reading_values(reading: MetricsReading) -> dict[str, dict]:
    messages = {(q,): m for q, (m, _) in reading.queues.items() if m is not None}
    return {
        "queue_messages": messages,
        "queue_consumers": {(q,): c for q, (_, c) in reading.queues.items()},
        "workers": {(state,): n for state, n in reading.workers.items()},
        "tasks": reading.tasks,
        "task_failures": reading.failures,
        "task_runtime_seconds": reading.runtime,
        "queue_wait_seconds": reading.wait,
        "alerts_firing": reading.firing,
    }

"""Prometheus metrics of what only the console knows, served by the collector (issue 16).

By concern: ``labels`` (``LabelCap``: bounded label values, the rest ``other``), ``finished``
(counters and histograms of the tasks the collector saw finish), ``readings`` (the gauges,
read once per poll from the store and the collector's snapshot), ``families`` (the Prometheus
collector: every metric declared once, filled at scrape time), ``server`` (``/metrics`` and
``/healthz``), ``port`` (``MetricsPort``: one server per address:port in a process, serving every
cluster's exporter), ``exporter`` (``MetricsExporter``: the piece a ``Collector`` owns when
``OPS_METRICS_PORT`` is set). Names and labels: contract.md, "Prometheus names".
"""

from lib.metrics.exporter import MetricsExporter
from lib.metrics.families import METRICS, PREFIX, ConsoleMetrics
from lib.metrics.labels import OTHER, LabelCap
from lib.metrics.port import MetricsPort
from lib.metrics.server import FAILED_POLLS, health_answer, healthz_answer

__all__ = [
    "FAILED_POLLS",
    "METRICS",
    "OTHER",
    "PREFIX",
    "ConsoleMetrics",
    "LabelCap",
    "MetricsExporter",
    "MetricsPort",
    "health_answer",
    "healthz_answer",
]

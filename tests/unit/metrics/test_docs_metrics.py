"""The Grafana dashboard and the Prometheus alert rules in docs/ use only exported metrics: every
``celery_console_*`` name in them is a sample name of a scrape where every metric has a value."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.factories import task_payload
from tests.unit.metrics.scrapes import (
    FIRING,
    NOW,
    add_alerts,
    exporter_for,
    fill,
    payloads,
    scrape,
    snapshot,
)

DOCS = Path(__file__).resolve().parents[3] / "docs"
NAME = re.compile(r"\bcelery_console_[A-Za-z0-9_]+")


def exported_names(store, tmp_path) -> set[str]:
    exporter = exporter_for(store, tmp_path)
    fill(store, exporter, [*payloads(), task_payload("recent", at=NOW - 30, name="app.t0")])
    add_alerts(store, FIRING)
    exporter.after_poll(snapshot(), NOW)
    return {name for name, _ in scrape(exporter)[1]}


def expressions(value: object) -> list[str]:
    """Every ``expr``/``query``/``definition`` string in a Grafana dashboard."""
    if isinstance(value, dict):
        own = [v for k, v in value.items() if k in ("expr", "definition") and isinstance(v, str)]
        return own + [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions(v)]
    return []


def test_the_grafana_dashboard_uses_only_exported_metrics(store, tmp_path):
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    used = {name for expr in expressions(dashboard) for name in NAME.findall(expr)}
    assert len(used) >= 8, used
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for wanted in (
        "queue depth",
        "workers online",
        "failure rate by task",
        "runtime p95",
        "alerts",
    ):
        assert wanted in titles
    exported = exported_names(store, tmp_path)
    assert used <= exported, used - exported


def test_the_prometheus_rules_use_only_exported_metrics(store, tmp_path):
    text = (DOCS / "prometheus-alerts.yml").read_text()
    used = set(NAME.findall(text))
    alerts = re.findall(r"^\s+- alert: (\w+)$", text, re.M)
    assert len(re.findall(r"^\s+expr:", text, re.M)) == len(alerts) >= 4
    for wanted in ("WorkerOffline", "QueueBacklog", "FailureRate", "CollectorStale"):
        assert any(wanted in name for name in alerts), alerts
    exported = exported_names(store, tmp_path)
    assert used <= exported, used - exported

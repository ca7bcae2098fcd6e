"""The snapshot document: its fields and their types, times with offset, no NaN, secrets
scrubbed, the version from pyproject; and its parts gathered from a real store."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.frames.attention import Attention
from lib.redact import Scrubber
from lib.snapshot_export import SNAPSHOT_FORMAT, SnapshotParts, snapshot_bytes, snapshot_document
from lib.version import VERSION, read_version

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KPIS = {
    "workers_online": 1,
    "workers_total": 2,
    "processed": 40,
    "failed": 15,
    "error_rate": 27.27,
    "avg_runtime": 0.5,
    "p95_runtime": float("nan"),
    "backlog": None,
    "window_start": NOW - timedelta(days=1),
    "holds_less_than_window": True,
    "oldest_task": NOW - timedelta(hours=2),
}
TOP = {
    "format": int,
    "generated_at": str,
    "version": str,
    "cluster": str,
    "console_url": str,
    "data_until": str,
    "window": dict,
    "kpis": dict,
    "workers": list,
    "queues": type(None),
    "alerts": list,
    "error_groups": list,
    "workflows": list,
    "attention": list,
    "unavailable": dict,
}


def parts(**kw) -> SnapshotParts:
    workers = pd.DataFrame(
        {
            "worker": ["celery@a", "celery@b"],
            "online": [True, False],
            "active": pd.array([2, None], dtype="Int64"),
            "last_heartbeat": pd.to_datetime([NOW, pd.NaT], utc=True),
            "queues": [["default"], []],
        }
    )
    alerts = pd.DataFrame(
        {
            "rule": ["worker_offline"],
            "subject": ["celery@b"],
            "summary": ["celery@b offline; flower said amqp://u:flower-pw-9@x"],
            "fired_at": pd.to_datetime([NOW], utc=True),
            "value": [np.nan],
        }
    )
    groups = pd.DataFrame({"signature": ["Error <n>"], "count": [3], "share": [20.0]})
    flows = pd.DataFrame({"root_id": ["r1"], "state": ["RUNNING"], "duration": [12.5]})
    given = {
        "cluster": "default",
        "generated_at": NOW,
        "window": (NOW - timedelta(days=1), NOW),
        "kpis": KPIS,
        "workers": workers,
        "queues": None,
        "alerts": alerts,
        "error_groups": groups,
        "workflows": flows,
        "attention": [Attention("Worker offline", "celery@b", "celery@b is offline", "w.py")],
        "data_until": NOW.timestamp() - 5,
        "console_url": "https://ops.example.com",
        "unavailable": {"queues": "The broker did not answer"},
    }
    return SnapshotParts(**{**given, **kw})


def test_the_documents_fields_and_their_types():
    doc = snapshot_document(parts(), version="9.9.9")
    assert {k: type(v) for k, v in doc.items()} == TOP
    assert doc["format"] == SNAPSHOT_FORMAT == 1
    assert (doc["version"], doc["cluster"]) == ("9.9.9", "default")
    assert doc["generated_at"] == "2026-11-30T12:00:00+00:00"
    assert doc["data_until"] == "2026-11-30T11:59:55+00:00"
    assert doc["window"] == {"start": "2026-11-29T12:00:00+00:00", "end": doc["generated_at"]}
    figures = {k: v for k, v in KPIS.items() if k not in ("window_start", "holds_less_than_window")}
    assert doc["kpis"] == {
        **figures,
        "p95_runtime": None,  # NaN: unknown
        "oldest_task": "2026-11-30T10:00:00+00:00",
    }
    assert doc["workers"][1] == {
        "worker": "celery@b",
        "online": False,
        "active": None,
        "last_heartbeat": None,
        "queues": [],
    }
    assert doc["workers"][0]["last_heartbeat"] == "2026-11-30T12:00:00+00:00"
    assert doc["alerts"][0]["fired_at"] == "2026-11-30T12:00:00+00:00"
    assert doc["workflows"] == [{"root_id": "r1", "state": "RUNNING", "duration": 12.5}]
    assert doc["attention"] == [
        {"kind": "Worker offline", "subject": "celery@b", "sentence": "celery@b is offline"}
    ]
    assert doc["unavailable"] == {"queues": "The broker did not answer"}


def test_the_file_is_strict_json_with_secrets_scrubbed():
    scrubber = Scrubber()
    scrubber.remember(["flower-pw-9"])
    text = snapshot_bytes(parts(), scrubber=scrubber).decode()
    assert "flower-pw-9" not in text and "NaN" not in text
    doc = json.loads(text)
    assert doc["alerts"][0]["summary"] == "celery@b offline; flower said amqp://u:***@x"
    assert doc["alerts"][0]["value"] is None


def test_a_section_that_could_not_be_read_is_null():
    doc = snapshot_document(parts(error_groups=None, unavailable={"error_groups": "store down"}))
    assert doc["error_groups"] is None and doc["unavailable"] == {"error_groups": "store down"}


def test_the_version_is_pyprojects():
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert tomllib.loads(pyproject.read_text())["project"]["version"] == VERSION
    assert snapshot_document(parts())["version"] == VERSION


@pytest.mark.parametrize(
    ("text", "expected"),
    [('[project]\nversion = "2.3.4"\n', "2.3.4"), ("[project]\n", "unknown"), ("= x", "unknown")],
    ids=["set", "missing", "broken"],
)
def test_read_version(tmp_path, text, expected):
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    assert read_version(path) == expected
    assert read_version(tmp_path / "absent.toml") == "unknown"

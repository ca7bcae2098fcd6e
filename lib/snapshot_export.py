"""The Overview's ``Download snapshot``: the whole current state of one cluster as one JSON
document, for other tools (a ticket, a chat bot, a status page).

``snapshot_document`` is pure: ``SnapshotParts`` (what the Overview shows, plus the firing alerts,
error groups and running workflows it reads from the store) in, a JSON-ready dict out.
``gather_parts`` assembles the parts from the monitor: the collector's latest readings and the
store, never Flower (a download must not wait on it). The document's fields (``format`` 1):

- ``format`` (int), ``generated_at`` (ISO 8601, UTC), ``version`` (the console's: pyproject),
  ``cluster`` (its name; ``default`` with one), ``console_url`` (``OPS_PUBLIC_URL`` or null),
  ``data_until`` (when the collector's data last reached the store, ISO 8601 or null);
- ``window``: ``{start, end}`` of the KPIs and error groups (the Overview's last 24 h);
- ``kpis``: workers_online, workers_total, processed, failed, error_rate (percent of finished),
  avg_runtime and p95_runtime (s), backlog (waiting messages, null when the broker is unknown),
  oldest_task (when the store holds less than the window, else null);
- ``workers``, ``queues`` (null when the broker did not answer), ``alerts`` (firing only),
  ``error_groups``, ``workflows`` (running and pending): lists of records, the tables' columns;
- ``attention``: the "needs attention" items, ``{kind, subject, sentence}``;
- ``unavailable``: ``{section: why}`` for a section that could not be read (it is then null).

Invariants: every time is an ISO 8601 string with its offset; no NaN (null instead); text is
scrubbed of the console's secrets, and task data was masked when stored (``lib.redact``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lib import failures
from lib.errors import ConsoleError
from lib.export import json_records, json_value
from lib.frames.attention import Attention
from lib.monitor import ClusterMonitor
from lib.redact import SCRUBBER
from lib.store.alert_views import FIRING_COLUMNS
from lib.time_range import OVERVIEW
from lib.version import VERSION
from lib.workflows import workflows_frame

__all__ = [
    "SNAPSHOT_FORMAT",
    "SnapshotParts",
    "gather_parts",
    "snapshot_bytes",
    "snapshot_document",
]

#: The document's shape; a field removed or renamed makes it 2 (added fields keep it).
SNAPSHOT_FORMAT = 1
#: The sections read from the store, each of them possibly unavailable.
SECTIONS = ("workers", "queues", "alerts", "error_groups", "workflows")
#: Alert times in the store are epoch seconds; the document says them in ISO 8601.
_ALERT_TIMES = ("since", "fired_at", "acked_at")
#: The Overview's own KPI keys that are not figures (the window is said once, at the top).
_NOT_KPIS = ("holds_less_than_window", "window_start")
Scrubber = Callable[[object], object]


@dataclass(frozen=True)
class SnapshotParts:
    """What the snapshot says; a frame that could not be read is None, its reason in ``unavailable``."""

    cluster: str
    generated_at: datetime
    window: tuple[datetime, datetime]
    kpis: Mapping[str, object]
    workers: pd.DataFrame | None
    queues: pd.DataFrame | None
    alerts: pd.DataFrame | None
    error_groups: pd.DataFrame | None
    workflows: pd.DataFrame | None
    attention: Sequence[Attention] = ()
    data_until: float | None = None
    console_url: str | None = None
    unavailable: Mapping[str, str] = field(default_factory=dict)


def snapshot_document(
    parts: SnapshotParts, version: str = VERSION, scrubber: Scrubber = SCRUBBER
) -> dict[str, object]:
    """The snapshot of ``parts`` as a JSON-ready dict (fields: the module docstring)."""
    value = lambda v: json_value(v, scrubber)  # noqa: E731
    until = parts.data_until
    return {
        "format": SNAPSHOT_FORMAT,
        "generated_at": value(parts.generated_at),
        "version": version,
        "cluster": value(parts.cluster),
        "console_url": value(parts.console_url),
        "data_until": None if until is None else value(datetime.fromtimestamp(until, UTC)),
        "window": {"start": value(parts.window[0]), "end": value(parts.window[1])},
        "kpis": {k: value(v) for k, v in parts.kpis.items() if k not in _NOT_KPIS},
        **{name: _records(getattr(parts, name), scrubber) for name in SECTIONS},
        "attention": [
            {"kind": a.kind, "subject": value(a.subject), "sentence": value(a.sentence)}
            for a in parts.attention
        ],
        "unavailable": {k: value(v) for k, v in parts.unavailable.items()},
    }


def snapshot_bytes(
    parts: SnapshotParts, version: str = VERSION, scrubber: Scrubber = SCRUBBER
) -> bytes:
    """``snapshot_document`` as indented UTF-8 JSON (never NaN)."""
    document = snapshot_document(parts, version, scrubber)
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=2).encode("utf-8")


def _records(frame: pd.DataFrame | None, scrubber: Scrubber) -> list[dict] | None:
    return None if frame is None else json_records(frame, scrubber)


def gather_parts(
    monitor: ClusterMonitor,
    kpis: Mapping[str, object],
    window: tuple[datetime, datetime],
    now: datetime,
    console_url: str | None = None,
    error_rules_file: Path | None = None,
) -> SnapshotParts:
    """The snapshot's parts as the monitor holds them at ``now``: the Overview's ``kpis`` over
    its ``window`` (the last 24 h), the latest workers, queues and attention items, and from
    the store the firing alerts, the window's error groups and the workflows still running.
    No Flower call; a part that fails is said, not raised."""
    start, end = window
    unavailable: dict[str, str] = {}
    cluster = monitor.health.cluster
    read = lambda name, get: _read(name, get, unavailable)  # noqa: E731
    rules, _ = failures.rules_or_defaults(error_rules_file)
    return SnapshotParts(
        cluster=cluster,
        generated_at=now,
        window=(start, end),
        kpis=kpis,
        workers=read("workers", lambda: monitor.workers().value),
        queues=read("queues", lambda: monitor.queues().value),
        alerts=read("alerts", lambda: _alert_frame(monitor.store.firing_alerts(cluster))),
        error_groups=read(
            "error_groups",
            lambda: _groups(monitor.failures(start, end, OVERVIEW, rules).value),
        ),
        workflows=read("workflows", lambda: _running(monitor.tasks().value, now)),
        attention=monitor.attention().value or [],
        data_until=monitor.health.data_until,
        console_url=console_url,
        unavailable=unavailable,
    )


def _read(
    name: str, get: Callable[[], pd.DataFrame | None], unavailable: dict
) -> pd.DataFrame | None:
    """``get()``, or None with the reason under ``unavailable[name]``: a snapshot of what can
    be read beats no snapshot."""
    try:
        frame = get()
    except ConsoleError as exc:  # the store's failures (StoreError) are ConsoleErrors
        unavailable[name] = str(exc)
        return None
    if frame is None:
        unavailable[name] = "not read yet"
    return frame


def _alert_frame(alerts: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(alerts, columns=list(FIRING_COLUMNS))
    for col in _ALERT_TIMES:
        out[col] = pd.to_datetime(out[col].astype("float64"), unit="s", utc=True)
    return out


def _groups(failed: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if failed is None else failures.error_groups_frame(failed)


def _running(tasks: pd.DataFrame | None, now: datetime) -> pd.DataFrame | None:
    if tasks is None:
        return None
    flows = workflows_frame(tasks, now)
    return flows[flows["state"].isin(["RUNNING", "PENDING"])].reset_index(drop=True)

"""Flower's worker payloads → the workers frame: one row per worker ever seen, online or not.

Pure: payloads in, a frame out, ``now`` passed in (the clock is read only when it is not).
Every value of another type than Flower sends is read as text or left blank, never invented,
and named in an ``OddValues``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import pandas as pd

from lib.frames.odd_values import REPLACEMENT, OddValues

__all__ = ["WORKER_COLUMNS", "workers_frame"]

WORKER_COLUMNS = (
    "worker",
    "online",
    "last_heartbeat",
    "heartbeat_age",
    "active",
    "processed",
    "load_1m",
    "load_5m",
    "load_15m",
    "pool",
    "concurrency",
    "autoscale",
    "queues",
    "pid",
    "uptime",
    "up_since",
    "version",
    "main_peak_rss_mib",
)
#: Celery's rusage ``maxrss`` is in KiB on Linux (where workers run); the frame says MiB.
KIB_PER_MIB = 1024


def workers_frame(
    summaries: Iterable[Mapping],
    info: Mapping[str, Mapping] | None = None,
    status: Mapping[str, bool] | None = None,
    now: float | None = None,
    odd: OddValues | None = None,
) -> pd.DataFrame:
    """One row per worker ever seen, online or not, with the columns in ``WORKER_COLUMNS``.

    ``summaries``: Flower's ``/workers?json=1`` rows (heartbeats, counters); ``info``:
    ``/api/workers`` (pool, queues); ``status``: ``/api/workers?status=1`` (liveness).
    ``up_since`` is when the worker's current process started: Flower's inspect ``timestamp``
    (when the reply came) − ``stats.uptime`` (a restart under the same name shows as a later
    one). ``main_peak_rss_mib`` is Celery's rusage ``maxrss`` (KiB on Linux) in MiB: the peak memory
    of the worker's MAIN process only, not of its prefork children (contract.md).
    A value of another type than Flower sends is read as text (or missing where a number
    belongs) and, with ``odd`` given, named in it, as is text the client could not decode.
    """
    info = info or {}
    status = status or {}
    now = datetime.now(UTC).timestamp() if now is None else now
    odd = odd if odd is not None else OddValues("worker")
    by_host = {}
    for entry, summary in enumerate(summaries):
        if not isinstance(summary, Mapping):
            odd.add("worker list", [f"entry {entry}"])
            continue
        host = summary.get("hostname")
        if host and type(host) is not str:
            odd.add("hostname", [str(host)])
        if host:
            by_host[str(host)] = summary
    hosts = sorted(set(by_host) | set(info) | set(status))
    rows = [_worker_row(h, by_host.get(h, {}), info.get(h), status, now, odd) for h in hosts]
    frame = pd.DataFrame.from_records(rows, columns=list(WORKER_COLUMNS))
    frame["online"] = frame["online"].astype(bool)
    for col in ("last_heartbeat", "up_since"):
        frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
    for col in ("heartbeat_age", "load_1m", "load_5m", "load_15m", "uptime", "main_peak_rss_mib"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in ("active", "processed", "concurrency", "pid"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    for col in ("worker", "pool", "autoscale", "queues", "version"):
        frame[col] = frame[col].astype("string")
        undecoded = frame[col].str.contains(REPLACEMENT, regex=False).fillna(False)
        odd.add(col, frame.loc[undecoded, "worker"], undecoded=True)
    return frame


def _worker_row(
    host: str, summary: Mapping, info: object, status: Mapping, now: float, odd: OddValues
) -> dict:
    """One worker's row; every odd value is named in ``odd`` under Flower's key for it."""
    seen: set[str] = set()
    info = _as_mapping(info, "inspect info", seen)
    stats = _as_mapping(info.get("stats"), "stats", seen)
    pool = _as_mapping(stats.get("pool"), "pool", seen)
    # With --autoscale the pool's max-concurrency is stale; the autoscaler has the real size.
    scaler = _as_mapping(stats.get("autoscaler"), "autoscaler", seen)
    rusage = _as_mapping(stats.get("rusage"), "rusage", seen)
    beats = [_as_number(b, "heartbeats", seen) for b in _as_list(summary, "heartbeats", seen)]
    last = max((b for b in beats if b is not None), default=None)
    load = _as_list(summary, "loadavg", seen) or _as_list(rusage, "loadavg", seen)
    load = [_as_number(v, "loadavg", seen) for v in load[:3]] + [None] * 3
    queues = _queue_names(_as_list(info, "active_queues", seen), seen)
    online = status.get(host, summary.get("status", False))
    if type(online) is not bool:
        seen.add("status")  # "yes" or a dict is not a heartbeat verdict: offline, said so
        online = False
    number = {k: _as_number(summary.get(k), k, seen) for k in ("active", "processed", "pid")}
    version = [_as_text(summary.get(k), k, seen) for k in ("sw_ident", "sw_ver")]
    implementation = _as_text(pool.get("implementation"), "implementation", seen) or ""
    row = {
        "worker": host,
        "online": online,
        "last_heartbeat": last,
        "heartbeat_age": now - last if last is not None else None,
        "active": number["active"],
        "processed": number["processed"],
        "load_1m": load[0],
        "load_5m": load[1],
        "load_15m": load[2],
        "pool": implementation.rsplit(":", 1)[-1] or None,
        "concurrency": _as_number(
            scaler.get("current", pool.get("max-concurrency")), "max-concurrency", seen
        ),
        "autoscale": f"{scaler['min']}–{scaler['max']}" if {"min", "max"} <= set(scaler) else None,
        "queues": ", ".join(sorted(q for q in queues if q)) or None,
        "pid": number["pid"] or _as_number(stats.get("pid"), "pid", seen),
        "uptime": _as_number(stats.get("uptime"), "uptime", seen),
        "up_since": _up_since(info, stats, seen),
        "version": " ".join(v or "" for v in version).strip() or None,
        "main_peak_rss_mib": _mib(_as_number(rusage.get("maxrss"), "maxrss", seen)),
    }
    for name in seen:
        odd.add(name, [host])
    return row


def _up_since(info: Mapping, stats: Mapping, seen: set[str]) -> float | None:
    """When the process that answered the inspect started (epoch s), or None."""
    replied = _as_number(info.get("timestamp"), "timestamp", seen)
    uptime = _as_number(stats.get("uptime"), "uptime", seen)
    return None if replied is None or uptime is None else replied - uptime


def _mib(kib: float | int | None) -> float | None:
    return None if kib is None else kib / KIB_PER_MIB


def _as_mapping(value: object, name: str, seen: set[str]) -> Mapping:
    if value is None or isinstance(value, Mapping):
        return value or {}
    seen.add(name)
    return {}


def _as_list(parent: Mapping, name: str, seen: set[str]) -> list:
    value = parent.get(name)
    if value is None or isinstance(value, list | tuple):
        return list(value or ())
    seen.add(name)
    return []


def _as_number(value: object, name: str, seen: set[str]) -> float | int | None:
    if value is None or type(value) in (int, float):
        return value
    seen.add(name)
    return None


def _as_text(value: object, name: str, seen: set[str]) -> str | None:
    """Text stays text; any other value becomes its text, named in ``seen``."""
    if value is None or type(value) is str:
        return value
    seen.add(name)
    return str(value)


def _queue_names(queues: list, seen: set[str]) -> list[str]:
    """The names of a worker's active queues (kombu dicts); other items are read as names."""
    names = []
    for queue in queues:
        if isinstance(queue, Mapping):
            names.append(_as_text(queue.get("name"), "active_queues", seen))
        elif queue is not None:
            names.append(_as_text(queue, "active_queues", seen))
        else:
            seen.add("active_queues")
    return names

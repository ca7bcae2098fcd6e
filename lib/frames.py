"""Flower payloads → pandas DataFrames with honest dtypes; plus the filters and KPIs on them.

Every function here is pure: payloads (or frames) in, a frame or a dict out, ``now`` passed in.
Times are UTC ``datetime64`` columns; durations are float seconds. Missing data stays missing
(NaN/NaT/NA): a task Flower saw only mid-flight has ``name`` NA, never a made-up name.

Definitions (DEVELOPERS.md): ``duration`` is Flower's ``runtime`` for successes and
``failed − started`` for failures; ``wait`` is ``started − sent`` (else ``started − received``);
error rate = FAILURE ÷ (SUCCESS + FAILURE) over tasks finished in the window; percentiles use
pandas' linear interpolation.

The tasks frame's ``state`` is the *effective* state (``effective_state``): REVOKED when Flower
marks a task revoked, whatever custom state outranks it; Flower's own state is ``flower_state``.
Every table, filter, export and count reads ``state``, so they all agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from celery import states

from lib.flower import UNDECODED

__all__ = [
    "TASK_COLUMNS",
    "TASK_TABLE_COLUMNS",
    "TASK_TIME_COLUMNS",
    "WORKER_COLUMNS",
    "OddValues",
    "effective_state",
    "effective_states",
    "filter_params",
    "filter_tasks",
    "flower_depths",
    "overview_kpis",
    "queues_frame",
    "task_lineage",
    "tasks_frame",
    "workers_frame",
]

#: Flower's epoch-float times; each becomes a UTC datetime column of the same name.
TASK_TIME_COLUMNS = (
    "sent",
    "received",
    "started",
    "succeeded",
    "failed",
    "retried",
    "revoked",
    "rejected",
    "timestamp",
)
TEXT_COLUMNS = (
    "uuid",
    "name",
    "state",
    "worker",
    "queue",
    "args",
    "kwargs",
    "result",
    "exception",
    "traceback",
    "parent_id",
    "root_id",
    "children",
    "eta",
    "expires",
    "exchange",
    "client",
)
#: The tasks frame's columns, in display order.
TASK_COLUMNS = (
    "uuid",
    "name",
    "state",
    "flower_state",
    "worker",
    "queue",
    "received",
    "started",
    "duration",
    "wait",
    "runtime",
    "retries",
    "args",
    "kwargs",
    "result",
    "exception",
    "traceback",
    "sent",
    "succeeded",
    "failed",
    "retried",
    "revoked",
    "rejected",
    "timestamp",
    "eta",
    "expires",
    "exchange",
    "client",
    "parent_id",
    "root_id",
    "children",
)
#: The Tasks table: enough to scan and filter by eye; the task detail shows the rest.
TASK_TABLE_COLUMNS = (*TASK_COLUMNS[:10], "retries", "args", "kwargs", "exception")
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
    "version",
)
FINISHED = ("SUCCESS", "FAILURE")
#: The states a revoke does not override: the worker had already stored this outcome.
KEEPS_OUTCOME = FINISHED


def effective_states(tasks: pd.DataFrame) -> pd.Series:
    """Each task's effective state, from a frame's ``state`` and ``revoked`` columns.

    REVOKED when ``revoked`` is set, unless the state is SUCCESS or FAILURE; otherwise the
    state as it is (missing stays missing). Idempotent: a tasks frame's ``state`` already is
    this. The rule and why: ``effective_state``.
    """
    state = tasks["state"].astype("string")
    revoked = tasks["revoked"].notna().to_numpy(bool) & ~state.isin(KEEPS_OUTCOME).to_numpy(bool)
    return state.mask(revoked, states.REVOKED)


def effective_state(state: object, revoked: object) -> str | None:
    """The effective state of one task: Flower's ``state`` and its ``revoked`` time.

    REVOKED when the task was revoked (``revoked`` is a time: epoch seconds or a datetime),
    whatever custom state outranks it; SUCCESS and FAILURE are kept; any other state, or
    None, as it is.

    Why: in ``celery.states.PRECEDENCE`` every custom state (PROGRESS) ranks above REVOKED,
    so when a job is terminated mid-PROGRESS Flower's merge keeps PROGRESS and only sets
    ``revoked`` (recorded in tests/fixtures/flower as ``revoked_in_progress``). The task is
    not running any more: the contract's effective state says REVOKED. Built-in unfinished
    states (PENDING, RECEIVED, STARTED, RETRY, REJECTED) rank below REVOKED, so Flower already
    says REVOKED for those; mapping them too costs nothing and covers a record merged out of
    order. SUCCESS and FAILURE rank above REVOKED for a reason: they are final, the worker
    stored that outcome in the result backend (which ``AsyncResult.state`` reports) and a
    SUCCESS has a result. Flower sets ``revoked`` on them only when a revoke raced the
    task's end (a terminate arriving as it returned, or a task that caught the signal and
    then returned or raised): it genuinely finished, its outcome is stored, so it keeps that
    outcome and stays in the success and error counts (Celery's own ``AsyncResult`` agrees).
    """
    state = state if isinstance(state, str) else None  # pd.NA has no truth value: no `in`
    if state in KEEPS_OUTCOME or not _is_time(revoked):
        return state
    return states.REVOKED


def _is_time(value: object) -> bool:
    """True for what the tasks frame reads as a time: a datetime or epoch seconds (not NaN)."""
    if isinstance(value, datetime):
        return not pd.isna(value)  # NaT is a datetime too
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    return not np.isnan(float(pd.to_numeric(value, errors="coerce")))


#: U+FFFD: the client put it where Flower's text could not be decoded.
REPLACEMENT = "\ufffd"


@dataclass
class OddValues:
    """What a frame builder met that Flower does not send, for the page to say in plain words.

    ``typed``: field → rows whose value had an unexpected type (a list where text was, text
    where a number was): read as text, or left blank where a number or time belongs.
    ``undecoded``: field → rows whose text could not be decoded, shown with U+FFFD.
    """

    noun: str  # what a row is: "task", "worker", "queue"
    typed: dict[str, set] = field(default_factory=dict)
    undecoded: dict[str, set] = field(default_factory=dict)

    def add(self, name: str, rows: Iterable, undecoded: bool = False) -> None:
        rows = set(rows)
        if rows:
            (self.undecoded if undecoded else self.typed).setdefault(name, set()).update(rows)

    def sentence(self) -> str:
        """E.g. "2 workers had fields of an unexpected type (…): loadavg, pid." or ""."""
        parts = []
        if self.typed:
            parts.append(
                f"{self._rows(self.typed)} had fields of an unexpected type (shown as text, "
                f"or blank where a number or time belongs): {', '.join(sorted(self.typed))}."
            )
        if self.undecoded:
            parts.append(
                f"{self._rows(self.undecoded)} had text that could not be decoded "
                f"(shown as {REPLACEMENT}): {', '.join(sorted(self.undecoded))}."
            )
        return " ".join(parts)

    def _rows(self, by_field: dict[str, set]) -> str:
        count = len(set().union(*by_field.values()))
        return f"{count} {self.noun}{'' if count == 1 else 's'}"


def tasks_frame(tasks: Iterable[Mapping], odd: OddValues | None = None) -> pd.DataFrame:
    """Flower task objects → one row per task with the columns in ``TASK_COLUMNS``.

    A value of another type than Flower sends is read as text (or missing where a number or
    time belongs); with ``odd`` given, such values and text the client could not decode are
    counted in it.
    """
    payloads = [t for t in tasks if type(t) is dict or isinstance(t, Mapping)]
    fields = _read(payloads)
    if odd is not None:
        _count_odd(fields, odd)
    columns: dict[str, object] = {}
    for col in TEXT_COLUMNS:
        if col == "queue":
            values = _queues(payloads, fields["routing_key"])
        elif col == "children":
            values = _joined_ids(fields["children"])
        else:
            values = fields[col]
        columns[col] = _text(values, repr if col in REPR_COLUMNS else str)
    for col in TASK_TIME_COLUMNS:
        columns[col] = _utc_times(_floats(fields[col]))
    runtime = _floats(fields["runtime"])
    columns["runtime"] = runtime
    columns["retries"] = _integers(fields["retries"])
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(payloads)))
    failed_for = (frame["failed"] - frame["started"]).dt.total_seconds().to_numpy()
    is_success = (frame["state"] == "SUCCESS").fillna(False).to_numpy(bool)
    is_failure = (frame["state"] == "FAILURE").fillna(False).to_numpy(bool)
    frame["duration"] = np.where(is_success, runtime, np.where(is_failure, failed_for, np.nan))
    queued_from = frame["sent"].fillna(frame["received"])
    frame["wait"] = (frame["started"] - queued_from).dt.total_seconds()
    frame["flower_state"] = frame["state"]
    frame["state"] = effective_states(frame)
    return frame[list(TASK_COLUMNS)]


#: The fields read from each payload; ``queue`` is not one (Flower sends ``routing_key``).
FIELDS = (
    *(c for c in TEXT_COLUMNS if c != "queue"),
    *TASK_TIME_COLUMNS,
    "runtime",
    "retries",
    "routing_key",
    UNDECODED,
)
#: Flower sends these as repr strings; anything else (a list from another source) becomes one.
REPR_COLUMNS = ("args", "kwargs", "result", "exception", "eta", "expires")


def _arrow_type(field: str) -> pa.DataType:
    if field in ("children", UNDECODED):
        return pa.list_(pa.string())
    if field == "retries":
        return pa.int64()
    if field in TASK_TIME_COLUMNS or field == "runtime":
        return pa.float64()
    return pa.string()


#: The types Flower gives ``FIELDS``: payloads that keep to them are read by Arrow in one pass.
PAYLOAD_TYPE = pa.struct([(field, _arrow_type(field)) for field in FIELDS])


def _read(payloads: list[Mapping]) -> dict[str, pa.Array | Sequence]:
    """Each of ``FIELDS`` in payload order; a missing key reads as missing.

    Arrow arrays when every payload keeps to ``PAYLOAD_TYPE`` (Flower's do): Arrow reads the
    dicts in C++, about twice as fast as Python. Otherwise tuples of the values as they are.
    """
    if not payloads:
        return _fields(payloads)
    try:
        typed = pa.array(payloads, type=PAYLOAD_TYPE)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return _fields(payloads)  # a value of another type: the columns sort it out one by one
    return dict(zip(FIELDS, typed.flatten(), strict=True))


def _fields(payloads: list[Mapping]) -> dict[str, tuple]:
    """Each of ``FIELDS`` as a tuple of values in payload order; a missing key reads as None."""
    if not payloads:
        return {field: () for field in FIELDS}
    rows = [tuple(map(t.get, FIELDS)) for t in payloads]
    return dict(zip(FIELDS, zip(*rows, strict=True), strict=True))


def _count_odd(fields: dict[str, pa.Array | Sequence], odd: OddValues) -> None:
    """Note values of unexpected types (only the Python reader meets them) and undecoded text."""
    marks = fields[UNDECODED]
    if isinstance(marks, pa.Array):
        if marks.null_count == len(marks):
            return  # Arrow read every payload as Flower types it, and none was repaired
        marks = marks.to_pylist()
    for row, names in enumerate(marks):
        for name in names if isinstance(names, list) else ():
            odd.add(str(name), [row], undecoded=True)
    if isinstance(fields["uuid"], pa.Array):
        return
    for name, values in fields.items():
        if name != UNDECODED:
            odd.add(name, (row for row, v in enumerate(values) if not _flower_typed(name, v)))


def _flower_typed(name: str, value: object) -> bool:
    """Whether ``value`` has the type Flower gives field ``name`` (None always does)."""
    if value is None:
        return True
    if name == "children":
        return type(value) is list and all(type(c) is str for c in value)
    if name == "retries":
        return type(value) is int
    if name in TASK_TIME_COLUMNS or name == "runtime":
        return type(value) in (int, float)
    return type(value) is str


def _queues(payloads: list[Mapping], routing_keys: pa.Array | Sequence) -> pa.Array | Sequence:
    """The routing key, else a ``queue`` field (other sources than Flower may send one)."""
    if isinstance(routing_keys, pa.Array):
        if routing_keys.null_count == 0 and pc.all(pc.not_equal(routing_keys, "")).as_py():
            return routing_keys
        routing_keys = routing_keys.to_pylist()
    elif all(routing_keys):
        return routing_keys
    return [key or t.get("queue") for key, t in zip(routing_keys, payloads, strict=True)]


def _text(
    values: pa.Array | Sequence, convert: Callable[[object], str]
) -> pd.api.extensions.ExtensionArray:
    """A string column; None stays missing, a non-string value becomes ``convert(value)``."""
    if isinstance(values, pa.Array):
        return pd.arrays.ArrowStringArray(values)
    try:
        # pyarrow reads a sequence of str in C; pandas' own conversion checks each in Python.
        return pd.arrays.ArrowStringArray(pa.array(values, type=pa.string()))
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        mixed = [v if v is None or type(v) is str else convert(v) for v in values]
        return pd.array(mixed, dtype="string")


def _floats(values: pa.Array | Sequence) -> np.ndarray:
    """Float64 values, NaN for missing or unreadable ones."""
    if isinstance(values, pa.Array):
        return values.to_numpy(zero_copy_only=False).astype("float64", copy=False)
    try:
        return pa.array(values, type=pa.float64(), from_pandas=True).to_numpy(zero_copy_only=False)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        series = pd.Series(values, dtype="object")
        return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()


def _utc_times(seconds: np.ndarray) -> pd.DatetimeIndex:
    """Epoch seconds → UTC times to the nearest microsecond (NaN → NaT).

    One unit (us) for every time column, so masks and fills never mix units; rounding, not
    pandas' truncation, because an epoch float a hair under a microsecond means that one.
    """
    micros = np.round(seconds * 1e6)
    missing = np.isnan(micros)
    whole = np.where(missing, 0, micros).astype("int64")
    whole[missing] = np.iinfo("int64").min  # NaT
    return pd.DatetimeIndex(whole.view("datetime64[us]")).tz_localize("UTC")


def _integers(values: pa.Array | Sequence) -> pd.api.extensions.ExtensionArray:
    """Nullable Int64 values, NA for missing or unreadable ones."""
    series = pd.Series(_floats(values))
    whole = series.where(series == series.round())
    return pd.array(whole, dtype="Int64")


def _joined_ids(children: pa.Array | Sequence) -> pa.Array | list:
    """Flower's children lists as comma-joined ids (most lists are empty: skip those)."""
    if isinstance(children, pa.ListArray) and pc.list_flatten(children).null_count == 0:
        joined = pc.binary_join(children, ",")
        return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)
    if isinstance(children, pa.Array):
        children = children.to_pylist()
    return [_joined(c) if c else None for c in children]


def _joined(children: object) -> str:
    if type(children) is str:
        return children
    if not isinstance(children, Iterable):
        return str(children)
    return ",".join(i for i in map(_child_id, children) if i)


def _child_id(child: object) -> str:
    if type(child) is str:
        return child
    if isinstance(child, Mapping):
        return str(child.get("uuid") or child.get("id") or "")
    return str(child) if child else ""


def filter_tasks(
    frame: pd.DataFrame,
    states: Iterable[str] = (),
    names: Iterable[str] = (),
    workers: Iterable[str] = (),
    queues: Iterable[str] = (),
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    text: str = "",
) -> pd.DataFrame:
    """The rows matching every given filter; empty filters match all.

    ``text`` is a case-insensitive substring of the uuid, name, args, kwargs, result or
    exception. Tasks without a ``received`` time pass the time filter only when it is unset.
    """
    keep = pd.Series(True, index=frame.index)
    for col, wanted in (("state", states), ("name", names), ("worker", workers), ("queue", queues)):
        wanted = list(wanted)
        if wanted:
            keep &= frame[col].isin(wanted).fillna(False)
    if received_from is not None:
        keep &= (frame["received"] >= pd.Timestamp(received_from)).fillna(False)
    if received_to is not None:
        keep &= (frame["received"] <= pd.Timestamp(received_to)).fillna(False)
    needle = text.strip().lower()
    if needle:
        hit = pd.Series(False, index=frame.index)
        for col in ("uuid", "name", "args", "kwargs", "result", "exception"):
            hit |= frame[col].str.lower().str.contains(needle, regex=False).fillna(False)
        keep &= hit
    return frame[keep.astype(bool)]


def filter_params(params: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Deep-link filters (``?state=FAILURE&name=...&worker=...&queue=...``) as lists.

    A parameter may repeat or hold comma-separated values; states are upper-cased.
    """
    out: dict[str, list[str]] = {}
    for key in ("state", "name", "worker", "queue"):
        values = [v.strip() for raw in params.get(key, []) for v in raw.split(",") if v.strip()]
        out[key] = [v.upper() for v in values] if key == "state" else values
    return out


def task_lineage(frame: pd.DataFrame, uuid: str) -> dict[str, list[str]]:
    """Parent, root and children ids of one task, without self-links (a retry is its own parent)."""
    rows = frame[frame["uuid"] == uuid]
    if rows.empty:
        return {"parent": [], "root": [], "children": []}
    row = rows.iloc[0]

    def ids(value: object) -> list[str]:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return []
        return [i for i in str(value).split(",") if i and i != uuid]

    return {
        "parent": ids(row["parent_id"]),
        "root": ids(row["root_id"]),
        "children": ids(row["children"]),
    }


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
    frame["last_heartbeat"] = pd.to_datetime(frame["last_heartbeat"], unit="s", utc=True)
    for col in ("heartbeat_age", "load_1m", "load_5m", "load_15m", "uptime"):
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
        "version": " ".join(v or "" for v in version).strip() or None,
    }
    for name in seen:
        odd.add(name, [host])
    return row


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


def flower_depths(
    lengths: Iterable[Mapping], names: Iterable[str] = (), odd: OddValues | None = None
) -> dict[str, int | None]:
    """Waiting messages per queue from Flower's ``/api/queues/length`` rows.

    ``names`` (the queues workers consume) start as unknown (None). A name of another type is
    read as text and a count that is not a whole number as unknown; ``odd`` names both.
    """
    odd = odd if odd is not None else OddValues("queue")
    depths: dict[str, int | None] = dict.fromkeys(names)
    for row in lengths:
        name, messages = row.get("name"), row.get("messages")
        text = name if type(name) is str else str(name)
        if type(name) is not str:
            odd.add("name", [text])
        if REPLACEMENT in text:
            odd.add("name", [text], undecoded=True)
        if messages is not None and type(messages) is not int:
            odd.add("messages", [text])
            messages = None
        depths[text] = messages
    return depths


def queues_frame(
    depths: Mapping[str, int | None],
    workers: pd.DataFrame,
    tasks: pd.DataFrame,
    now: datetime,
    rate_window: float = 600.0,
) -> pd.DataFrame:
    """One row per queue: waiting messages, consumers, running tasks, recent rate and wait.

    Columns: queue, messages (from the broker), consumers (online workers consuming it),
    workers, running (tasks routed to it in STARTED or a custom state such as PROGRESS, by
    effective state: not a job revoked in it), received_per_min (over ``rate_window``
    seconds before ``now``), avg_wait (seconds, over tasks started in that window).
    """
    consumers: dict[str, list[str]] = {}
    for row in workers.itertuples():
        if row.online and isinstance(row.queues, str):
            for queue in row.queues.split(", "):
                consumers.setdefault(queue, []).append(row.worker)
    since = pd.Timestamp(now) - pd.Timedelta(seconds=rate_window)
    names = sorted(set(depths) | set(consumers) | set(tasks["queue"].dropna().unique()))
    rows = []
    for name in names:
        routed = tasks[(tasks["queue"] == name).fillna(False)]
        recent = routed[routed["received"] >= since]
        started = routed[routed["started"] >= since]
        rows.append(
            {
                "queue": name,
                "messages": depths.get(name),
                "consumers": len(consumers.get(name, [])),
                "workers": ", ".join(sorted(consumers.get(name, []))),
                "running": int(_running(routed["state"]).sum()),
                "received_per_min": len(recent) / (rate_window / 60.0),
                "avg_wait": started["wait"].mean() if len(started) else np.nan,
            }
        )
    frame = pd.DataFrame.from_records(
        rows,
        columns=[
            "queue",
            "messages",
            "consumers",
            "workers",
            "running",
            "received_per_min",
            "avg_wait",
        ],
    )
    frame["messages"] = pd.to_numeric(frame["messages"], errors="coerce").astype("Int64")
    return frame


#: Celery's own states; any other one a task reports (PROGRESS) is a custom state of a running task.
BUILT_IN_STATES = states.ALL_STATES | {states.REJECTED, states.IGNORED}


def _running(state: pd.Series) -> pd.Series:
    """STARTED or a custom state (contract: running), from effective states."""
    custom = state.notna() & ~state.isin(BUILT_IN_STATES)
    return ((state == states.STARTED) | custom).fillna(False).astype(bool)


def overview_kpis(
    tasks: pd.DataFrame,
    workers: pd.DataFrame,
    queue_backlog: int | None,
    now: datetime,
    window: float = 86400.0,
) -> dict:
    """The Overview's numbers over the last ``window`` seconds (or all Flower holds, if less).

    ``processed`` counts tasks that finished (SUCCESS or FAILURE) in the window, by their
    finish time; ``error_rate`` is a percent (None when nothing finished); runtimes are the
    ``duration`` of those tasks.
    """
    start = pd.Timestamp(now) - pd.Timedelta(seconds=window)
    finished_at = tasks["succeeded"].fillna(tasks["failed"])
    done = tasks[tasks["state"].isin(FINISHED).fillna(False) & (finished_at >= start).fillna(False)]
    failed = int((done["state"] == "FAILURE").sum())
    oldest = tasks["timestamp"].min() if len(tasks) else pd.NaT
    durations = done["duration"].dropna()
    return {
        "workers_online": int(workers["online"].sum()) if len(workers) else 0,
        "workers_total": len(workers),
        "processed": len(done),
        "failed": failed,
        "error_rate": 100.0 * failed / len(done) if len(done) else None,
        "avg_runtime": float(durations.mean()) if len(durations) else None,
        "p95_runtime": float(durations.quantile(0.95)) if len(durations) else None,
        "backlog": queue_backlog,
        "window_start": start.to_pydatetime(),
        "holds_less_than_window": bool(pd.notna(oldest) and oldest > start),
        "oldest_task": None if pd.isna(oldest) else oldest.to_pydatetime(warn=False),
    }

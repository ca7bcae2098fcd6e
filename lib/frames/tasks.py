"""Flower task payloads → the tasks frame: one row per task, honest dtypes, effective state.

Pure: payloads in, a frame out. Times are UTC ``datetime64[us]`` columns; durations are float
seconds. Missing data stays missing (NaN/NaT/NA): a task Flower saw only mid-flight has
``name`` NA, never a made-up name. ``duration`` is Flower's ``runtime`` for successes and
``failed − started`` for failures; ``wait`` is ``started − sent`` (else ``started − received``).

Payloads that keep to the types Flower sends are read by Arrow in one pass; any other value
sends the whole read down the Python path, which reads it as text (or missing where a number
or time belongs) and, with an ``OddValues`` given, names it. Both paths give the same frame.
``state`` is the effective state (``frames.state``); Flower's own is ``flower_state``.
Both paths end in ``columns_frame``, which the store's reader (``lib.store.task_frames``) also
gives its columns to: one place derives ``duration``, ``wait`` and the states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lib.flower import UNDECODED
from lib.frames.odd_values import OddValues
from lib.frames.state import effective_states

__all__ = [
    "TASK_COLUMNS",
    "TASK_TABLE_COLUMNS",
    "TASK_TIME_COLUMNS",
    "columns_frame",
    "odd_fields",
    "odd_values_of",
    "tasks_frame",
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
    *TASK_TIME_COLUMNS[3:],  # succeeded … timestamp
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
    source = {name: fields[name] for name in SOURCE_COLUMNS if name not in ("queue", "children")}
    source["queue"] = _queues(payloads, fields["routing_key"])
    source["children"] = _joined_ids(fields["children"])
    return columns_frame(source, len(payloads))


#: What ``columns_frame`` builds the frame from: Flower's fields as they are read.
SOURCE_COLUMNS = (*TEXT_COLUMNS, *TASK_TIME_COLUMNS, "runtime", "retries")


def columns_frame(source: Mapping[str, pa.Array | Sequence], length: int) -> pd.DataFrame:
    """The tasks frame (``TASK_COLUMNS``) of ``length`` tasks from their ``SOURCE_COLUMNS``.

    Each source column holds one value per task, in order: ``state`` is Flower's state (the
    effective state is derived here), ``queue`` the routing key, ``children`` comma-joined ids,
    times epoch seconds. Text that is not a string becomes its ``repr``/``str``, a number or
    time that is not one becomes missing; a column not given is missing throughout (a reader
    that leaves out what its consumers never read).
    """
    columns: dict[str, object] = {}
    for col in TEXT_COLUMNS:
        values = source.get(col, pa.nulls(length, pa.string()))
        columns[col] = _text(values, repr if col in REPR_COLUMNS else str)
    for col in TASK_TIME_COLUMNS:
        columns[col] = _utc_times(_floats(source.get(col, pa.nulls(length, pa.float64()))))
    columns["runtime"] = _floats(source.get("runtime", pa.nulls(length, pa.float64())))
    columns["retries"] = _integers(source.get("retries", pa.nulls(length, pa.int64())))
    columns.update(_derived(columns))
    # Built once in display order: reordering a built frame copies every column.
    return pd.DataFrame({c: columns[c] for c in TASK_COLUMNS}, index=pd.RangeIndex(length))


def _derived(columns: Mapping[str, object]) -> dict[str, object]:
    """``duration``, ``wait``, the effective ``state`` and Flower's as ``flower_state``."""
    flower_state = pd.Series(columns["state"])
    is_success = (flower_state == "SUCCESS").fillna(False).to_numpy(bool)
    is_failure = (flower_state == "FAILURE").fillna(False).to_numpy(bool)
    failed_for = (columns["failed"] - columns["started"]).total_seconds().to_numpy()
    runtime = columns["runtime"]
    queued_from = columns["sent"].where(columns["sent"].notna(), columns["received"])
    stated = pd.DataFrame({"state": flower_state, "revoked": columns["revoked"]}, copy=False)
    return {
        "duration": np.where(is_success, runtime, np.where(is_failure, failed_for, np.nan)),
        "wait": (columns["started"] - queued_from).total_seconds().to_numpy(),
        "flower_state": columns["state"],
        "state": effective_states(stated).array,
    }


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


def odd_fields(payloads: list[Mapping]) -> dict[str, tuple[frozenset, frozenset]]:
    """Per task id, only for odd tasks: the fields of an unexpected type and the fields whose
    text could not be decoded (what ``tasks_frame`` would note; a store keeps neither mark)."""
    try:
        typed = pa.array(payloads, type=PAYLOAD_TYPE)
        if typed.field(UNDECODED).null_count == len(payloads):
            return {}  # every payload as Flower types it, none repaired: the common case
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    found = {}
    for payload in payloads:
        marks = payload.get(UNDECODED)
        undecoded = frozenset(map(str, marks)) if isinstance(marks, list) else frozenset()
        names = (n for n in FIELDS if n != UNDECODED)
        odd = frozenset(n for n in names if not _flower_typed(n, payload.get(n)))
        if odd or undecoded:
            found[str(payload.get("uuid"))] = (odd, undecoded)
    return found


def odd_values_of(found: Mapping[str, tuple[frozenset, frozenset]]) -> OddValues:
    """``odd_fields``' findings as the ``OddValues`` a page says in a sentence."""
    odd = OddValues("task")
    for row, (typed, undecoded) in enumerate(found.values()):
        for name in typed:
            odd.add(name, [row])
        for name in undecoded:
            odd.add(name, [row], undecoded=True)
    return odd


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

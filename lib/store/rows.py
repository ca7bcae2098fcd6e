"""A Flower task payload ↔ the store's task row, and what a row adds to the rollups.

Payload → row keeps Flower's values (times as epoch floats; a NUL character in text written
``\\x00``, since PostgreSQL's text cannot hold it) with three changes: ``state`` is
the effective state (``lib.frames.state``) beside ``flower_state``; ``queue`` is the routing key;
the text producers and failures wrote (args, kwargs, result, exception, traceback) is masked
(``lib.redact.mask_text`` with the sensitive keys, then the console's own secrets scrubbed) and
then capped, so no secret is ever at rest and no row is unbounded. Masking comes before capping,
so a cut can never leave half a secret unmasked. Row → payload gives back what Flower sent,
as far as the store keeps it, for ``lib.frames.tasks_frame`` to read.

``placed_at`` is the Trends placement rule (``lib.trends.window``): a finished task at its
finish time (else its last event), any other at ``received`` (else last event, else sent).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from lib.frames.state import effective_state
from lib.redact import MASKED_COLUMNS, SCRUBBER, mask_text, scrub
from lib.store.schema import TASK_TEXT_COLUMNS, TASK_TIME_COLUMNS
from lib.trends.window import FINISH_COLUMNS

__all__ = [
    "CUT_MARK",
    "TEXT_CAPS",
    "Masking",
    "duration",
    "payload_of",
    "placed_at",
    "row_of",
    "stored_text",
    "wait",
]

#: Characters kept of each masked text. Celery already cuts argsrepr/kwargsrepr at 1024 (+ "...");
#: tracebacks are longer and their last lines say the most, but their start says where.
TEXT_CAPS = {"args": 1100, "kwargs": 1100, "result": 1100, "exception": 1000, "traceback": 4000}
#: Ends a text the store cut.
CUT_MARK = " …[cut by the store]"
#: Flower sends these as repr strings; any other value (from another source) becomes one.
REPR_COLUMNS = ("args", "kwargs", "result", "exception", "eta", "expires")


class Masking:
    """The keys whose values are masked and the console's own secrets, scrubbed at rest too."""

    def __init__(self, sensitive_keys: Iterable[str], secrets: Iterable[str] = ()):
        self.keys = tuple(sensitive_keys)
        self.secrets = tuple(s for s in secrets if s)

    def __call__(self, text: str) -> str:
        masked = scrub(mask_text(text, self.keys), self.secrets)
        return SCRUBBER(masked)


def stored_text(text: str | None, column: str, masking: Masking) -> str | None:
    """``text`` as the store keeps it in ``column``: masked, then capped with ``CUT_MARK``."""
    if text is None or column not in MASKED_COLUMNS:
        return text
    masked = masking(text)
    cap = TEXT_CAPS[column]
    return masked if len(masked) <= cap else masked[: cap - len(CUT_MARK)] + CUT_MARK


def row_of(task: Mapping, masking: Masking, now: float) -> dict:
    """The store's row for one Flower task payload (``counted``/``in_flower`` left to callers)."""
    row: dict = {"uuid": task["uuid"]}
    for column in TASK_TIME_COLUMNS:
        row[column] = _seconds(task.get(column))
    row["runtime"] = _seconds(task.get("runtime"))
    retries = _seconds(task.get("retries"))
    row["retries"] = int(retries) if retries is not None and retries.is_integer() else None
    for column in TASK_TEXT_COLUMNS:
        row[column] = stored_text(_text(task.get(column), column), column, masking)
    row["flower_state"] = row["state"]
    row["state"] = effective_state(row["flower_state"], row["revoked"])
    row["queue"] = _text(task.get("routing_key"), "queue") or _text(task.get("queue"), "queue")
    row["children"] = _children(task.get("children"))
    row["placed_at"] = placed_at(row)
    row["last_at"] = row["timestamp"] if row["timestamp"] is not None else now
    return row


def payload_of(row: Mapping) -> dict:
    """The Flower-shaped payload of a stored row (what ``tasks_frame`` reads)."""
    task = {c: row[c] for c in (*TASK_TEXT_COLUMNS, *TASK_TIME_COLUMNS, "runtime", "retries")}
    task["uuid"] = row["uuid"]
    task["state"] = row["flower_state"]
    task["routing_key"] = task.pop("queue")
    task["children"] = row["children"].split(",") if row["children"] else []
    del task["flower_state"]
    return task


def placed_at(row: Mapping) -> float | None:
    """The time that places a row in a window (``lib.trends.window.placed_at``, per row)."""
    finish = FINISH_COLUMNS.get(row["state"])
    if finish is not None:
        return _first(row[finish], row["timestamp"])
    return _first(row["received"], row["timestamp"], row["sent"])


def duration(row: Mapping) -> float | None:
    """Runtime for a success, failed − started for a failure (contract: Runtime); else None."""
    if row["state"] == "SUCCESS":
        return row["runtime"]
    if row["state"] == "FAILURE" and row["failed"] is not None and row["started"] is not None:
        return row["failed"] - row["started"]
    return None


def wait(row: Mapping) -> float | None:
    """started − sent, else started − received (contract: Wait); None without a start."""
    queued = _first(row["sent"], row["received"])
    if row["started"] is None or queued is None:
        return None
    return row["started"] - queued


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _text(value: object, column: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = repr(value) if column in REPR_COLUMNS else str(value)
    # PostgreSQL's text cannot hold NUL: escaped as repr would, the same on every database.
    return value.replace("\x00", "\\x00")


def _children(children: object) -> str | None:
    if isinstance(children, str):
        return children or None
    if not isinstance(children, Iterable):
        return None
    return ",".join(i for i in map(_child_id, children) if i) or None


def _child_id(child: object) -> str:
    if isinstance(child, Mapping):
        return str(child.get("uuid") or child.get("id") or "")
    return child if isinstance(child, str) else str(child or "")

"""What the audit log holds and hands back: an action's row, its targets, earlier retries, claims.

An action's ``outcome`` is one of ``OUTCOMES`` or NULL, read as "outcome unknown" (the process
stopped between intent and outcome); a target's is one of ``TARGET_OUTCOMES`` or NULL, read the
same way. Rows are frozen: an outcome, once written, is never changed. ``COLUMNS`` is the
``audit`` table's column order, which ``row_from`` reads. Every row names the cluster acted on
(``cluster``; ``default`` for a console without a clusters file and for rows from before).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from lib.clusters import DEFAULT_CLUSTER
from lib.errors import ConsoleError

__all__ = [
    "COLUMNS",
    "OUTCOMES",
    "TARGET_OUTCOMES",
    "UNKNOWN",
    "AuditError",
    "AuditRow",
    "Claim",
    "DuplicateOperation",
    "EarlierRetry",
    "TargetOutcome",
    "row_from",
]

#: What can happen to an action. NULL in the table means "outcome unknown".
OUTCOMES = ("sent", "failed", "refused", "partial")
#: How a NULL outcome (of an action or a target) reads.
UNKNOWN = "outcome unknown"
#: What can happen to one target of an action. NULL means "outcome unknown" here too.
TARGET_OUTCOMES = ("sent", "failed", "not tried", "skipped")
#: The ``audit`` table's columns, in the order ``row_from`` reads them.
COLUMNS = (
    "id",
    "op_id",
    "at",
    "user",
    "role",
    "action",
    "targets",
    "params",
    "preview_count",
    "finished_at",
    "outcome",
    "http_status",
    "message",
    "links",
    "cluster",
)


class AuditError(ConsoleError):
    """The audit log could not be opened, read or written (locked, disk full, unreadable...)."""


class DuplicateOperation(ConsoleError):
    """This operation id was already recorded: the action must not be sent again."""

    def __init__(self, row: AuditRow):
        self.row = row
        super().__init__(f"operation {row.op_id} was already recorded")


@dataclass(frozen=True)
class AuditRow:
    id: int
    op_id: str
    at: float
    user: str
    role: str
    action: str
    targets: list[str]
    params: dict[str, Any]
    preview_count: int | None
    finished_at: float | None
    outcome: str | None
    http_status: int | None
    message: str | None
    links: dict[str, str]
    cluster: str = DEFAULT_CLUSTER  # the cluster acted on; its role is ``role``

    @property
    def outcome_text(self) -> str:
        return self.outcome or UNKNOWN


@dataclass(frozen=True)
class TargetOutcome:
    """What happened to one target of one action."""

    target: str
    outcome: str | None  # None: outcome unknown
    reason: str
    reply: str


@dataclass(frozen=True)
class EarlierRetry:
    """A retry of a task that was sent, or is still under way (outcome unknown)."""

    audit_id: int
    at: float
    user: str
    new_id: str | None  # the new task's id; None while the outcome is unknown

    def describe(self, tz: tzinfo = UTC) -> str:
        """``"already retried as <id> at 2026-11-30 11:20:01 UTC by ann (audit #3)"``."""
        when = datetime.fromtimestamp(self.at, tz).strftime("%Y-%m-%d %H:%M:%S %Z")
        what = f"as {self.new_id}" if self.new_id else "(still under way, or outcome unknown)"
        return f"already retried {what} at {when} by {self.user} (audit #{self.audit_id})"


@dataclass(frozen=True)
class Claim:
    """An intent row written: its id, and the targets held back as already retried."""

    row_id: int
    held: dict[str, list[EarlierRetry]] = field(default_factory=dict)


def row_from(record: tuple) -> AuditRow:
    """An ``audit`` row (``COLUMNS`` in order) as an ``AuditRow``, its JSON fields read."""
    data = dict(zip(COLUMNS, record, strict=True))
    data["targets"] = json.loads(data["targets"])
    data["params"] = json.loads(data["params"])
    data["links"] = json.loads(data["links"] or "{}")
    return AuditRow(**data)

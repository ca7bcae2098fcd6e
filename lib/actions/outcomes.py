"""What an action did, in the words the operator reads: the dry run, the run and its summary.

``Preview`` is the dry run shown before Confirm (eligible tasks, skip reasons grouped into
sentences, a sample in the effective state every table shows). ``Run`` is what sending did,
target by target. ``summary`` turns a run into the audited outcome (sent, partial, failed,
refused) and one line: a bulk action that stopped early says after how many, why, and how many
were not sent; tasks held back as already retried are named with how to send them anyway.
Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.actions.declarations import ActionSpec
from lib.audit import AuditError, AuditRow
from lib.errors import ConsoleError, FlowerError
from lib.frames import effective_state

__all__ = [
    "ActionResult",
    "Preview",
    "Run",
    "acknowledged",
    "from_row",
    "sample_row",
    "summary",
    "unrecorded",
]

#: Words a skip reason may start with that stay capitalized inside a sentence.
PROPER_NOUNS = ("Flower", "Celery", "OPS_")


@dataclass(frozen=True)
class Preview:
    """What a task action would do: the dry run shown before Confirm."""

    action: str
    eligible: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (task id, why)
    sample: tuple[dict, ...] = ()
    gone: tuple[str, ...] = ()  # the eligible tasks Flower no longer holds (the store keeps them)
    orphaned: tuple[str, ...] = ()  # eligible tasks flagged orphaned (``checks.orphaned``)

    @property
    def count(self) -> int:
        return len(self.eligible)

    @property
    def reasons(self) -> tuple[str, ...]:
        """One full sentence per distinct reason: ``"2 tasks skipped: already finished (SUCCESS)."``"""
        counts = Counter(why for _, why in self.skipped)
        return tuple(f"{_tasks(n)} skipped: {_sentence(why)}" for why, n in counts.items())


@dataclass(frozen=True)
class ActionResult:
    action: str
    outcome: str  # sent, failed, refused, partial
    message: str
    audit_id: int | None
    links: dict[str, str] = field(default_factory=dict)
    not_sent: tuple[str, ...] = ()  # targets never tried because sending stopped early

    @property
    def ok(self) -> bool:
        return self.outcome == "sent"


@dataclass
class Run:
    """What sending did: replies and errors by target, what was not sent and why."""

    replies: dict[str, str] = field(default_factory=dict)
    errors: dict[str, ConsoleError] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    not_sent: tuple[str, ...] = ()
    stop: str = ""
    audit_error: AuditError | None = None


def sample_row(task: Mapping[str, Any]) -> dict:
    """A task as the dialog's sample shows it, in its effective state like every other table."""
    row = {k: task.get(k) for k in ("uuid", "name", "state", "worker")}
    row["state"] = effective_state(task.get("state"), task.get("revoked"))
    return row


def summary(
    spec: ActionSpec, targets: list[str], run: Run, held: dict[str, str], queue: str = ""
) -> tuple[str, str, int | None]:
    """The audited outcome, the operator's one-line message and the last HTTP status.

    A settled queue action with no worker to send to (pause of a queue nobody consumes now)
    is done once recorded: "sent", saying it was recorded and nothing was sent."""
    errors, replies = list(run.errors.values()), list(run.replies.values())
    status = errors[-1].status if errors and isinstance(errors[-1], FlowerError) else 200
    held_text = _held_text(held)
    if not targets and spec.settle is not None and not held:
        return (
            "sent",
            f"{spec.label} of queue {queue} recorded, nothing to send. {spec.unsent}",
            None,
        )
    if not targets:
        return "refused", f"Nothing was sent. {held_text}", None
    if run.not_sent:
        tried = len(targets) - len(run.not_sent)
        message = (
            f"{spec.label} stopped after {tried} of {len(targets)}: {run.stop}; "
            f"{len(run.not_sent)} not sent. {len(replies)} sent, {len(errors)} failed."
        )
    elif not errors and len(targets) == 1:
        reply = replies[0]
        said = f" {spec.replier} said: {reply}" if reply and not spec.links_reply else ""
        target = f"{targets[0]} as {run.links[targets[0]]}" if run.links else targets[0]
        message = f"{spec.label}: {target}.{said}"
    elif not errors:
        message = f"{spec.label}: {len(targets)} done."
    elif not replies:
        message = f"{spec.label} failed. {errors[0]}"
    else:
        message = f"{spec.label}: {len(replies)} of {len(targets)} done; {len(errors)} failed: {errors[0]}"
    outcome = "sent" if replies and not (errors or run.not_sent or held) else "partial"
    outcome = outcome if replies else "failed"
    return outcome, f"{message} {held_text}".strip(), status


def _held_text(held: dict[str, str]) -> str:
    if not held:
        return ""
    first, why = next(iter(held.items()))
    more = f" (and {len(held) - 1} more)" if len(held) > 1 else ""
    return (
        f"{_tasks(len(held))} held back: task {first} was {why}{more}. To send another copy, "
        "tick 'Retry again anyway' and confirm."
    )


def unrecorded(spec: ActionSpec, targets: list[str], run: Run, exc: AuditError) -> str:
    """The message when the audit log failed after sending: what was sent, what was not."""
    sent = list(run.replies)
    shown = ", ".join(sent[:10]) + (f" and {len(sent) - 10} more" if len(sent) > 10 else "")
    message = (
        f"{spec.label}: sent {len(sent)} of {len(targets)}{f' ({shown})' if sent else ''}, but "
        f"the outcome could not be recorded: {exc} The audit row stays 'outcome unknown'."
    )
    if run.not_sent:
        message += f" {len(run.not_sent)} not sent."
    return message


def acknowledged(value: object) -> set[int]:
    """The earlier retries' audit ids the operator confirmed retrying again."""
    if not isinstance(value, list | tuple | set):
        return set()
    return {int(v) for v in value if isinstance(v, int) or str(v).isdigit()}


def from_row(row: AuditRow) -> ActionResult:
    """The answer to a repeated operation id: what the first click did; nothing is sent."""
    message = row.message or "This action is already under way."
    return ActionResult(row.action, row.outcome_text, message, row.id, row.links)


def _tasks(n: int) -> str:
    return f"{n} task" if n == 1 else f"{n} tasks"


def _sentence(why: str) -> str:
    """``why`` continuing a sentence: first letter lowered unless it starts a name; a full stop."""
    text = why.strip()
    if text and not text.startswith(PROPER_NOUNS):
        text = text[0].lower() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."

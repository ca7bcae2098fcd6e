"""A task's original call rebuilt (name, args, kwargs, queue), so Retry re-sends exactly what
was sent, or nothing. (Not about HTTP retries: GETs to Flower retry in lib/flower.py.)

Sources, best first (reference §11):

1. the result backend, when workers run with ``result_extended=True``: the real, decoded
   ``args``/``kwargs``;
2. Flower's ``args``/``kwargs`` repr text, parsed with ``ast.literal_eval`` (never ``eval``),
   only when the text is complete: Celery cuts reprs at 1024 characters with ``...``, a
   producer may mask them with ``argsrepr``, and objects (datetimes, Decimals) are not
   literals.

Anything doubtful is refused with a reason that says what to change. A guess is never sent.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.errors import ActionRefused
from lib.frames import effective_state

__all__ = ["RETRYABLE_STATES", "OriginalCall", "RetryRefused", "original_call"]

#: A task still queued or running is not retried: revoke it, or wait for it to finish.
RETRYABLE_STATES = ("FAILURE", "REVOKED", "SUCCESS")
#: Markers of a repr that is not the whole value: Celery's truncation, common masks.
INCOMPLETE_MARKERS = ("...", "…", "***", "<masked>", "<redacted>")
ENABLE_EXTENDED = (
    "Run the workers with result_extended=True and set CELERY_RESULT_BACKEND so the console "
    "reads the real arguments."
)


class RetryRefused(ActionRefused):
    """This task cannot be re-sent safely; the message says why and what to change.

    Named for the action it refuses: every reason is worded for Retry, its only caller.
    """


@dataclass(frozen=True)
class OriginalCall:
    name: str
    args: list
    kwargs: dict
    queue: str
    source: str  # "result backend" or "Flower's repr"


def original_call(
    task: Mapping[str, Any], meta: Mapping[str, Any] | None = None, orphaned: bool = False
) -> OriginalCall:
    """The call to re-send for ``task`` (a Flower task object); raise ``RetryRefused`` if unsure.

    ``orphaned``: the task is running in Flower's eyes but flagged orphaned (no process runs
    it: ``lib.actions.checks.orphaned``), so its running state does not refuse it."""
    # The state the console shows: a job terminated mid-PROGRESS is REVOKED, so retryable.
    state = effective_state(task.get("state"), task.get("revoked"))
    if state not in RETRYABLE_STATES and not orphaned:
        raise RetryRefused(
            f"Task is {state or 'in an unknown state'}: only failed, revoked or succeeded "
            "tasks are retried."
        )
    name = task.get("name") or (meta or {}).get("name")
    if not name:
        raise RetryRefused("Flower does not know this task's name (it saw the task mid-flight).")
    queue = task.get("routing_key") or (meta or {}).get("queue")
    if not queue:
        raise RetryRefused("The queue this task came from is unknown, so it is not re-sent.")
    if meta and isinstance(meta.get("args"), list | tuple) and isinstance(meta.get("kwargs"), dict):
        return OriginalCall(name, list(meta["args"]), dict(meta["kwargs"]), queue, "result backend")
    args = _literal(task.get("args"), "args", (list, tuple))
    kwargs = _literal(task.get("kwargs"), "kwargs", (dict,))
    return OriginalCall(name, list(args), dict(kwargs), queue, "Flower's repr")


def _literal(text: object, field: str, kinds: tuple[type, ...]) -> Any:
    if not isinstance(text, str):
        raise RetryRefused(f"Flower has no {field} for this task. {ENABLE_EXTENDED}")
    if any(marker in text for marker in INCOMPLETE_MARKERS):
        raise RetryRefused(
            f"The {field} Flower shows are truncated or masked ('...'), so the original "
            f"values are unknown. {ENABLE_EXTENDED}"
        )
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise RetryRefused(
            f"The {field} are not plain literals (objects, dates or a custom argsrepr). "
            f"{ENABLE_EXTENDED}"
        ) from None
    if not isinstance(value, kinds):
        raise RetryRefused(f"The {field} text is not a {kinds[0].__name__}. {ENABLE_EXTENDED}")
    if not _json_exact(value):
        raise RetryRefused(
            f"The {field} hold values JSON cannot carry exactly (bytes, sets, big or special "
            f"numbers). {ENABLE_EXTENDED}"
        )
    return value


def _json_exact(value: Any) -> bool:
    """True when JSON carries ``value`` unchanged (tuples become lists, which Celery accepts)."""
    try:
        again = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return False
    return again == _lists(value)


def _lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value

"""Silence, lift a silence, acknowledge: the Alerts page's actions on an ``alert`` target.

The target is the alert's key, ``<rule>/<subject>`` (the subject ``*`` for a silence of every
subject of the rule). Nothing is sent to Flower: each action writes the store's alert tables
(``lib.store.alert_views``) through the desk (``ActionDesk.store``), audited like every action
(the claim before the write, the outcome after). The desk sets ``params["by"]`` to the signed-in
user. They act on the desk's cluster's alerts (``ActionDesk.cluster``, whose store holds them):
a request never names the cluster, so an alert of another cluster is out of its reach.

A silence lasts ``params["minutes"]`` from the moment it is written, or until
``params["until"]`` (epoch s, a chosen time), at most ``MAX_SILENCE_DAYS``, and needs a reason.
The collector's state machine reads silences each poll and suppresses notifications while one
holds (the change is still recorded). Acknowledging marks a firing alert as being handled;
again, it keeps the first acknowledgement; an alert not firing is refused.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from lib.errors import ActionRefused
from lib.store import Store

__all__ = [
    "MAX_SILENCE_DAYS",
    "SILENCE_NOTE",
    "acknowledge",
    "alert_of",
    "lift",
    "lift_terms",
    "one_alert",
    "silence",
    "silence_end",
    "silence_terms",
]

#: The longest silence: a forgotten one must not hide an alert for good.
MAX_SILENCE_DAYS = 30
#: How long a reason may be (it is shown in a table and audited).
MAX_REASON = 500
SILENCE_NOTE = (
    "A silence stops notifications for the alert (or every subject of the rule, with *) until "
    "it ends; the Alerts page still shows it firing, and its changes are still recorded."
)
#: Said when the console has no store to keep silences and acknowledgements in.
NO_STORE = "The console's store is not available, so this could not be kept."


class Alerting(Protocol):
    """What these functions use of the desk."""

    store: Store | None
    cluster: str


def alert_of(target: str) -> tuple[str, str]:
    """``"<rule>/<subject>"`` as (rule, subject); the subject may itself hold a slash."""
    rule, _, subject = str(target).partition("/")
    return rule, subject


def one_alert(targets: list[str], params: Mapping[str, Any]) -> str:
    """One alert, named ``<rule>/<subject>``."""
    if len(targets) != 1 or not all(alert_of(targets[0])):
        return "Name one alert as <rule>/<subject>."
    return ""


def silence_end(params: Mapping[str, Any], now: float) -> float | None:
    """When the silence asked for ends (epoch s), or None when it is not a usable end."""
    minutes, until = params.get("minutes"), params.get("until")
    if (minutes is None) == (until is None):
        return None
    try:
        end = now + float(minutes) * 60 if until is None else float(until)
    except (TypeError, ValueError):
        return None
    return end if now < end <= now + MAX_SILENCE_DAYS * 86400 else None


def silence_terms(targets: list[str], params: Mapping[str, Any]) -> str:
    """One alert, an end in the next ``MAX_SILENCE_DAYS`` days, and a reason."""
    if why := one_alert(targets, params):
        return why
    if silence_end(params, time.time()) is None:
        return f"A silence ends in the future, within {MAX_SILENCE_DAYS} days: choose how long."
    reason = str(params.get("reason") or "").strip()
    if not reason:
        return "Say why you silence it: the reason is shown beside the silence and audited."
    if len(reason) > MAX_REASON:
        return f"Keep the reason under {MAX_REASON} characters."
    return ""


def lift_terms(targets: list[str], params: Mapping[str, Any]) -> str:
    """One alert and the id of the silence to lift."""
    if why := one_alert(targets, params):
        return why
    if not str(params.get("silence_id", "")).isdigit():
        return "Choose the silence to lift."
    return ""


def _store(desk: Alerting) -> Store:
    if desk.store is None:
        raise ActionRefused(NO_STORE)
    return desk.store


def _utc(at: float) -> str:
    return f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M} UTC"


def silence(desk: Alerting, target: str, params: Mapping[str, Any]) -> str:
    """Write the silence; what was done, in one sentence."""
    rule, subject = alert_of(target)
    now = time.time()
    until = silence_end(params, now)
    if until is None:  # checked before the claim; a minutes-long wait since is still refused
        raise ActionRefused("The silence would end in the past: nothing was silenced.")
    reason, by = str(params["reason"]).strip(), str(params["by"])
    _store(desk).silence(desk.cluster, rule, subject, until, by, reason, now)
    return f"silenced until {_utc(until)} by {by}"


def lift(desk: Alerting, target: str, params: Mapping[str, Any]) -> str:
    """End the silence now; refused when it is no longer in force."""
    rule, subject = alert_of(target)
    lifted = _store(desk).lift_silence(
        desk.cluster, int(params["silence_id"]), rule, subject, time.time()
    )
    if lifted is None:
        raise ActionRefused(f"No silence of {target} with that id is in force (lifted or over).")
    return f"the silence by {lifted['by']} until {_utc(lifted['until'])} is lifted"


def acknowledge(desk: Alerting, target: str, params: Mapping[str, Any]) -> str:
    """Mark the firing alert as being handled; refused when it is not firing."""
    rule, subject = alert_of(target)
    done = _store(desk).acknowledge(desk.cluster, rule, subject, str(params["by"]), time.time())
    if done is None:
        raise ActionRefused(f"{target} is not firing: only a firing alert is acknowledged.")
    said = "acknowledged" if done.now else "already acknowledged"
    return f"{said} by {done.by} at {_utc(done.at)}"

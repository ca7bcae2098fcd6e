"""The webhook's message for one notification (pure): the JSON body a receiver gets.

Fields (contract.md, "Alert webhook payload"): ``rule``, ``state`` (firing | resolved),
``severity``, ``subject``, ``summary``, ``value``, ``threshold``, ``since`` (ISO 8601, UTC with
its offset: when the problem began, for both states), ``url`` (``OPS_PUBLIC_URL`` + "/" + the
alert's link; with a clusters file also ``cluster=<name>``, so it opens on the alert's cluster), ``text`` (one line a Slack or Mattermost incoming webhook shows as is); and
``cluster``, ``id`` (the change's id: a receiver can drop a repeat), ``resolved_at`` when
resolved, ``related`` (the other alerts of the same cause: rule, subject, state, severity,
summary each).

Invariants: the webhook's own URL is never in it; every text field passes through the
secrets' scrub (store text is masked already; this is the last door before the network).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from lib.alerts.states import Change, Notification
from lib.frames.clusters import with_cluster
from lib.redact import scrub

__all__ = ["ICONS", "alert_url", "iso", "payload", "payload_json", "text_line"]

#: The line's first mark: by severity while firing, one for every resolve.
ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵", "resolved": "✅"}


def iso(at: float | None) -> str | None:
    """An epoch moment as ISO 8601 in UTC with its offset (seconds precision)."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def alert_url(public_url: str, link: str, cluster: str | None = None) -> str:
    """The console's deep link for ``link`` (relative, e.g. ``workers?worker=w1``); with
    ``cluster`` (a console of several clusters), scoped to it by ``cluster=<name>``."""
    return f"{public_url.rstrip('/')}/{with_cluster(link.lstrip('/'), cluster)}"


def text_line(change: Change, url: str, related: int = 0) -> str:
    """E.g. "🔴 FIRING critical · worker_offline · w1@host — Worker w1@host is offline
    (+2 related) <url>"."""
    alert = change.alert
    icon = ICONS["resolved"] if alert.state == "resolved" else ICONS.get(alert.severity, "")
    more = f" (+{related} related)" if related else ""
    head = f"{icon} {alert.state.upper()} {alert.severity} · {alert.rule} · {alert.subject}"
    return f"{head} — {alert.summary}{more} <{url}>"


def payload(
    notification: Notification,
    change_id: int,
    cluster: str,
    public_url: str,
    secrets: Iterable[str] = (),
    link_cluster: bool = False,
) -> dict:
    """The JSON object of ``notification``, whose leading change got ``change_id``;
    ``link_cluster``: the console watches several clusters (its links name the cluster)."""
    hidden = tuple(secrets)
    head = notification.head.alert
    url = alert_url(public_url, head.link, cluster if link_cluster else None)
    body = {
        "id": change_id,
        "cluster": cluster,
        "rule": head.rule,
        "state": head.state,
        "severity": head.severity,
        "subject": scrub(head.subject, hidden),
        "summary": scrub(head.summary, hidden),
        "value": head.value,
        "threshold": head.threshold,
        "since": iso(head.pending_since if head.pending_since is not None else head.since),
        "url": scrub(url, hidden),
        "text": scrub(text_line(notification.head, url, len(notification.related)), hidden),
        "related": [_related(change, hidden) for change in notification.related],
    }
    if head.state == "resolved":
        body["resolved_at"] = iso(head.resolved_at)
    return body


def payload_json(
    notification: Notification,
    change_id: int,
    cluster: str,
    public_url: str,
    secrets: Iterable[str] = (),
    link_cluster: bool = False,
) -> str:
    """``payload`` as the JSON text the outbox keeps (UTF-8, emoji as is)."""
    body = payload(notification, change_id, cluster, public_url, secrets, link_cluster)
    return json.dumps(body, ensure_ascii=False)


def _related(change: Change, hidden: tuple[str, ...]) -> dict:
    alert = change.alert
    return {
        "rule": alert.rule,
        "subject": scrub(alert.subject, hidden),
        "state": alert.state,
        "severity": alert.severity,
        "summary": scrub(alert.summary, hidden),
    }

"""``Deliverer``: sends the webhook outbox (``alert_deliveries``) of one cluster, beside the
collector, retrying with backoff for up to 24 hours.

The state machine queues one row per notification in the same transaction as the alert's
change; this module only delivers them. A round takes the due rows oldest first (at most
``batch``), claims each (``lib.store.alert_outbox.claim``: of several consoles on one store,
one sends a row), POSTs it (``lib.alerts.webhook``) and records the attempt: ``sent``, or
queued again after ``backoff(attempts)``, or ``gave_up`` once the row is 24 h old. A round
ends at the first failed POST: the receiver is likely down for the rest too, and a hung one
must cost one timeout per round, not one per row.

Its thread wakes when the collector has polled (``wake``) and at least every ``wake_every`` s;
a slow or hung webhook delays only this thread, never a poll. ``stop()`` returns within one
request's timeout. Nothing is lost or sent twice across restarts: the rows are the state
(sent ones are never taken again, queued ones are taken by the next run); only a process that
dies between the receiver's answer and its record leaves a row that is sent again after its
lease, with the same ``Idempotency-Key`` (the change id) for the receiver to drop it.

Invariants: the webhook URL (a secret) is never stored, logged or said; a payload that is not
a JSON object is never sent (``gave_up``, saying why); one round at a time per deliverer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lib.alerts.webhook import new_session, post_notification, webhook_secrets
from lib.errors import ConsoleError
from lib.redact import protect
from lib.settings import Settings
from lib.store import Store
from lib.store.alert_outbox import OutboxRow, claim, due_rows, record_attempt

__all__ = [
    "BACKOFF_SECONDS",
    "GIVE_UP_AFTER",
    "Deliverer",
    "DeliveryReport",
    "backoff",
    "deliverer_for",
]

log = logging.getLogger(__name__)

#: Waits after the 1st, 2nd... failed attempt; every 30 min after the last, until give-up.
#: No jitter: the rows of one store are sent by one round at a time, in order, so retries
#: do not stampede a receiver.
BACKOFF_SECONDS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
#: A notification not delivered this long after it was queued is given up (recorded, said).
GIVE_UP_AFTER = 24 * 3600.0
#: Seconds a receiver has to accept and to answer a POST (at most FLOWER_TIMEOUT: see stop()).
DEFAULT_TIMEOUT = 5.0
#: Rows one round takes at most (a backlog is sent over several rounds, the thread loops on).
BATCH = 20
#: The thread's round at least this often, collector poll or not.
WAKE_EVERY = 5.0
#: A claim lasts one request's timeout plus this: longer than any attempt can take.
LEASE_MARGIN = 30.0
#: stop() waits one request's timeout plus this for the thread to end.
STOP_MARGIN = 1.0


def backoff(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed attempts (≥ 1)."""
    return BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]


@dataclass
class DeliveryReport:
    """What one round did: rows sent, to be retried, given up, and claimed by someone else."""

    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    lost: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.gave_up + self.lost


class Deliverer:
    """Delivers ``cluster``'s outbox in ``store`` to ``webhook_url`` (``start``/``stop`` its
    thread, or call ``deliver_due`` directly)."""

    def __init__(
        self,
        store: Store,
        cluster: str,
        webhook_url: str,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT,
        batch: int = BATCH,
        wake_every: float = WAKE_EVERY,
    ):
        hidden = webhook_secrets(webhook_url)
        protect(hidden)  # urllib3's debug log prints the path (the token) without the host
        self.engine, self.cluster, self.url = store.engine, cluster, webhook_url
        self.secrets = tuple(dict.fromkeys((*secrets, *hidden)))
        self.clock, self.timeout, self.batch, self.wake_every = clock, timeout, batch, wake_every
        self._session = new_session()
        self._round = threading.Lock()  # one round at a time: the session is not shared
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round ---------------------------------------------------------------------------

    def deliver_due(self, now: float) -> DeliveryReport:
        """Send the rows due at ``now`` (oldest first, at most ``batch``); the round's times
        are ``now``. Ends early at the first failed POST and when asked to stop."""
        report = DeliveryReport()
        with self._round:
            while report.handled < self.batch and not self._stopping.is_set():
                rows = due_rows(self.engine, self.cluster, now, self.batch - report.handled)
                if not rows or not self._send_rows(rows, now, report):
                    break
        return report

    def _send_rows(self, rows: list[OutboxRow], now: float, report: DeliveryReport) -> bool:
        """Deliver ``rows`` in order; False when the round should end (a POST failed, stop)."""
        for row in rows:
            if self._stopping.is_set():
                return False
            lease = now + self.timeout + LEASE_MARGIN
            if not claim(self.engine, row, lease):
                report.lost += 1  # another console took it since it was read
                continue
            if not self._attempt(row, lease, now, report):
                return False
        return True

    def _attempt(self, row: OutboxRow, lease: float, now: float, report: DeliveryReport) -> bool:
        """POST one claimed row and record how it went; False when the webhook failed."""
        unreadable = _unreadable(row.payload)
        if unreadable is not None:
            self._record(row, lease, "gave_up", now, unreadable, report)
            return True
        key = str(row.change_id)
        error = post_notification(
            self._session, self.url, row.payload, key, self.timeout, self.secrets
        )
        if error is None:
            self._record(row, lease, "sent", now, None, report)
            return True
        attempts, deadline = row.attempts + 1, row.created_at + GIVE_UP_AFTER
        if now >= deadline:
            said = f"{error}; gave up: not delivered within 24 h ({attempts} attempts)"
            self._record(row, lease, "gave_up", now, said, report)
        else:
            retry_at = min(now + backoff(attempts), deadline)  # the last try at the deadline
            self._record(row, lease, "queued", now, error, report, retry_at)
        return False

    def _record(
        self,
        row: OutboxRow,
        lease: float,
        status: str,
        now: float,
        error: str | None,
        report: DeliveryReport,
        retry_at: float | None = None,
    ) -> None:
        kept = record_attempt(self.engine, row.id, lease, status, now, error, retry_at)
        if not kept:  # our lease ran out and another console took the row: it decides now
            log.warning("alert notification %s: its claim ran out before it was recorded", row.id)
            report.lost += 1
            return
        if error is not None:
            log.warning("alert notification %s (%s): %s", row.id, status, error)
            report.errors.append(error)
        report.sent += status == "sent"
        report.retrying += status == "queued"
        report.gave_up += status == "gave_up"

    # -- the thread --------------------------------------------------------------------------

    def wake(self) -> None:
        """Run a round now (the collector has polled: new rows may be queued)."""
        self._wake.set()

    def start(self) -> Deliverer:
        """Run rounds in a daemon thread until ``stop`` (a hung request never blocks exit)."""
        if self._thread is not None and self._thread.is_alive():
            if not self._stopping.is_set():
                return self
            self._thread.join(self.timeout + STOP_MARGIN)  # a stop(0) still ending
        self._stopping.clear()
        name = f"alert-delivery-{self.cluster}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the thread to end and wait up to ``timeout`` s (default: one request's timeout
        and a margin; 0 only asks); True when it has ended."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(self.timeout + STOP_MARGIN if timeout is None else timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            report = self._round_safely()
            if report is not None and report.handled >= self.batch and not report.errors:
                continue  # a backlog: the next batch now
            self._wake.wait(self.wake_every)
            self._wake.clear()

    def _round_safely(self) -> DeliveryReport | None:
        try:
            return self.deliver_due(self.clock())
        except ConsoleError as exc:  # the store did not answer: the rows wait, next round
            log.warning("alert notifications not delivered this round: %s", exc)
        except Exception:  # a bug must not end the thread: log it whole, try again later
            log.exception("alert delivery failed unexpectedly")
        return None


def deliverer_for(
    settings: Settings, store: Store, cluster: str, clock: Callable[[], float] = time.time
) -> Deliverer | None:
    """The collector's deliverer; None without ``OPS_ALERT_WEBHOOK`` (rows stay queued)."""
    if not settings.alert_webhook:
        log.info("OPS_ALERT_WEBHOOK is not set: alert notifications stay queued in the store")
        return None
    # No longer than FLOWER_TIMEOUT, so the collector's stop() waits no longer than before.
    timeout = min(DEFAULT_TIMEOUT, settings.flower_timeout)
    return Deliverer(store, cluster, settings.alert_webhook, settings.secrets, clock, timeout)


def _unreadable(payload: str) -> str | None:
    """Why ``payload`` cannot be sent (not a JSON object), or None."""
    try:
        body = json.loads(payload)
    except ValueError as exc:
        where = (
            f" ({exc.msg} at character {exc.pos})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        return f"not sent: its payload is not valid JSON{where}"
    if not isinstance(body, dict):
        return f"not sent: its payload is a JSON {type(body).__name__}, not an object"
    return None

"""``outbox_summary``: where the webhook's notifications stand, for the Alerts page.

Counts by status (queued, sent, given up), when the last one was delivered, the newest unsent
one's last error (plain words, never the URL: the deliverer wrote them so) and when the next
attempt is due; ``sentence`` says it in one line, and says when no webhook is set (notifications
then wait in the outbox, and are sent once one is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lib.queue_outlook import age_text
from lib.store import Store
from lib.store.alert_outbox import OutboxState, outbox_state

__all__ = ["OutboxSummary", "outbox_summary"]


@dataclass(frozen=True)
class OutboxSummary(OutboxState):
    """The outbox of one cluster (``OutboxState``'s figures) as seen at ``now`` (epoch s)."""

    now: float = 0.0

    def sentence(self, webhook_set: bool = True) -> str:
        """One line for the page: "3 notifications sent, the last 2 min ago. 1 waiting: next
        attempt in 25 s (20:27:51 UTC). Last error: the webhook answered 503 (...)." and so on."""
        if not webhook_set:
            unsent = "No webhook is set (OPS_ALERT_WEBHOOK): alerts are not sent anywhere."
            if not self.queued:
                return unsent
            verb = "waits" if self.queued == 1 else "wait"
            return f"{unsent} {_count(self.queued)} {verb} in the outbox until one is set."
        parts = [self._sent_part()]
        if self.queued:
            parts.append(self._waiting_part())
        if self.gave_up:
            parts.append(f"{_count(self.gave_up)} given up (not delivered within 24 h).")
        return " ".join(parts)

    def _sent_part(self) -> str:
        if not self.sent or self.last_sent_at is None:
            return "No notification sent yet."
        return f"{_count(self.sent)} sent, the last {age_text(self.now - self.last_sent_at)} ago."

    def _waiting_part(self) -> str:
        due = self.next_at if self.next_at is not None else self.now
        when = "now" if due <= self.now else f"in {age_text(due - self.now)} ({_clock(due)})"
        error = f" Last error: {self.last_error}." if self.last_error else ""
        return f"{self.queued} waiting: next attempt {when}.{error}"


def outbox_summary(store: Store, cluster: str, now: float) -> OutboxSummary:
    """The outbox of ``cluster`` in ``store`` as of ``now``."""
    return OutboxSummary(**vars(outbox_state(store.engine, cluster)), now=now)


def _count(n: int) -> str:
    return f"{n} notification{'' if n == 1 else 's'}"


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S UTC")

"""One queue's outlook on its panel (``Queues?queue=<name>``): who consumes it, how long its
oldest task has waited, and when it will be empty at the current rate.

Pure: frames and counts in, a frame or a ``Figure`` (a value, or "—", and the sentence saying
where it came from or why it is missing) out; ``now`` is passed in. ``lib.store.waiting`` reads
the counts; the panel (``lib.ui.queue_panel``) lays them out.

Definitions (contract.md, kept exactly):

- Oldest waiting age = now − the sent time of the oldest PENDING task of the queue in the store
  (``task-sent`` events: producers need ``task_send_sent_event``). PENDING tasks sent before the
  queue's last purge are not waiting (the purge removed them). Else "—" with why: no task
  waiting (the broker's depth is 0, whatever PENDING task the store still holds: its later
  events were lost), no sent events seen (none of the queue's tasks of the last
  10 minutes carried a sent time), or none of the waiting messages' tasks is in the store.
- Drain estimate = depth ÷ net rate, net rate = consumed − arrived over the last 10 minutes;
  "not draining" when the net rate ≤ 0. Sources, said on screen:

  - depth: the broker, now (the panel's "Waiting now");
  - consumed: the queue's tasks that workers received in the window (the store);
  - arrived: the queue's tasks sent in the window, when its tasks carry sent events; else
    consumed + (depth now − the sampled depth 10 minutes ago): what came in is what left
    plus what the queue grew by. Producers of which only some send events make arrivals
    look fewer (the estimate too hopeful): the sent path is used whenever any task of the
    window carries a sent time.
  - RabbitMQ's management rates (``lib.rabbitmq_rates``) are not used: they average the
    node's last few seconds, not the 10 minutes the definition asks for.

  Too little history (no sample of the queue's depth from about 10 minutes ago: the collector
  has not watched it that long) is said instead of a number, whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import pandas as pd

from lib.store.waiting import QueueFlow

if TYPE_CHECKING:
    from lib.store import Store

__all__ = [
    "CONSUMER_COLUMNS",
    "DRAIN_WINDOW",
    "NOT_DRAINING",
    "Figure",
    "Outlook",
    "age_text",
    "consumers_frame",
    "drain_estimate",
    "duration_text",
    "oldest_waiting",
    "read_outlook",
]

#: The drain estimate's window (contract: "over 10 minutes").
DRAIN_WINDOW = 600.0
#: What the estimate says when the queue does not shrink (contract.md).
NOT_DRAINING = "not draining"
#: The consumers frame's columns, in display order.
CONSUMER_COLUMNS = ("worker", "link", "active", "last_heartbeat")
DASH = "—"


@dataclass(frozen=True)
class Figure:
    """A value as shown (``text``; "—" when unknown) and where it came from, or why not."""

    text: str
    why: str

    @property
    def known(self) -> bool:
        return self.text != DASH


@dataclass(frozen=True)
class Outlook:
    """A queue's oldest waiting age and drain estimate, read together."""

    oldest: Figure
    drain: Figure


def read_outlook(
    store: Store, queue: str, depth: int | None, now: float, poll_seconds: float
) -> Outlook:
    """Read ``queue``'s counts from ``store`` and judge them; ``depth`` is the broker's now.

    PENDING tasks sent before the queue's last purge are not waiting; the depth 10 minutes ago
    is the latest sample within a few polls before then."""
    since = now - DRAIN_WINDOW
    flow = store.queue_flow(queue, since, now)
    sent = store.oldest_waiting_sent(queue, store.last_purge_at(queue))
    depth_then = store.depth_near(queue, since, max(3 * poll_seconds, 30.0))
    return Outlook(oldest_waiting(depth, sent, flow, now), drain_estimate(depth, flow, depth_then))


def consumers_frame(workers: pd.DataFrame | None, queue: str) -> pd.DataFrame:
    """The online workers consuming ``queue`` now. Columns: ``CONSUMER_COLUMNS``; ``link`` is
    the worker's deep link ``Workers?worker=<name>``, relative and lower case as the page's
    URL path is (``workers?worker=``), its name quoted."""
    if workers is None or workers.empty:
        return pd.DataFrame(columns=list(CONSUMER_COLUMNS))
    listed = workers["queues"].map(
        lambda q: queue in q.split(", ") if isinstance(q, str) else False
    )
    consuming = workers[workers["online"].fillna(False).astype(bool) & listed]
    frame = consuming.loc[:, ["worker", "active", "last_heartbeat"]].copy()
    frame.insert(1, "link", [f"workers?worker={quote(name)}" for name in frame["worker"]])
    return frame.sort_values("worker", ignore_index=True)


def oldest_waiting(depth: int | None, sent: float | None, flow: QueueFlow, now: float) -> Figure:
    """The oldest waiting task's age from its sent time (epoch s), or "—" with why."""
    if depth == 0:  # a PENDING task in the store then is one whose later events were lost
        return Figure(DASH, "no task waiting")
    if sent is not None:
        return Figure(age_text(now - sent), "from the oldest PENDING task's sent time")
    if flow.with_sent == 0:
        return Figure(
            DASH,
            "no sent events seen: producers send them with task_send_sent_event = True",
        )
    return Figure(DASH, "no waiting task of this queue is in the store with its sent time")


def drain_estimate(
    depth: int | None, flow: QueueFlow, depth_then: int | None, window: float = DRAIN_WINDOW
) -> Figure:
    """Depth ÷ (consumed − arrived) over ``window`` seconds, as a sentence and its sources.

    ``depth_then``: the sampled depth ``window`` seconds ago (None: too little history)."""
    minutes = window / 60
    if depth is None:
        return Figure(DASH, "the broker's depth can't be read")
    if depth_then is None:
        return Figure(
            DASH, f"too little history: no depth sampled about {minutes:g} minutes ago yet"
        )
    if flow.with_sent:
        arrived, source = flow.arrived, "arrivals from sent events"
    else:
        arrived = flow.consumed + (depth - depth_then)
        source = f"arrivals from the depth's change since {minutes:g} minutes ago"
    sources = (
        f"{flow.consumed:,} consumed, {arrived:,} arrived in {minutes:g} min "
        f"(consumed from the workers' received tasks, {source})"
    )
    net = flow.consumed - arrived
    if depth == 0:
        return Figure("empty", sources)
    if net <= 0:
        return Figure(NOT_DRAINING, sources)
    return Figure(
        f"drains in about {duration_text(depth / net * window)} at the current rate", sources
    )


def duration_text(seconds: float) -> str:
    """A coming duration in words: "12 min", "under a minute", "3 h 20 min", "2 days"."""
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{round(hours / 24)} days"


def age_text(seconds: float) -> str:
    """A past duration, to the second under an hour: "45 s", "4 min 10 s", "2 h 5 min"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days {hours % 24} h"

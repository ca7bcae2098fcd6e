"""Queue rules: a backlog above a threshold (kind ``queue_depth``) and a queue growing while it
has consumers (kind ``queue_growing``).

- ``queue_depth``: per queue in the rule's ``match``, this poll's broker depth above
  ``threshold`` (strictly). A queue whose depth is unknown this poll (the broker did not say)
  repeats its last poll's condition, so an alert neither fires nor resolves on a failed read
  (a fresh collector has none to repeat: that queue says nothing until it is read). When every
  worker consuming the queue is offline, ``cause`` is the first of their offline alerts.
- ``queue_growing``: per queue with at least one online consumer, the depth now above the depth
  ``window`` ago and never 0 in between, from the store's queue samples (one per poll). "Window
  ago" is the last sample at or before then, at most ``SAMPLE_SLACK`` polls older; without one
  the samples do not cover the window yet and nothing is said.

Invariants: read only; when the queues were not read this poll the rule cannot tell
(``CannotTell``); the ``for`` durations are the state machine's.
"""

from __future__ import annotations

import pandas as pd

from lib.alerts.model import AlertContext, Condition, Rule
from lib.alerts.orphans import cause_key
from lib.alerts.readings import condition_of, consumers_of, depths_now, link, span_words

__all__ = ["EVALUATORS", "SAMPLE_SLACK", "queue_depth", "queue_growing"]

#: How many poll intervals older than ``window`` the "then" sample may be (polls drift).
SAMPLE_SLACK = 3


def queue_depth(rule: Rule, context: AlertContext) -> list[Condition]:
    """One condition per queue in scope holding more than ``threshold`` messages."""
    depths = depths_now(context)
    consumers = consumers_of(context.snapshot.workers)
    limit = rule.threshold or 0
    before = context.scratch(rule).get("conditions", {})
    found = {}
    for queue, depth in sorted(depths.items()):
        if not rule.match.allows(queue=queue):
            continue
        if depth is None:
            if queue in before:
                found[queue] = before[queue]
            continue
        if depth > limit:
            found[queue] = _backlog(rule, queue, depth, consumers.get(queue, {}))
    context.scratch(rule)["conditions"] = found
    return list(found.values())


def _backlog(rule: Rule, queue: str, depth: int, consumers: dict[str, bool]) -> Condition:
    dead = sorted(w for w, online in consumers.items() if not online)
    all_dead = bool(consumers) and len(dead) == len(consumers)
    why = f"; its worker {dead[0]} is offline" if all_dead and len(dead) == 1 else ""
    why = f"; all {len(dead)} of its workers are offline" if all_dead and len(dead) > 1 else why
    return condition_of(
        rule,
        queue,
        f"Queue {queue} has {depth:,} messages waiting (above {rule.threshold or 0:g}){why}.",
        link("queues", queue=queue),
        float(depth),
        cause=cause_key(rule, dead[0]) if all_dead else None,
    )


def queue_growing(rule: Rule, context: AlertContext) -> list[Condition]:
    """One condition per consumed queue in scope that grew over the whole window."""
    depths = depths_now(context)
    window = float(rule.window_seconds or 0)
    slack = SAMPLE_SLACK * context.health.poll_seconds
    then = context.now - window
    samples = context.store.queue_samples(then - slack, context.now + 1)
    consumers = consumers_of(context.snapshot.workers)
    found = []
    for queue, depth in sorted(depths.items()):
        online = sorted(w for w, up in consumers.get(queue, {}).items() if up)
        if depth is None or not online or not rule.match.allows(queue=queue):
            continue
        past = samples[(samples["queue"] == queue) & samples["messages"].notna()]
        earlier = _depth_then(past, then)
        if earlier is None or depth <= earlier:
            continue
        between = past.loc[past["at"] > pd.Timestamp(then, unit="s", tz="UTC"), "messages"]
        if (between > 0).all():
            found.append(_growing(rule, queue, (earlier, depth), window, len(online)))
    return found


def _depth_then(samples: pd.DataFrame, then: float) -> int | None:
    """The last sampled depth at or before ``then`` (None: the samples start later)."""
    before = samples[samples["at"] <= pd.Timestamp(then, unit="s", tz="UTC")]
    return None if before.empty else int(before.sort_values("at")["messages"].iloc[-1])


def _growing(
    rule: Rule, queue: str, depths: tuple[int, int], window: float, consumers: int
) -> Condition:
    earlier, depth = depths
    who = "1 consumer" if consumers == 1 else f"{consumers} consumers"
    summary = (
        f"Queue {queue} grew from {earlier:,} to {depth:,} messages over the last "
        f"{span_words(window)} although it has {who}."
    )
    where = link("queues", queue=queue)
    return condition_of(rule, queue, summary, where, float(depth), threshold=float(earlier))


EVALUATORS = {"queue_depth": queue_depth, "queue_growing": queue_growing}

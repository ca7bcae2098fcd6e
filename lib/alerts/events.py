"""Rule kind ``events_stopped``: workers work, but no task event reaches Flower.

The workers' ``processed`` counters come with their heartbeats (worker events, sent with or
without ``-E``), so they rise while tasks run even when task events are off. The condition
holds when, over the last ``window`` (default 5 min):

- an online worker the rule matches raised its ``processed`` counter (worker samples, each
  rise between consecutive samples counted: a restarted worker's counter starts again), and
- no task event a worker sends (received, started, succeeded, failed, retried, revoked) is
  in the store for the window before ``data_until``.

Which "last task data" time: the newest worker task event the store holds, not
``CollectorHealth.data_until``. ``data_until`` moves at every poll whose sync worked, events or
none, so it says how fresh the store's view is, not whether events arrive; it is the moment
the events window ends at (the store lags Flower by up to a poll). ``sent`` is not counted:
producers send it, so it keeps arriving when the workers send no task events.

Not "events stopped" (``CannotTell``, the alert stays as it was): Flower not answering, no
task data yet. Nothing runs (counters flat): no condition. Subject ``cluster``.
"""

from __future__ import annotations

import pandas as pd

from lib.alerts.model import AlertContext, Condition, Rule
from lib.alerts.telling import task_data_until
from lib.alerts.wording import SETUP_CHECK, clock, span
from lib.store import alert_reads
from lib.store.engine import reading

__all__ = ["CLUSTER", "events_stopped", "processed_rise"]

#: The subject of a cluster-wide condition.
CLUSTER = "cluster"
FIVE_MINUTES = 300.0


def events_stopped(rule: Rule, context: AlertContext) -> list[Condition]:
    """The cluster's condition when workers process tasks Flower hears nothing of."""
    window = rule.window_seconds or FIVE_MINUTES
    until = task_data_until(context.health)
    now, store = context.now, context.store
    samples = store.worker_samples(now - window, now + 1)  # the samples at ``now`` included
    matched = samples["worker"].map(lambda w: rule.match.allows(worker=str(w)))
    samples = samples[matched.astype(bool)]
    rose = processed_rise(samples)
    if not rose:
        return []
    with reading(store.engine) as conn:
        if alert_reads.worker_event_since(conn, until - window) is not None:
            return []
        last = alert_reads.newest_received(conn)
    before = (
        "none is stored" if last is None else f"the newest task was received {clock(last, now)}"
    )
    summary = (
        f"Workers processed {rose:,} tasks in the last {span(window)}, but no task event "
        f"reached Flower ({before}): check that the workers run with -E (or that Flower "
        "enables events), and that Flower reads events from this broker."
    )
    return [Condition(rule.name, CLUSTER, rule.severity, summary, SETUP_CHECK, float(rose))]


def processed_rise(samples: pd.DataFrame) -> int:
    """How much the online workers' ``processed`` counters rose across ``samples`` (worker
    samples: at, worker, online, processed): each worker's rises between consecutive samples,
    summed (a drop is a restart, not a rise: the counter starts again from 0)."""
    online = samples[samples["online"].fillna(False).astype(bool)].dropna(subset=["processed"])
    ordered = online.sort_values(["worker", "at"])
    steps = ordered.groupby("worker")["processed"].diff()
    return int(steps[steps > 0].sum())

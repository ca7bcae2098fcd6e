"""Worker rules: a worker offline (kind ``worker_offline``).

A condition per worker Flower lists as offline this poll and the rule's ``match`` allows; its
value is the seconds since the worker's last heartbeat when Flower kept one. The rule's ``for``
(30 s by default) is the state machine's, not applied here.

Invariants: a worker offline longer than ``options.forget_after`` (default 24 h) is taken as
retired and not reported (an autoscaled-away worker must not alert forever; its alert resolves);
when Flower did not answer this poll nothing is said (``CannotTell``): an unknown liveness is
not "every worker offline".
"""

from __future__ import annotations

import pandas as pd

from lib.alerts.model import AlertContext, Condition, Rule
from lib.alerts.readings import condition_of, link, span_words, workers_now

__all__ = ["DEFAULT_FORGET_AFTER", "EVALUATORS", "worker_offline"]

#: A worker offline this long (s) is taken as retired (``options.forget_after``).
DEFAULT_FORGET_AFTER = 86400.0


def worker_offline(rule: Rule, context: AlertContext) -> list[Condition]:
    """One condition per offline worker in the rule's scope, not yet retired."""
    workers = workers_now(context)
    forget_after = float(rule.options.get("forget_after", DEFAULT_FORGET_AFTER))
    found = []
    offline = workers[~workers["online"].astype(bool)]
    for worker, beat in zip(offline["worker"], offline["last_heartbeat"], strict=True):
        if not rule.match.allows(worker=str(worker)):
            continue
        silent = None if pd.isna(beat) else max(0.0, context.now - beat.timestamp())
        if silent is not None and silent > forget_after:
            continue
        found.append(_offline(rule, str(worker), silent))
    return found


def _offline(rule: Rule, worker: str, silent: float | None) -> Condition:
    why = "no heartbeat seen" if silent is None else f"no heartbeat for {span_words(silent)}"
    summary = f"Worker {worker} is offline ({why})."
    value = None if silent is None else round(silent, 1)
    return condition_of(rule, worker, summary, link("workers", worker=worker), value)


EVALUATORS = {"worker_offline": worker_offline}

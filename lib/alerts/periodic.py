"""Rule kind ``missed_runs``: a task that arrived on a steady interval stopped arriving.

Per task name the rule matches, its newest ``options.min_runs`` (default 6) arrivals (sent,
else received) are *steady* when every spacing between them is within ``options.tolerance``
(default 0.1, i.e. 10 %) of their median spacing, the interval. A steady name *misses* when
nothing arrived for more than ``options.misses + tolerance`` intervals (default 3.1): the
condition's value is the runs missed, the whole intervals passed less the tolerance of the
run still due (3.5 intervals of silence: 3 runs missed). Beat stopped, or the worker that
consumes the task's queue with it (or, without sent events, only the worker).

Silence is measured up to ``CollectorHealth.data_until`` (``lib.alerts.telling``), not the
clock: the store's tasks are Flower's as of then, and a run that arrived since the last sync
is not missed. Each poll reads, per name, a bounded number of its newest rows through an
index (``lib.store.alert_reads``), so the cost grows with the names, not the tasks.

Invariants: a name with fewer arrivals, or uneven ones, never has a condition; reads only.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence

from lib.alerts.model import AlertContext, Condition, Rule
from lib.alerts.telling import number_option, task_data_until
from lib.alerts.wording import clock, span, task_name_link
from lib.store import alert_reads
from lib.store.engine import reading

__all__ = ["missed_runs", "runs_missed", "steady_interval"]

#: Rows read per name, per run the rule needs: arrivals are ordered by last event in the
#: index, so a few more than needed keep the newest arrivals when a run finished late.
ROWS_PER_RUN = 2


def missed_runs(rule: Rule, context: AlertContext) -> list[Condition]:
    """One condition per matching steady task name that missed its runs (module docstring)."""
    least = int(number_option(rule, "min_runs", 6, at_least=3))
    tolerance = number_option(rule, "tolerance", 0.1)
    misses = number_option(rule, "misses", 3, at_least=1)
    as_of = min(context.now, task_data_until(context.health))
    with reading(context.store.engine) as conn:
        names = [n for n in alert_reads.task_names(conn) if rule.match.allows(task=n)]
        arrivals = {n: alert_reads.latest_arrivals(conn, n, ROWS_PER_RUN * least) for n in names}
    found = []
    for name, times in arrivals.items():
        interval = steady_interval(times[-least:], least, tolerance)
        if interval is None or as_of - times[-1] <= (misses + tolerance) * interval:
            continue
        missed = runs_missed(as_of - times[-1], interval, tolerance)
        summary = (
            f"Periodic task {name} ran every {span(interval)} until "
            f"{clock(times[-1], context.now)}; {missed} runs missed (beat stopped, or its worker)."
        )
        found.append(
            Condition(
                rule.name, name, rule.severity, summary, task_name_link(name), float(missed), misses
            )
        )
    return found


def steady_interval(times: Sequence[float], least: int, tolerance: float) -> float | None:
    """The interval of ``times`` (sorted) when at least ``least`` arrived with every spacing
    within ``tolerance`` (a fraction) of the median spacing; else None."""
    if len(times) < least:
        return None
    spacings = [later - earlier for earlier, later in itertools.pairwise(times)]
    interval = statistics.median(spacings)
    if interval <= 0 or any(abs(s - interval) > tolerance * interval for s in spacings):
        return None
    return interval


def runs_missed(silence: float, interval: float, tolerance: float) -> int:
    """The runs due in ``silence`` seconds, the last one given ``tolerance`` to be late."""
    return max(0, math.floor(silence / interval - tolerance))

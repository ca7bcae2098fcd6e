"""Rule kind ``runtime_regression``: a task name's p95 runtime now against its own past.

Per task name the rule matches: the p95 runtime over the last ``window`` (default 1 h) against
its p95 in the baseline window from ``options.baseline_from`` to ``options.baseline_to``
seconds ago (defaults 172800 and 86400: from 48 h ago to 24 h ago, as the default rules
file writes it). The condition holds when both windows
hold at least ``options.min_samples`` runs (default 20) and the ratio is above ``threshold``
(default 3). Percentiles come from the stored runtime histograms, summed in the database (per
minute at the edges, per hour inside: ``lib.store.alert_reads``), by linear interpolation on
estimated order statistics (``lib.store.histogram``: each within 4.4 % of the exact value), so
a day of history costs a few thousand rows whatever the traffic.

Invariants: ``value`` is the ratio, ``threshold`` the factor; a baseline p95 below the
histograms' 1 ms resolution counts as 1 ms (a ratio to 0 would say nothing); reads only.
"""

from __future__ import annotations

from lib.alerts.model import AlertContext, Condition, Rule
from lib.alerts.telling import CannotTell, number_option
from lib.alerts.wording import span, task_name_link
from lib.store import Store, alert_reads
from lib.store.engine import reading
from lib.store.histogram import MIN_SECONDS, estimate_percentiles

__all__ = ["runtime_regressions"]

HOUR, DAY = 3600.0, 86400.0


def runtime_regressions(rule: Rule, context: AlertContext) -> list[Condition]:
    """One condition per matching task name whose p95 runtime regressed (module docstring)."""
    window = rule.window_seconds or HOUR
    factor = rule.threshold if rule.threshold is not None else 3.0
    least = number_option(rule, "min_samples", 20, at_least=1)
    oldest = number_option(rule, "baseline_from", 2 * DAY)
    newest = number_option(rule, "baseline_to", DAY)
    if oldest <= newest:
        raise CannotTell(
            f"The rule {rule.name}'s baseline_from ({oldest:g} s ago) must be further back than "
            f"its baseline_to ({newest:g} s ago)."
        )
    now = context.now
    recent = _histograms(context.store, now - window, now)
    baseline = _histograms(context.store, now - oldest, now - newest)
    found = []
    for name, counts in sorted(recent.items()):
        past = baseline.get(name, [])
        if not rule.match.allows(task=name) or min(_runs(counts), _runs(past)) < least:
            continue
        (p95_now,) = estimate_percentiles(counts, [95])
        (p95_then,) = estimate_percentiles(past, [95])
        ratio = p95_now / max(p95_then, MIN_SECONDS)
        if ratio > factor:
            summary = (
                f"Task {name}'s p95 runtime over the last {span(window)} is {p95_now:.3g} s, "
                f"{ratio:.1f}× its p95 of {p95_then:.3g} s {span(newest)}–{span(oldest)} ago."
            )
            found.append(
                Condition(
                    rule.name, name, rule.severity, summary, task_name_link(name), ratio, factor
                )
            )
    return found


def _histograms(store: Store, start: float, end: float) -> dict[str, list[tuple[int, int]]]:
    """Each task name's runtime histogram over ``[start, end)``: (bucket, runs) pairs."""
    with reading(store.engine) as conn:
        return alert_reads.runtime_histograms(conn, start, end)


def _runs(counts: list[tuple[int, int]]) -> int:
    return sum(n for _, n in counts)

"""One evaluation: every rule of the rule book against one poll's readings → conditions.

One evaluator per rule kind (``EVALUATORS``), each a function ``(rule, context) → conditions``
in the module of its domain. A rule that cannot be evaluated this poll (the store did not
answer, its data is missing) says why in plain words and yields no condition: an alert is
neither fired nor resolved by a reading that failed (the state machine keeps it as it was).

Invariants: evaluators only read; a condition's ``rule`` is the rule's name; conditions of a
muted or disabled rule are still returned (muting silences notifications, not the record).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from lib.alerts import (
    events,
    failure_rates,
    new_errors,
    orphans,
    periodic,
    queues,
    runtimes,
    workers,
)
from lib.alerts.model import AlertContext, Condition, Evaluation, Rule
from lib.errors import ConsoleError

__all__ = ["EVALUATORS", "Evaluation", "Evaluator", "evaluate"]

log = logging.getLogger(__name__)

Evaluator = Callable[[Rule, AlertContext], list[Condition]]

#: kind → its evaluator. Each evaluator module adds its kinds here.
EVALUATORS: dict[str, Evaluator] = {
    "runtime_regression": runtimes.runtime_regressions,
    "events_stopped": events.events_stopped,
    "missed_runs": periodic.missed_runs,
    "new_error": new_errors.new_errors,
}
EVALUATORS.update(workers.EVALUATORS)
EVALUATORS.update(queues.EVALUATORS)
EVALUATORS.update(failure_rates.EVALUATORS)
EVALUATORS.update(orphans.EVALUATORS)


def evaluate(rules: Iterable[Rule], context: AlertContext) -> Evaluation:
    """Every rule against ``context``; a rule that fails is reported, never raised."""
    found = Evaluation()
    for rule in rules:
        evaluator = EVALUATORS.get(rule.kind)
        if evaluator is None:
            found.unknown[rule.name] = f"no evaluator for the kind {rule.kind!r}"
            continue
        try:
            found.conditions.extend(evaluator(rule, context))
        except ConsoleError as exc:
            found.unknown[rule.name] = str(exc)
        except Exception as exc:  # a bug in one rule must not stop the others: log it whole
            log.exception("alert rule %s failed unexpectedly", rule.name)
            found.unknown[rule.name] = f"the rule failed unexpectedly ({type(exc).__name__})"
    return found

"""What the history rules can tell, and from what: a rule's numeric knobs, and how fresh the
store's task data is.

A rule that reads the store's tasks judges them as of ``CollectorHealth.data_until`` (the end
of the last poll whose sync of Flower's tasks worked), not as of the clock: the store lags
Flower by up to a poll, and a rule judged on the clock would read that lag as "nothing
happened". While Flower is not answering, or before its tasks first reached the store,
nothing can be told: ``CannotTell`` says why in plain words and the rule's alerts stay as
they were (``lib.alerts.evaluate``).

Invariants: nothing here writes; every failure is a ``CannotTell`` (a ``ConsoleError``) with
a sentence a person understands, never a traceback.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lib.alerts.model import Rule
from lib.alerts.readings import CannotTell

if TYPE_CHECKING:  # the collector imports the evaluators (through its alert step)
    from lib.collector.health import CollectorHealth

__all__ = ["CannotTell", "number_option", "task_data_until"]


def number_option(rule: Rule, key: str, default: float, *, at_least: float = 0.0) -> float:
    """The rule's option ``key`` as a number (``default`` when absent), at least ``at_least``."""
    value = rule.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise CannotTell(f"The rule {rule.name}'s option {key} = {value!r} is not a number.")
    if value < at_least:
        raise CannotTell(f"The rule {rule.name}'s option {key} = {value!r} is below {at_least:g}.")
    return float(value)


def task_data_until(health: CollectorHealth) -> float:
    """Until when the store's tasks are Flower's (epoch s); ``CannotTell`` while Flower is not
    answering or before its tasks first reached the store."""
    if health.flower_failing:
        raise CannotTell(
            f"Flower is not answering, so whether tasks arrive cannot be told ({health.last_error})"
        )
    if health.data_until is None:
        raise CannotTell("No tasks have reached the store from Flower yet.")
    return health.data_until

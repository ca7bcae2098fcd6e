"""The collector's alert step: each poll evaluates the rule book and writes the states, also
when Flower is silent; the rules' note reaches the snapshot and an external console."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lib.alerts import watch as watch_module
from lib.alerts.evaluate import EVALUATORS
from lib.alerts.model import Condition, Rule
from lib.alerts.rules import RuleBook
from lib.collector import Collector
from lib.collector.stored import StoredReadout
from lib.store.engine import reading
from lib.store.schema import ALERT_DELIVERIES, ALERTS
from tests.unit.collector.test_loop import flower, settings_for  # noqa: F401 (a fixture)

RULE = Rule("flower_seen", "events_stopped", "critical")
BOOK = RuleBook((RULE,), "built-in defaults tuned by alerts.toml", ("line 9: unknown key 'fo'",))


@pytest.fixture
def seen(monkeypatch) -> list:
    """The snapshots the rule was evaluated on; it fires while no worker was ever read."""
    calls = []

    def evaluator(rule: Rule, context) -> list[Condition]:
        calls.append(context.snapshot)
        if context.snapshot.workers is not None:
            return []
        return [Condition(rule.name, "cluster", "critical", "No worker read yet.", "workers")]

    monkeypatch.setitem(EVALUATORS, "events_stopped", evaluator)
    monkeypatch.setattr(watch_module, "load_rule_book", lambda path: BOOK)
    return calls


def test_each_poll_evaluates_the_rules_after_sampling_even_when_flower_is_silent(
    flower,  # noqa: F811 (the fixture)
    store,
    tmp_path,
    seen,
):
    flower.mode = "hang"
    collector = Collector(settings_for(flower, tmp_path), store)
    collector.poll()
    assert len(seen) == 1 and seen[0].workers is None
    with reading(store.engine) as conn:
        assert conn.execute(select(ALERTS.c.rule, ALERTS.c.state)).all() == [
            ("flower_seen", "firing")
        ]
        assert len(conn.execute(select(ALERT_DELIVERIES)).all()) == 1
    note = "The alert rules (built-in defaults tuned by alerts.toml) have problems: line 9:"
    assert collector.snapshot.alerts_note.startswith(note)
    flower.mode = "ok"
    collector.poll()
    assert seen[-1].workers is not None  # this poll's sampled workers
    with reading(store.engine) as conn:
        assert conn.execute(select(ALERTS.c.state)).scalar() == "resolved"
    external = StoredReadout(settings_for(flower, tmp_path), store).snapshot
    assert external.alerts_note == collector.snapshot.alerts_note

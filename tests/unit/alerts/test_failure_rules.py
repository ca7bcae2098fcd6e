"""failure_rate per task name and overall, from the rollups of a real store (SQLite, then
PostgreSQL): the threshold and min_count edges, the window's edge minute, the match."""

from __future__ import annotations

from lib.alerts.evaluate import evaluate
from lib.alerts.model import Match, Rule
from lib.alerts.rules import load_rule_book
from tests.factories import task_payload
from tests.unit.alerts.polls import NOW, context

BOOK = {r.name: r for r in load_rule_book(None).rules}
PER_TASK, OVERALL = BOOK["failure_rate"], BOOK["failure_rate_overall"]


def finished(name: str, successes: int, failures: int, at: float = NOW - 60, **kw) -> list[dict]:
    """Tasks of ``name`` finished at ``at``: so many SUCCESS, so many FAILURE."""
    states = ["SUCCESS"] * successes + ["FAILURE"] * failures
    return [
        task_payload(f"{name}-{at}-{i}", state, at=at, name=name, **kw)
        for i, state in enumerate(states)
    ]


def test_per_task_name_threshold_and_min_count_edges(any_store):
    any_store.upsert_tasks(
        finished("exactly.ten", 18, 2)  # 20 finished, 10.0 %: not above
        + finished("fails", 17, 3)  # 20 finished, 15.0 %
        + finished("too.few", 16, 3)  # 19 finished: min_count - 1
        + [task_payload("gone", "REVOKED", at=NOW - 60, name="fails")],  # not a finished run
        NOW,
    )
    (found,) = evaluate([PER_TASK], context(any_store)).conditions
    assert (found.rule, found.subject, found.value, found.threshold) == (
        "failure_rate",
        "fails",
        15.0,
        10,
    )
    assert found.severity == "critical"
    assert (
        found.summary == "Task fails failed 15.0 % of 20 runs in the last 10 min (3; above 10 %)."
    )
    assert found.link == "tasks?name=fails&state=FAILURE"


def test_overall_counts_every_task_name_together(any_store):
    any_store.upsert_tasks(finished("a", 18, 2) + finished("b", 16, 3), NOW)  # 5 of 39: 12.8 %
    (found,) = evaluate([OVERALL], context(any_store)).conditions
    assert (found.subject, found.value) == ("overall", 12.8)
    assert found.link == "tasks?state=FAILURE"
    assert found.summary == (
        "12.8 % of the 39 tasks finished in the last 10 min failed (5; above 10 %)."
    )


def test_the_window_is_the_whole_minutes_that_began_in_it_and_the_current_one(any_store):
    opens = NOW - 600  # 1_779_999_523.4: mid-minute; the first whole minute begins at …540
    any_store.upsert_tasks(
        finished("edge", 18, 0, at=NOW - 1)  # the current minute counts
        + finished("edge", 0, 3, at=opens + 17)  # 540.4: in the first whole minute
        + finished("edge", 9, 0, at=opens + 10)  # 533.4: the minute the window opens in
        + finished("edge", 9, 0, at=opens - 100),  # before the window
        NOW,
    )
    (found,) = evaluate([PER_TASK], context(any_store)).conditions
    assert found.value == 14.3 and " of 21 runs " in found.summary


def test_match_filters_names_queues_and_workers_before_counting(any_store):
    any_store.upsert_tasks(
        finished("billing.charge", 10, 10, routing_key="payments")
        + finished("mail.send", 10, 10, routing_key="default", worker="w2@host"),
        NOW,
    )
    read = context(any_store)
    rule = Rule("b", "failure_rate", "warning", threshold=10, window_seconds=600, min_count=1)
    by_task = Rule(**{**rule.__dict__, "match": Match(task=("billing.*",))})
    by_queue = Rule(**{**rule.__dict__, "match": Match(queue=("default",))})
    by_worker = Rule(**{**rule.__dict__, "match": Match(worker=("w1@*",))})
    assert [c.subject for c in evaluate([by_task], read).conditions] == ["billing.charge"]
    assert [c.subject for c in evaluate([by_queue], read).conditions] == ["mail.send"]
    assert [c.subject for c in evaluate([by_worker], read).conditions] == ["billing.charge"]
    overall = Rule(**{**by_queue.__dict__, "options": {"per": "overall"}})
    assert [c.value for c in evaluate([overall], read).conditions] == [50.0]


def test_an_empty_store_says_nothing(any_store):
    assert evaluate([PER_TASK, OVERALL], context(any_store)).conditions == []
    assert evaluate([PER_TASK, OVERALL], context(any_store)).unknown == {}

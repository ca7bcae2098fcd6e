"""The alert state machine as a table of cases: every move, cooldown, unknown and removed
rules, acknowledgement reset, grouping by cause, silences and mute windows."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from hypothesis import given
from hypothesis import strategies as st

from lib.alerts.evaluate import Evaluation
from lib.alerts.model import Condition, Mute, Rule
from lib.alerts.states import Alert, Silence, advance, removed_summary

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
OFFLINE = Rule("worker_offline", "worker_offline", "critical", for_seconds=30)
ORPHANED = Rule("orphaned_tasks", "orphaned_tasks", "warning")
BACKLOG = Rule("queue_backlog", "queue_depth", "warning", threshold=100)
RATE = Rule("failure_rate", "failure_rate", "critical", cooldown_seconds=300)
RULES = (OFFLINE, ORPHANED, BACKLOG, RATE)


def cond(rule: Rule, subject: str, cause: str | None = None, **kw) -> Condition:
    fields = {"severity": rule.severity, "summary": f"{rule.name} of {subject}", "link": "x"}
    return Condition(rule.name, subject, cause=cause, **{**fields, **kw})


def alert(rule: Rule, subject: str, state: str, at: float, **kw) -> Alert:
    """An alert in ``state`` since ``at`` (pending since then, or fired/resolved then)."""
    times = {"pending_since": at}
    if state in ("firing", "resolved"):
        times["fired_at"] = at
    if state == "resolved":
        times["resolved_at"] = at
    base = Alert(rule.name, subject, state, rule.severity, f"{rule.name} of {subject}", "x", at, at)
    return replace(base, **{**times, **kw})


def run(current=(), conditions=(), unknown=None, rules=RULES, silences=(), now=NOW):
    return advance(current, Evaluation(list(conditions), unknown or {}), rules, silences, now)


def states(done) -> dict[str, str]:
    return {a.key: a.state for a in done.rows}


def test_a_new_condition_of_a_rule_with_a_for_duration_is_pending_and_says_nothing():
    done = run(conditions=[cond(OFFLINE, "w1")])
    assert states(done) == {"worker_offline/w1": "pending"}
    assert done.rows[0].pending_since == NOW and not done.changes and not done.notifications


def test_a_new_condition_of_a_rule_without_a_for_duration_fires_at_once():
    done = run(conditions=[cond(RATE, "t.add", value=12.5, threshold=10)])
    assert states(done) == {"failure_rate/t.add": "firing"}
    (change,) = done.changes
    assert change.state == "firing" and change.alert.fired_at == NOW and not change.quiet
    assert [n.head for n in done.notifications] == [change]


def test_pending_fires_once_held_for_its_duration_and_keeps_when_the_problem_began():
    early = run([alert(OFFLINE, "w1", "pending", NOW - 29)], [cond(OFFLINE, "w1")])
    assert states(early) == {"worker_offline/w1": "pending"} and not early.changes
    done = run([alert(OFFLINE, "w1", "pending", NOW - 30)], [cond(OFFLINE, "w1")])
    (row,) = done.rows
    assert (row.state, row.pending_since, row.fired_at, row.since) == (
        "firing",
        NOW - 30,
        NOW,
        NOW,
    )
    assert len(done.notifications) == 1


def test_a_pending_alert_whose_condition_went_away_is_dropped_quietly():
    done = run([alert(OFFLINE, "w1", "pending", NOW - 10)], [])
    assert done.dropped == [("worker_offline", "w1")]
    assert not done.rows and not done.changes and not done.notifications


def test_a_firing_alert_follows_its_condition_s_figures_without_a_change():
    firing = alert(RATE, "t.add", "firing", NOW - 60, value=12.0, severity="warning")
    done = run([firing], [cond(RATE, "t.add", value=40.0, summary="40 % failed")])
    (row,) = done.rows
    assert (row.state, row.value, row.summary, row.severity) == (
        "firing",
        40.0,
        "40 % failed",
        "critical",
    )
    assert row.fired_at == NOW - 60 and not done.changes and not done.notifications


def test_a_firing_alert_without_its_condition_resolves_and_its_acknowledgement_is_cleared():
    firing = alert(RATE, "t.add", "firing", NOW - 60, acked_by="olga", acked_at=NOW - 30)
    done = run([firing], [])
    (row,) = done.rows
    assert (row.state, row.resolved_at, row.acked_by, row.acked_at) == ("resolved", NOW, None, None)
    assert row.pending_since == NOW - 60
    (change,) = done.changes
    assert change.state == "resolved" and done.notifications[0].head == change


def test_a_resolved_alert_stays_resolved_within_its_cooldown_then_goes_pending_again():
    resolved = alert(OFFLINE, "w1", "resolved", NOW - 299)
    cooling = run([resolved], [cond(OFFLINE, "w1")])
    assert not cooling.rows and not cooling.changes
    later = run([resolved], [cond(OFFLINE, "w1")], now=NOW + 1)
    (row,) = later.rows
    assert (row.state, row.pending_since, row.fired_at) == ("pending", NOW + 1, None)


def test_after_its_cooldown_a_rule_without_a_for_duration_fires_again_at_once():
    resolved = alert(RATE, "t.add", "resolved", NOW - 300)
    done = run([resolved], [cond(RATE, "t.add")])
    assert states(done) == {"failure_rate/t.add": "firing"}
    assert done.rows[0].fired_at == NOW and len(done.notifications) == 1


def test_a_rule_that_could_not_be_evaluated_keeps_its_alerts_as_they_were():
    current = [alert(OFFLINE, "w1", "firing", NOW - 60), alert(OFFLINE, "w2", "pending", NOW - 5)]
    done = run(current, [], unknown={"worker_offline": "the store did not answer"})
    assert not done.rows and not done.dropped and not done.changes


def test_a_rule_removed_from_the_rule_book_resolves_its_firing_alerts_and_drops_pending_ones():
    current = [alert(OFFLINE, "w1", "firing", NOW - 60), alert(OFFLINE, "w2", "pending", NOW - 5)]
    rules = (ORPHANED, BACKLOG, RATE)
    done = run(current, [], unknown={"worker_offline": "gone"}, rules=rules)
    (row,) = done.rows
    assert (row.key, row.state, row.summary) == (
        "worker_offline/w1",
        "resolved",
        removed_summary("worker_offline"),
    )
    assert done.dropped == [("worker_offline", "w2")] and len(done.notifications) == 1


def test_a_conditions_of_a_rule_not_in_the_book_makes_no_alert():
    assert not run([], [cond(OFFLINE, "w1")], rules=(RATE,)).rows


def dead_worker(pending_for: float = 30) -> tuple[list[Alert], list[Condition]]:
    """A worker offline (pending ``pending_for`` s), its orphaned tasks and its queue's backlog."""
    current = [alert(OFFLINE, "w1", "pending", NOW - pending_for)]
    cause = "worker_offline/w1"
    conditions = [
        cond(OFFLINE, "w1", summary="Worker w1 is offline"),
        cond(ORPHANED, "w1", cause=cause, summary="3 tasks orphaned on w1"),
        cond(BACKLOG, "celery", cause=cause, summary="celery holds 250 messages"),
    ]
    return current, conditions


def test_a_dead_worker_s_offline_orphaned_and_backlog_alerts_wait_for_it_then_go_as_one():
    current, conditions = dead_worker(pending_for=10)
    waiting = run(current, conditions)
    assert set(states(waiting).values()) == {"pending"} and not waiting.changes
    current, conditions = dead_worker(pending_for=30)
    done = run(current, conditions)
    assert set(states(done).values()) == {"firing"} and len(done.changes) == 3
    (note,) = done.notifications
    assert note.head.alert.key == "worker_offline/w1"
    assert {c.alert.key for c in note.related} == {"orphaned_tasks/w1", "queue_backlog/celery"}
    assert {a.group_key for a in done.rows} == {None, "worker_offline/w1"}


def test_an_alert_caused_by_an_already_firing_one_is_recorded_and_folded():
    current = [alert(OFFLINE, "w1", "firing", NOW - 60)]
    done = run(current, [cond(OFFLINE, "w1"), cond(ORPHANED, "w1", cause="worker_offline/w1")])
    (change,) = done.changes
    assert (change.alert.key, change.state, change.quiet) == (
        "orphaned_tasks/w1",
        "firing",
        "folded",
    )
    assert not done.notifications


def test_a_cause_that_is_no_alert_at_all_does_not_hold_its_consequence_back():
    done = run([], [cond(ORPHANED, "w1", cause="worker_offline/w1")])
    assert states(done) == {"orphaned_tasks/w1": "firing"} and len(done.notifications) == 1


def test_a_worker_back_resolves_its_group_in_one_notification():
    at = NOW - 60
    current = [
        alert(OFFLINE, "w1", "firing", at),
        alert(ORPHANED, "w1", "firing", at, group_key="worker_offline/w1"),
        alert(BACKLOG, "celery", "firing", at, group_key="worker_offline/w1"),
    ]
    done = run(current, [])
    assert set(states(done).values()) == {"resolved"}
    (note,) = done.notifications
    assert note.head.alert.key == "worker_offline/w1" and len(note.related) == 2


def test_a_consequence_resolving_under_its_still_firing_cause_is_folded_unless_it_went_alone():
    grouped = alert(ORPHANED, "w1", "firing", NOW - 60, group_key="worker_offline/w1")
    cause = alert(OFFLINE, "w1", "firing", NOW - 60)
    folded = run([cause, grouped], [cond(OFFLINE, "w1")])
    assert [c.quiet for c in folded.changes] == ["folded"] and not folded.notifications
    alone = replace(grouped, fired_at=NOW - 120)  # fired (and was notified) before its cause
    told = run([cause, alone], [cond(OFFLINE, "w1")])
    assert [c.quiet for c in told.changes] == [""] and len(told.notifications) == 1


def test_alerts_causing_each_other_in_a_circle_still_fire():
    a, b = Rule("a", "k", "warning"), Rule("b", "k", "warning")
    done = run([], [cond(a, "s", cause="b/s"), cond(b, "s", cause="a/s")], rules=(a, b))
    assert set(states(done).values()) == {"firing"} and len(done.notifications) == 1


def test_a_silence_of_the_subject_or_of_every_subject_keeps_the_change_and_sends_nothing():
    for subject in ("t.add", "*"):
        silence = Silence("failure_rate", subject, NOW + 60)
        done = run([], [cond(RATE, "t.add")], silences=[silence])
        assert [c.quiet for c in done.changes] == ["silenced"] and not done.notifications
    for silence in (Silence("failure_rate", "t.mul", NOW + 60), Silence("failure_rate", "*", NOW)):
        done = run([], [cond(RATE, "t.add")], silences=[silence])
        assert len(done.notifications) == 1  # another subject, or a silence that has ended


def test_a_rule_s_mute_window_keeps_the_change_and_sends_nothing():
    muted = replace(RATE, mutes=(Mute(time(7), time(9)),))
    done = run([], [cond(RATE, "t.add")], rules=(muted,))
    assert [c.quiet for c in done.changes] == ["muted"] and not done.notifications
    other = replace(RATE, mutes=(Mute(time(20), time(21)),))
    assert len(run([], [cond(RATE, "t.add")], rules=(other,)).notifications) == 1


def test_a_silenced_cause_leaves_its_loud_consequence_at_the_head_of_its_own_message():
    current, conditions = dead_worker()
    done = run(current, conditions, silences=[Silence("worker_offline", "w1", NOW + 60)])
    (note,) = done.notifications
    assert note.head.alert.rule != "worker_offline" and len(note.related) == 1


def test_of_two_conditions_for_one_alert_the_most_severe_counts_whatever_their_order():
    low, high = cond(RATE, "t.add", severity="warning"), cond(RATE, "t.add", severity="critical")
    assert run([], [low, high]).rows == run([], [high, low]).rows
    assert run([], [low, high]).rows[0].severity == "critical"


def test_an_unknown_severity_from_an_evaluator_becomes_the_rule_s():
    done = run([], [cond(RATE, "t.add", severity="urgent")])
    assert done.rows[0].severity == "critical"


def _scene() -> tuple[list[Alert], list[Condition]]:
    current, conditions = dead_worker()
    current += [
        alert(RATE, "t.add", "firing", NOW - 90),
        alert(RATE, "t.old", "resolved", NOW - 400),
    ]
    conditions += [cond(RATE, "t.new"), cond(RATE, "t.old"), cond(RATE, "t.add", value=3.0)]
    conditions.append(cond(RATE, "t.add", value=9.0, summary="the same alert found twice"))
    return current, conditions


@given(st.permutations(range(3)), st.permutations(range(7)))
def test_the_outcome_does_not_depend_on_the_order_of_rows_or_conditions(rows, found):
    current, conditions = _scene()
    reference = run(current, conditions)
    shuffled = run([current[i] for i in rows], [conditions[i] for i in found])
    assert shuffled == reference

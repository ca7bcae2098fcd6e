"""The collector's health: snapshots after polls and the sentence they make (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lib.collector.health import (
    FLOWER,
    CollectorHealth,
    PollProblem,
    catch_up_sentence,
    health_sentence,
)

T0 = datetime(2024, 5, 6, 9, 11, 48, tzinfo=UTC).timestamp()
UNANSWERED = PollProblem(FLOWER, "Flower cannot be reached. No answer within 10 s.", True)
BROKEN = PollProblem(FLOWER, "Flower failed with a server error. HTTP 500.")
BROKER = PollProblem("the broker", "The broker at redis://h:6379/0 cannot be read: refused.")


def healthy(**kw) -> CollectorHealth:
    return CollectorHealth(timeout=10.0, poll_seconds=5.0, **kw).after_poll(T0 - 1, T0, (), 3, True)


def test_before_any_poll_it_says_so():
    assert health_sentence(CollectorHealth(), T0) == (
        "The collector has not polled Flower yet; the store holds no data from Flower yet."
    )


def test_a_resumed_collector_says_what_the_store_holds_before_its_first_poll():
    health = CollectorHealth.resumed({"data_until": T0, "last_success": T0, "junk": 1})
    assert health_sentence(health, T0 + 5) == (
        "The collector has not polled Flower yet; the store holds data up to 09:11:48 UTC."
    )


def test_a_working_collector_says_how_often_and_how_long_ago():
    assert health_sentence(healthy(), T0 + 4) == (
        "Collecting every 5 s; the last poll ended 4 s ago; "
        "the store holds data up to 09:11:48 UTC."
    )


def test_a_silent_flower_counts_from_the_first_failed_poll():
    health = healthy().after_poll(T0 + 5, T0 + 15, (UNANSWERED,), 0, False)
    health = health.after_poll(T0 + 20, T0 + 30, (UNANSWERED,), 0, False)
    assert health.failing_since == T0 + 5 and health.consecutive_failures == 2
    assert health_sentence(health, T0 + 48) == (
        "Flower has not answered for 43 s (timeout 10 s); the store holds data up to 09:11:48 UTC."
    )
    assert health_sentence(health, T0 + 5 + 3 * 3600 + 120).startswith(
        "Flower has not answered for 3 h 2 min"
    )


def test_an_answer_again_clears_the_streak_and_keeps_the_counts():
    health = healthy().after_poll(T0 + 5, T0 + 15, (UNANSWERED,), 0, False)
    back = health.after_poll(T0 + 20, T0 + 21, (), 2, True)
    assert (back.last_error, back.failing_since, back.consecutive_failures) == (None, None, 0)
    assert (back.data_until, back.tasks_written, back.polls) == (T0 + 21, 5, 3)


@pytest.mark.parametrize(
    ("problem", "start"),
    [
        pytest.param(BROKEN, "Flower has failed for 1 min 0 s; ", id="flower-error"),
        pytest.param(BROKER, "The broker has failed for 1 min 0 s; ", id="broker"),
    ],
)
def test_other_failures_say_who_failed_and_why(problem, start):
    health = healthy().after_poll(T0 + 10, T0 + 11, (problem,), 0, problem.source != FLOWER)
    sentence = health_sentence(health, T0 + 70)
    assert sentence.startswith(start)
    assert sentence.endswith(problem.text)


def test_several_problems_keep_every_text_and_the_first_one_s_source():
    health = healthy().after_poll(T0 + 1, T0 + 2, (BROKEN, BROKER), 0, False)
    assert health.source == FLOWER and health.last_error == f"{BROKEN.text} {BROKER.text}"


def test_times_carry_their_date_when_not_today_and_the_viewer_s_zone():
    health = healthy()
    cest = timezone(timedelta(hours=2), "CEST")
    assert "data up to 11:11:48 CEST" in health_sentence(health, T0 + 60, cest)
    assert "data up to 2024-05-06 09:11:48 UTC" in health_sentence(health, T0 + 86400)


def test_the_kept_form_takes_back_only_when_data_came_in():
    failing = healthy().after_poll(T0 + 5, T0 + 15, (UNANSWERED,), 0, False)
    again = CollectorHealth.resumed(failing.to_kept(), cluster="c", timeout=2.0, poll_seconds=1.0)
    assert (again.data_until, again.last_success) == (T0, T0)
    assert (again.last_error, again.failing_since, again.cluster) == (None, None, "c")


def test_kept_values_of_the_wrong_type_are_dropped():
    assert (
        CollectorHealth.resumed({"data_until": "yesterday", "last_success": True}).data_until
        is None
    )


def test_the_catch_up_sentence_says_how_far_a_full_load_is_and_goes_after_the_poll():
    loading = CollectorHealth().loading(12_000, 30_000, T0)
    assert catch_up_sentence(loading) == "Catching up: 12,000 of ~30,000 new tasks."
    assert catch_up_sentence(loading.loading(12_000, None, T0)) == (
        "Catching up: 12,000 new tasks read so far."
    )
    assert catch_up_sentence(loading.loading(31_000, 30_000, T0)).startswith(
        "Catching up: 31,000 new"
    )
    assert (loading.catching_up_at, loading.data_until) == (T0, None)
    done = loading.after_poll(1.0, 2.0, (), 0, True)
    assert done.catching_up is None and catch_up_sentence(done) == ""

"""``/healthz`` over several clusters (``healthz_answer``, pure): the single-cluster keys stay at
the top, those of the worst cluster; ``clusters`` has each; 503 when any fails, naming which."""

from __future__ import annotations

from lib.collector.health import CollectorHealth
from lib.metrics import FAILED_POLLS, health_answer, healthz_answer

OK = CollectorHealth(last_success=100.0, polls=4, poll_seconds=10.0)
OLDER = CollectorHealth(last_success=90.0, polls=4, poll_seconds=10.0)
FAILING = CollectorHealth(
    last_success=50.0, consecutive_failures=FAILED_POLLS, last_error="Flower did not answer."
)


def test_one_cluster_answers_as_before_plus_its_list():
    code, body = healthz_answer([("default", OK)], now=130.0)
    alone = health_answer(OK, now=130.0)[1]
    assert code == 200
    assert body == {**alone, "clusters": [alone], "failing": []}


def test_the_top_is_the_worst_cluster_and_any_failure_is_503():
    code, body = healthz_answer([("prod", OK), ("staging", FAILING), ("batch", OLDER)], 130.0)
    assert code == 503
    assert (body["status"], body["cluster"], body["failing"]) == ("failing", "staging", ["staging"])
    assert body["error"] == "Flower did not answer."
    assert [c["cluster"] for c in body["clusters"]] == ["prod", "staging", "batch"]


def test_all_well_heads_with_the_oldest_success():
    code, body = healthz_answer([("prod", OK), ("batch", OLDER)], 130.0)
    assert (code, body["status"], body["cluster"], body["lag_seconds"]) == (
        200,
        "ok",
        "batch",
        40.0,
    )


def test_a_starting_cluster_heads_an_otherwise_well_answer():
    code, body = healthz_answer([("prod", OK), ("new", CollectorHealth())], 130.0)
    assert (code, body["status"], body["cluster"]) == (200, "starting", "new")


def test_several_failing_are_each_named_with_their_error():
    other = CollectorHealth(consecutive_failures=FAILED_POLLS, last_error="The store is full.")
    code, body = healthz_answer([("a", FAILING), ("b", other)], 130.0)
    assert code == 503 and body["failing"] == ["a", "b"]
    assert body["error"] == "a: Flower did not answer. b: The store is full."

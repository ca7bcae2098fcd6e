"""runtime_regression on a real SQLite store: p95 over the last hour against 24–48 h ago."""

from __future__ import annotations

import pytest

from lib.alerts.evaluate import evaluate
from lib.alerts.model import Match
from lib.alerts.runtimes import runtime_regressions
from lib.store import Store
from lib.store.histogram import bucket_of, bucket_value
from tests.factories import task_payload
from tests.unit.alerts.history_rules import NOW, context, rule

HOUR = 3600.0
#: A bucket's middle: its estimate is exact, so the ratios below are the estimated ones.
BASE = bucket_value(bucket_of(1.0))


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


def runs(name: str, count: int, runtime: float, first: float, last: float) -> list[dict]:
    """``count`` successes of ``name`` taking ``runtime`` s, finishing evenly in [first, last]."""
    step = (last - first) / max(count - 1, 1)
    return [
        task_payload(
            f"{name}-{first:.0f}-{i}", "SUCCESS", at=first + i * step, runtime=runtime, name=name
        )
        for i in range(count)
    ]


def fill(store: Store, name: str, *, now_runs: int, then_runs: int, factor: float) -> None:
    recent = runs(name, now_runs, BASE * factor, NOW - HOUR + 60, NOW - 60)
    past = runs(name, then_runs, BASE, NOW - 40 * HOUR, NOW - 30 * HOUR)
    store.upsert_tasks(recent + past, now=NOW)


@pytest.mark.parametrize(
    ("factor", "fires"), [(2.9, False), (3.1, True)], ids=["2.9x-quiet", "3.1x-fires"]
)
def test_the_ratio_must_pass_the_threshold(store, factor, fires):
    fill(store, "shop.pay", now_runs=30, then_runs=30, factor=factor)
    found = runtime_regressions(rule("runtime_regression", threshold=3.0), context(store))
    assert [c.subject for c in found] == (["shop.pay"] if fires else [])


def test_a_regression_says_both_p95s_and_links_the_task(store):
    fill(store, "shop.pay", now_runs=30, then_runs=30, factor=4.0)
    (found,) = runtime_regressions(rule("runtime_regression", threshold=3.0), context(store))
    assert found.value == pytest.approx(bucket_value(bucket_of(BASE * 4)) / BASE)
    assert found.threshold == 3.0
    assert found.link == "tasks?name=shop.pay"
    assert found.severity == "warning"
    assert f"{bucket_value(bucket_of(BASE * 4)):.3g} s" in found.summary
    assert f"p95 of {BASE:.3g} s 24 h–2 d ago" in found.summary


@pytest.mark.parametrize(
    ("now_runs", "then_runs", "fires"),
    [(19, 30, False), (30, 19, False), (20, 20, True)],
    ids=["19-now", "19-then", "20-each"],
)
def test_each_window_needs_min_samples(store, now_runs, then_runs, fires):
    fill(store, "etl.load", now_runs=now_runs, then_runs=then_runs, factor=5.0)
    ruling = rule("runtime_regression", threshold=3.0, options={"min_samples": 20})
    assert bool(runtime_regressions(ruling, context(store))) is fires


def test_runs_outside_the_baseline_window_do_not_count(store):
    recent = runs("etl.load", 30, BASE * 5, NOW - HOUR + 60, NOW - 60)
    too_old = runs("etl.load", 30, BASE, NOW - 60 * HOUR, NOW - 50 * HOUR)
    too_new = runs("etl.load", 30, BASE, NOW - 20 * HOUR, NOW - 10 * HOUR)
    store.upsert_tasks(recent + too_old + too_new, now=NOW)
    assert runtime_regressions(rule("runtime_regression", threshold=3.0), context(store)) == []


def test_only_the_matched_names_and_each_on_its_own(store):
    fill(store, "shop.pay", now_runs=30, then_runs=30, factor=5.0)
    fill(store, "etl.load", now_runs=30, then_runs=30, factor=5.0)
    fill(store, "shop.ship", now_runs=30, then_runs=30, factor=1.0)
    everything = runtime_regressions(rule("runtime_regression", threshold=3.0), context(store))
    assert [c.subject for c in everything] == ["etl.load", "shop.pay"]
    shop = rule("runtime_regression", threshold=3.0, match=Match(task=("shop.*",)))
    assert [c.subject for c in runtime_regressions(shop, context(store))] == ["shop.pay"]


def test_a_sub_millisecond_baseline_reads_as_one_millisecond(store):
    recent = runs("ml.ping", 30, 0.01, NOW - HOUR + 60, NOW - 60)
    store.upsert_tasks(
        recent + runs("ml.ping", 30, 0.0001, NOW - 40 * HOUR, NOW - 30 * HOUR), now=NOW
    )
    (found,) = runtime_regressions(rule("runtime_regression", threshold=3.0), context(store))
    assert found.value == pytest.approx(bucket_value(bucket_of(0.01)) / 0.001)


def test_bad_options_leave_the_rule_unknown_in_plain_words(store):
    ruling = rule("runtime_regression", options={"baseline_from": 3600, "baseline_to": 7200})
    found = evaluate(
        [ruling, rule("runtime_regression", name="b", options={"min_samples": "x"})], context(store)
    )
    assert found.conditions == []
    assert "must be further back" in found.unknown["runtime_regression"]
    assert "min_samples = 'x' is not a number" in found.unknown["b"]

"""missed_runs on real stores (SQLite, and PostgreSQL for the reads): steady arrivals, then none."""

from __future__ import annotations

import pytest

from lib.alerts.evaluate import evaluate
from lib.alerts.model import Match
from lib.alerts.periodic import missed_runs, runs_missed, steady_interval
from lib.store import Store
from tests.factories import task_payload
from tests.unit.alerts.history_rules import NOW, context, rule

EVERY = 300.0


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


def arrivals(store: Store, name: str, times: list[float], *, sent: bool = True) -> None:
    """A finished task of ``name`` sent (else only received) at each of ``times``."""
    payloads = []
    for i, at in enumerate(times):
        task = task_payload(f"{name}-{i}", "SUCCESS", at=at + 2.0, name=name, sent=at)
        if not sent:
            task.update(sent=None, received=at)
        payloads.append(task)
    store.upsert_tasks(payloads, now=NOW)


def steady(count: int, last: float, every: float = EVERY) -> list[float]:
    return [last - every * i for i in reversed(range(count))]


def missing(store: Store, **kw) -> list:
    return missed_runs(
        rule("missed_runs", options={"min_runs": 6, "tolerance": 0.1, "misses": 3}),
        context(store, **kw),
    )


@pytest.mark.parametrize(("count", "fires"), [(5, False), (6, True)], ids=["5-runs", "6-runs"])
def test_a_name_needs_min_runs(store, count, fires):
    arrivals(store, "beat.report", steady(count, NOW - 3.5 * EVERY))
    assert [c.subject for c in missing(store)] == (["beat.report"] if fires else [])


@pytest.mark.parametrize(
    ("off", "fires"), [(0.09, True), (0.11, False)], ids=["9pct-off", "11pct-off"]
)
def test_every_spacing_within_tolerance_of_the_median(store, off, fires):
    times = steady(6, NOW - 4 * EVERY)
    times[-1] += off * EVERY  # the last spacing is off; the median stays 300 s
    arrivals(store, "beat.report", times)
    assert bool(missing(store, now=times[-1] + 3.5 * EVERY)) is fires


@pytest.mark.parametrize(
    ("silence", "fires"),
    [(2.5, False), (3.05, False), (3.5, True)],
    ids=["2-missed", "3-within-tolerance", "3-missed"],
)
def test_misses_are_counted_in_intervals(store, silence, fires):
    arrivals(store, "beat.report", steady(8, NOW - silence * EVERY))
    found = missing(store)
    assert bool(found) is fires
    if fires:
        assert (found[0].value, found[0].threshold) == (3, 3)


def test_the_summary_names_the_interval_and_the_last_run(store):
    arrivals(store, "beat.report", steady(6, NOW - 3.5 * EVERY))
    (found,) = missing(store)
    assert found.summary == (
        "Periodic task beat.report ran every 5 min until 20:11 UTC; 3 runs missed "
        "(beat stopped, or its worker)."
    )
    assert (found.link, found.severity) == ("tasks?name=beat.report", "warning")


def test_received_counts_when_no_sent_time_and_other_names_stay_out(store):
    arrivals(store, "beat.report", steady(6, NOW - 3.5 * EVERY), sent=False)
    arrivals(store, "beat.fresh", steady(6, NOW - 60))  # still on time
    arrivals(
        store, "web.click", [NOW - 9000, NOW - 8000, NOW - 7900, NOW - 5000, NOW - 4990, NOW - 2000]
    )
    assert [c.subject for c in missing(store)] == ["beat.report"]
    only = rule("missed_runs", match=Match(task=("web.*",)))
    assert missed_runs(only, context(store)) == []


def test_silence_is_measured_up_to_the_last_sync_not_the_clock(store):
    last = NOW - 3.5 * EVERY
    arrivals(store, "beat.report", steady(6, last))
    assert missing(store, data_until=last + 60) == []


def test_flower_silent_leaves_the_rule_unknown(store):
    arrivals(store, "beat.report", steady(6, NOW - 3.5 * EVERY))
    found = evaluate([rule("missed_runs")], context(store, flower_down=True))
    assert found.conditions == [] and "Flower is not answering" in found.unknown["missed_runs"]


def test_the_newest_runs_decide_even_after_an_uneven_past(store):
    uneven = [NOW - 90_000, NOW - 80_000, NOW - 79_000]
    arrivals(store, "beat.report", uneven + steady(6, NOW - 3.5 * EVERY))
    assert len(missing(store)) == 1


def test_on_postgresql_too(any_store_url):
    store = Store(any_store_url)
    try:
        arrivals(store, "beat.report", steady(6, NOW - 3.5 * EVERY))
        arrivals(store, "beat.fresh", steady(6, NOW - 60))
        assert [c.subject for c in missing(store)] == ["beat.report"]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("times", "interval"),
    [([0, 10, 20], 10), ([0, 0, 0], None), ([0, 10], None), ([0, 10, 30], None)],
    ids=["steady", "no-spacing", "too-few", "uneven"],
)
def test_steady_interval(times, interval):
    assert steady_interval(times, 3, 0.1) == interval


def test_runs_missed_gives_the_last_run_its_tolerance():
    assert [runs_missed(s * 10, 10, 0.1) for s in (0.5, 3.05, 3.1, 4.05, 4.2)] == [0, 2, 3, 3, 4]

"""new_error on real stores (SQLite; the grouped reads on PostgreSQL too)."""

from __future__ import annotations

import pytest

from lib import failures
from lib.alerts.evaluate import evaluate
from lib.alerts.new_errors import new_errors
from lib.store import Store
from tests.factories import task_payload
from tests.unit.alerts.history_rules import NOW, context, rule

HOUR = 3600.0
START = NOW - 5 * HOUR  # the store's history begins here


def opened(url: str) -> Store:
    store = Store(url)
    store.upsert_tasks([task_payload("first", "SUCCESS", at=START)], now=START)
    return store


@pytest.fixture
def store(tmp_path):
    store = opened(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield store
    store.close()


def fail(
    store: Store, uuid: str, at: float, exception: str = "ValueError('bad input 12')", **kw
) -> None:
    payload = task_payload(uuid, "FAILURE", at=at, name="tasks.x", exception=exception, **kw)
    store.upsert_tasks([payload], now=at)


def page_group(store: Store, uuid: str, rules=None) -> str:
    """The error group the Tasks page's ``?error_group=`` filter puts the stored task in."""
    tasks = store.tasks_window(START - HOUR, NOW + HOUR)
    ids = failures.task_group_ids(tasks, rules or failures.load_rules())
    return str(ids[tasks["uuid"] == uuid].iloc[0])


def news(store: Store, now: float = NOW, memory: dict | None = None, **kw) -> list:
    return new_errors(
        rule("new_error", "info", window_seconds=HOUR), context(store, now, memory=memory, **kw)
    )


def test_a_new_signature_fires_once_with_its_group_and_masked_text(store):
    fail(store, "a", NOW - 600)
    fail(store, "b", NOW - 300, exception="ValueError('bad input 99')")  # the same group
    (found,) = news(store)
    assert (found.rule, found.subject, found.severity) == (
        "new_error",
        page_group(store, "a"),
        "info",
    )
    assert (
        found.summary == "New error: ValueError 'bad input <n>' in tasks.x (first seen 20:18 UTC)."
    )
    assert found.link == f"tasks?error_group={found.subject}"


def test_a_signature_seen_before_the_window_is_not_new(store):
    fail(store, "old", NOW - 2 * HOUR, exception="ValueError('bad input 1')")
    fail(store, "a", NOW - 600)
    assert news(store) == []


def test_the_alert_resolves_once_the_window_has_passed(store):
    fail(store, "a", NOW - 600)
    assert len(news(store)) == 1
    assert news(store, now=NOW - 600 + HOUR + 1) == []


@pytest.mark.parametrize(
    ("after", "fires"), [(0.5 * HOUR, False), (1.5 * HOUR, True)], ids=["first-hour", "after"]
)
def test_nothing_is_new_in_the_first_hour_of_history(store, after, fires):
    fail(store, "a", START + after)
    assert bool(news(store, now=START + after + 60)) is fires


def test_group_ids_follow_the_error_categories_in_force(store, tmp_path):
    own = tmp_path / "categories.toml"
    own.write_text('[[category]]\nname = "input"\ntypes = ["ValueError"]\n', encoding="utf-8")
    fail(store, "a", NOW - 600)
    rules = failures.load_rules(own)
    (found,) = news(store, error_rules=rules)
    assert found.subject == page_group(store, "a", rules) != page_group(store, "a")


def test_a_wrapped_exception_is_read_from_its_traceback(store):
    tb = (
        "Traceback ...\nbilliard.exceptions.WorkerLostError: "
        "Worker exited prematurely: signal 9 (SIGKILL) Job: 3."
    )
    fail(store, "a", NOW - 600, exception="ExceptionWithTraceback()", traceback=tb)
    (found,) = news(store)
    assert (
        "WorkerLostError 'Worker exited prematurely: signal <n> (SIGKILL) Job: <n>.'"
        in found.summary
    )


def test_an_empty_store_has_nothing_new(tmp_path):
    empty = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        assert evaluate([rule("new_error", window_seconds=HOUR)], context(empty)).conditions == []
    finally:
        empty.close()


def test_later_polls_read_only_new_failures_and_agree_with_a_restart(any_store_url):
    store = opened(any_store_url)  # SQLite, then PostgreSQL: the grouped reads
    try:
        memory: dict = {}
        fail(store, "old", NOW - 2 * HOUR, exception="KeyError('k1')")
        assert news(store, now=NOW - 900, memory=memory) == []
        fail(store, "a", NOW - 600)  # after that poll
        # failed before that poll, reached the store after it
        fail(store, "late", NOW - 1200, exception="OSError('disk 3 full')")
        polled = {c.subject for c in news(store, memory=memory)}
        assert (
            polled
            == {c.subject for c in news(store)}
            == {
                page_group(store, "a"),
                page_group(store, "late"),
            }
        )
    finally:
        store.close()


def test_a_failure_without_text_or_name_is_still_said_plainly(store):
    store.upsert_tasks(
        [task_payload("a", "FAILURE", at=NOW - 600, name=None, exception="", traceback="")],
        now=NOW,
    )
    (found,) = news(store)
    assert found.summary == "New error: a failure in a task without a name (first seen 20:18 UTC)."

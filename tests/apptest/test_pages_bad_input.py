"""Pages over a Flower whose payloads are odd: values of unexpected types, bodies that are not
valid UTF-8, lone surrogates, and a wrong url_prefix. No page crashes; the odd value shows as
text (or blank where a number belongs) and the page says, in plain words, what was odd.

The matrix is page × kind of bad input; a page that does not read the payload a kind breaks
only has to keep running.
"""

from __future__ import annotations

import json

import pytest

from tests.apptest.conftest import open_page, texts
from tests.recorded import RecordedFlower, recorded, special

PAGES = ("Overview", "Workers", "Queues", "Tasks")
#: What each page reads: Overview and Queues read all three, Workers and Tasks their own.
READS = {
    "Overview": {"tasks", "workers", "queues"},
    "Workers": {"workers"},
    "Queues": {"tasks", "workers", "queues"},
    "Tasks": {"tasks"},
}
HTML_404 = (
    404,
    "<!DOCTYPE html><html><head><title>Flower</title></head><body><p>Error, page not found"
    "</p></body></html>",
    {"Content-Type": "text/html; charset=UTF-8"},
)
#: Stands in for text the byte-level kinds then break; unique in every recorded payload.
MARK = "ODDTEXTMARK"


def ok(body: object) -> tuple[int, str, dict]:
    return 200, json.dumps(body), {}


def odd_worker_types(flower: RecordedFlower) -> None:
    ui = recorded("workers_ui")
    first, second = ui["data"]
    first.update(loadavg={"1m": 5.0}, heartbeats="often", active=[1], sw_ver={"major": 5})
    second["pid"] = "abc"
    info = recorded("workers")
    info["w1@vm"]["stats"] = ["a list where a dict was"]
    info["w2@vm"]["stats"]["rusage"] = [1, 2]
    info["w2@vm"]["active_queues"] = [{"name": 7}, {"name": ["etl"]}, None]
    flower.answers.update(
        workers_ui=ok(ui),
        workers=ok(info),
        workers_status=ok({"w1@vm": "yes", "w2@vm": True}),
    )


def odd_task_types(flower: RecordedFlower) -> None:
    add, key = special("success_add"), special("failure_key")
    flower.tasks[add] = {
        **flower.tasks[add],
        "args": [2, 3],
        "kwargs": {"nested": {"a": [1]}},
        "result": {"sum": 5},
        "worker": ["w1@vm"],
        "received": "yesterday",
        "retries": "two",
        "routing_key": 5,
    }
    flower.tasks[key] = {**flower.tasks[key], "state": {"odd": 1}, "children": "c1"}


def odd_queue_types(flower: RecordedFlower) -> None:
    queues = [{"name": 7, "messages": "lots"}, {"name": ["a"], "messages": 1}, ["x"]]
    queues.append({"name": "ml", "messages": {"n": 1}})
    flower.answers["queues_length"] = ok({"active_queues": queues})


def broken_bytes(flower: RecordedFlower, task_text: bytes, worker_text: bytes) -> None:
    """Tasks and workers bodies with ``MARK`` replaced by raw bytes (after JSON encoding)."""
    tasks = {**flower.tasks, "odd-text": {**flower.tasks[special("success_add")], "args": MARK}}
    body = json.dumps(tasks).encode().replace(MARK.encode(), task_text)
    flower.answers["tasks"] = (200, body, {})
    ui = recorded("workers_ui")
    ui["data"][0]["sw_ident"] = MARK
    flower.answers["workers_ui"] = (
        200,
        json.dumps(ui).encode().replace(MARK.encode(), worker_text),
        {},
    )


def invalid_utf8(flower: RecordedFlower) -> None:
    # \xff is never UTF-8; \xed\xa0\x80 is a UTF-8-encoded surrogate, which json.loads(bytes)
    # would let through as a lone surrogate.
    broken_bytes(flower, b"caf\xe9 \xed\xa0\x80", b"py-\xffcelery")


def lone_surrogates(flower: RecordedFlower) -> None:
    broken_bytes(flower, rb"\ud800 alone", rb"\udc80celery")


def wrong_url_prefix(flower: RecordedFlower) -> None:
    flower.fault = HTML_404


#: kind → (break the Flower, the payloads it breaks, what the page says).
KINDS = {
    "odd-worker-types": (odd_worker_types, "workers", "workers had fields of an unexpected type"),
    "odd-task-types": (odd_task_types, "tasks", "tasks had fields of an unexpected type"),
    "odd-queue-types": (odd_queue_types, "queues", "queues had fields of an unexpected type"),
    "invalid-utf8": (invalid_utf8, "tasks workers", "could not be decoded (shown as �)"),
    "lone-surrogate": (lone_surrogates, "tasks workers", "could not be decoded (shown as �)"),
    "wrong-url-prefix": (
        wrong_url_prefix,
        "tasks workers queues",
        "No Flower API at this URL — check the url_prefix in FLOWER_URL",
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("page", PAGES)
def test_bad_input_never_crashes_a_page_and_is_named(recorded_flower, page, kind):
    breaks, payloads, says = KINDS[kind]
    breaks(recorded_flower)
    at = open_page(page)
    assert not at.exception, at.exception
    if not READS[page] & set(payloads.split()):
        return
    assert says in texts(at)
    if kind != "wrong-url-prefix":
        assert len(at.dataframe) and len(at.dataframe[0].value), "the data is still shown"


def table(at, column: str) -> list[str]:
    """The text cells of ``column`` in every table on the page."""
    cells = [v for df in at.dataframe if column in df.value for v in df.value[column]]
    return [v for v in cells if isinstance(v, str)]


def test_odd_task_values_show_as_text_on_the_tasks_page(recorded_flower):
    odd_task_types(recorded_flower)
    at = open_page("Tasks")
    assert "[2, 3]" in table(at, "args")
    assert "{'nested': {'a': [1]}}" in table(at, "kwargs")
    assert "['w1@vm']" in table(at, "worker")
    assert "{'odd': 1}" in table(at, "state")
    said = texts(at)
    for field in ("args", "kwargs", "received", "retries", "state", "worker"):
        assert field in said.split("unexpected type")[1], field


def test_odd_worker_values_show_as_text_on_the_workers_page(recorded_flower):
    odd_worker_types(recorded_flower)
    at = open_page("Workers")
    assert table(at, "worker") == ["w1@vm", "w2@vm"]
    assert "py-celery {'major': 5}" in table(at, "version")
    assert "7, ['etl']" in table(at, "queues")
    said = texts(at).split("unexpected type")[1]
    for field in ("loadavg", "heartbeats", "active", "pid", "stats", "rusage", "status"):
        assert field in said, field


def test_text_that_could_not_be_decoded_is_shown_replaced(recorded_flower):
    invalid_utf8(recorded_flower)
    at = open_page("Tasks")
    assert "caf� �" in "".join(map(str, table(at, "args")))


@pytest.mark.parametrize("page", ("Overview", "Queues"))
def test_a_flower_that_cannot_read_queue_depths_leaves_the_backlog_unknown(recorded_flower, page):
    """Flower answers 404 when it cannot read its broker's queues: every depth is unknown, so
    the backlog is too — not a crash on a sum of nothing."""
    recorded_flower.answers["queues_length"] = (404, "Unable to get queues", {})
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert "Flower cannot read queue depths from this broker" in texts(at)
    if page == "Overview":
        backlog = next(m for m in at.metric if m.label == "Queue backlog")
        assert backlog.value == "—"

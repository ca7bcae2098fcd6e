"""The doctor's checks of what Flower sees, on recorded Flower 2.2 payloads served over HTTP
(altered where a case needs it) and scripted datatable answers for Flower's history."""

from __future__ import annotations

import copy

import pytest

from lib.doctor import Status
from lib.doctor.cluster_checks import (
    check_clock_skew,
    check_events,
    check_history,
    check_result_extended,
    check_sent_events,
)
from lib.doctor.evidence import Evidence
from tests.recorded import RecordedFlower, recorded
from tests.scripted_server import ScriptedServer
from tests.unit.doctor_helpers import ok, routes, settings_for

#: The recorded workers' newest heartbeat (w2@vm's; w1@vm's is 0.47 s older).
LAST_BEAT = max(max(r["heartbeats"]) for r in recorded("workers_ui")["data"])


def examine(check, tmp_path, answers=None, tasks=None, clock=None):
    """``check`` on the recorded Flower, with ``answers`` replacing payloads by route name."""
    script = RecordedFlower(tasks=tasks)
    script.answers = {name: ok(body) for name, body in (answers or {}).items()}
    with ScriptedServer(script) as server:
        evidence = Evidence(settings_for(server.url, tmp_path), clock=clock or (lambda: LAST_BEAT))
        return check(evidence)


def summaries(**changes) -> dict:
    """``/workers?json=1`` with each row's fields changed (``None``: removed)."""
    body = copy.deepcopy(recorded("workers_ui"))
    for row in body["data"]:
        for key, value in changes.items():
            row.pop(key, None) if value is None else row.update({key: value})
    return body


def silent() -> dict:
    """Rows with no task event counted: Flower heard heartbeats only."""
    body = recorded("workers_ui")
    for row in body["data"]:
        for kind in [k for k in row if k.startswith("task-")]:
            row.pop(kind)
    return body


def inspected(**conf) -> dict:
    """``/api/workers`` with each worker's conf changed (``None``: the key removed)."""
    body = copy.deepcopy(recorded("workers"))
    for info in body.values():
        for key, value in conf.items():
            info["conf"].pop(key, None) if value is None else info["conf"].update({key: value})
    return body


def test_events_pass_when_flower_counted_task_events(tmp_path):
    assert examine(check_events, tmp_path) == (
        Status.PASS,
        "Flower receives task events from 2 of 2 workers.",
    )


def test_workers_that_ran_tasks_under_flowers_eyes_without_events_warn(tmp_path):
    status, sentence = examine(check_events, tmp_path, {"workers_ui": silent()})
    assert status is Status.WARN
    assert "w1@vm ran 34" in sentence and "w2@vm ran 26" in sentence
    assert "start workers with -E" in sentence and "--enable_events" in sentence


def test_without_evidence_the_configuration_decides(tmp_path):
    unseen = silent()
    for row in unseen["data"]:
        row["worker-online"] = 0  # Flower started after them: their tasks may predate it
    status, sentence = examine(check_events, tmp_path, {"workers_ui": unseen})
    assert status is Status.PASS and "worker_send_task_events=True" in sentence
    answers = {"workers_ui": unseen, "workers": inspected(worker_send_task_events=None)}
    status, sentence = examine(check_events, tmp_path, answers)
    assert status is Status.WARN and "cannot be confirmed" in sentence


def test_sent_events_seen_on_tasks_pass(tmp_path):
    status, sentence = examine(check_sent_events, tmp_path)
    assert status is Status.PASS and "PENDING" in sentence


def test_tasks_without_sent_events_warn_whatever_the_workers_say(tmp_path):
    tasks = {u: {**t, "sent": None} for u, t in recorded("tasks").items()}
    status, sentence = examine(check_sent_events, tmp_path, tasks=tasks)
    assert status is Status.WARN
    assert "task_send_sent_event=True in the Celery app that sends tasks" in sentence


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        pytest.param({}, Status.PASS, id="workers-set-it"),
        pytest.param({"task_send_sent_event": None}, Status.WARN, id="unset"),
    ],
)
def test_with_no_task_yet_the_workers_configuration_decides(tmp_path, conf, expected):
    status, _ = examine(check_sent_events, tmp_path, {"workers": inspected(**conf)}, tasks={})
    assert status is expected


def test_result_extended(tmp_path):
    assert examine(check_result_extended, tmp_path)[0] is Status.PASS
    body = inspected()
    body["w2@vm"]["conf"].pop("result_extended")
    status, sentence = examine(check_result_extended, tmp_path, {"workers": body})
    assert status is Status.WARN
    assert sentence.startswith("result_extended is off on w2@vm: Retry cannot use")


@pytest.mark.parametrize(
    ("now", "expected", "says"),
    [
        pytest.param(LAST_BEAT + 3, Status.PASS, "within 5 s", id="heartbeat-lag-is-not-skew"),
        pytest.param(LAST_BEAT - 10, Status.WARN, "w2@vm's clock is about 10 s ahead", id="ahead"),
        pytest.param(LAST_BEAT + 4 + 70, Status.FAIL, "about 70 s behind", id="far-behind"),
    ],
)
def test_clock_skew(tmp_path, now, expected, says):
    status, sentence = examine(check_clock_skew, tmp_path, clock=lambda: now)
    assert status is expected
    assert says in sentence


def history(tmp_path, count: int, age: float | None):
    now = 1_800_000_000.0
    rows = [] if age is None else [{"uuid": "x", "timestamp": now - age}]
    table = {"/tasks/datatable": ok({"recordsTotal": count, "data": rows})}
    with ScriptedServer(routes(table)) as server:
        return check_history(Evidence(settings_for(server.url, tmp_path), clock=lambda: now))


@pytest.mark.parametrize(
    ("count", "age", "expected", "says"),
    [
        pytest.param(0, None, Status.PASS, "holds no tasks yet", id="empty"),
        pytest.param(
            5_000, 2 * 3600, Status.PASS, "5,000 tasks, the oldest 2.0 h old (about 41.7 a "
            "minute): at that rate its default --max_tasks=100,000 keeps about 1.7 days", id="room",
        ),
        pytest.param(
            100_000, 1800, Status.WARN, "it is full, so Flower keeps about 30 min of tasks",
            id="full-and-short",
        ),
        pytest.param(100_000, 5 * 3600, Status.PASS, "keeps about 5.0 h of tasks", id="full"),
        pytest.param(50_000, 1200, Status.WARN, "keeps about 40 min", id="fast-for-20-min"),
        pytest.param(5_000, 120, Status.PASS, "keeps about 40 min", id="a-burst-is-no-rate"),
    ],
)  # fmt: skip
def test_history(tmp_path, count, age, expected, says):
    status, sentence = history(tmp_path, count, age)
    assert status is expected
    assert says in sentence


def test_history_warning_says_max_tasks(tmp_path):
    _, sentence = history(tmp_path, 100_000, 600)
    assert "Raise Flower's --max_tasks" in sentence

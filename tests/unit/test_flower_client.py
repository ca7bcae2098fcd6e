"""The Flower client over a real socket: payloads decoded, every fault a typed, plain error."""

from __future__ import annotations

import json
import socket

import pytest

from lib.errors import (
    FlowerAuthError,
    FlowerBadPayload,
    FlowerBadRequest,
    FlowerForbidden,
    FlowerNoApi,
    FlowerNotFound,
    FlowerServerError,
    FlowerUnavailable,
    FlowerUnreachable,
)
from lib.flower import UNDECODED, FlowerClient
from tests.scripted_server import ScriptedServer

TASKS = {
    "b1": {"name": "demo.add", "state": "SUCCESS", "timestamp": 2.0},
    "a1": {"name": None, "state": "STARTED", "timestamp": 1.0},
}


def ok(body) -> tuple[int, str, dict]:
    return 200, json.dumps(body), {}


def test_list_tasks_keeps_flowers_order_adds_uuid_and_always_sends_limit():
    with ScriptedServer(lambda m, p: ok(TASKS)) as srv:
        client = FlowerClient(srv.url, auth=("admin", "pw"), timeout=2)
        tasks = client.list_tasks(limit=50, offset=100, state="FAILURE", taskname=None)
    assert [t["uuid"] for t in tasks] == ["b1", "a1"]
    _method, path, _, headers = srv.requests[0]
    assert path.startswith("/api/tasks?") and "limit=50" in path and "offset=100" in path
    assert "state=FAILURE" in path and "taskname" not in path
    assert headers["Authorization"].startswith("Basic ")


def test_url_prefix_is_kept_for_every_call():
    with ScriptedServer(lambda m, p: ok({"w1@h": True})) as srv:
        FlowerClient(srv.url + "/flower/").worker_status()
    assert srv.requests[0][1] == "/flower/api/workers?status=1"


@pytest.mark.parametrize(
    ("status", "body", "error", "says"),
    [
        (401, "", FlowerAuthError, "FLOWER_BASIC_AUTH"),
        (
            403,
            "Failed to autoscale 'w1@h' worker: ValueError('Autoscale not enabled')",
            FlowerForbidden,
            "Autoscale not enabled",
        ),
        (403, "Read only mode is enabled", FlowerForbidden, "Read only mode is enabled"),
        (404, "404 page not found", FlowerNoApi, "check the url_prefix in FLOWER_URL"),
        (400, '{"error": "Invalid sort_by"}', FlowerBadRequest, "Invalid sort_by"),
        (500, "<html>Internal Server Error</html>", FlowerServerError, "HTTP 500"),
        (503, "Broker or result backend unavailable", FlowerUnavailable, "broker"),
    ],
    ids=["401", "403-worker-reason", "403-read-only", "404", "400", "500", "503"],
)
def test_http_errors_become_typed_sentences(status, body, error, says):
    with ScriptedServer(lambda m, p: (status, body, {"Content-Type": "text/plain"})) as srv:
        with pytest.raises(error) as err:
            FlowerClient(srv.url, timeout=2).list_workers()
    assert says in str(err.value)
    assert err.value.status == status


@pytest.mark.parametrize(
    ("body", "says"),
    [("this is not json{", "cannot read"), ("[1, 2, 3]", "Expected a JSON dict")],
    ids=["garbage", "wrong-shape"],
)
def test_bad_payloads(body, says):
    with ScriptedServer(lambda m, p: (200, body, {})) as srv:
        with pytest.raises(FlowerBadPayload) as err:
            FlowerClient(srv.url, timeout=2).list_tasks(limit=1)
    assert says in str(err.value)


def test_oauth_redirect_is_explained():
    answer = (302, "", {"Location": "/login?next=%2Fapi%2Ftasks"})
    with ScriptedServer(lambda m, p: answer) as srv, pytest.raises(FlowerAuthError) as err:
        FlowerClient(srv.url, timeout=2).list_tasks(limit=1)
    assert "OAuth" in str(err.value)


def test_refused_connection_is_unreachable_and_hides_the_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    client = FlowerClient(f"http://127.0.0.1:{port}", auth=("admin", "hunter2"), timeout=1)
    with pytest.raises(FlowerUnreachable) as err:
        client.list_workers()
    assert "refused" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_a_slow_flower_times_out_with_the_variable_named():
    with ScriptedServer(lambda m, p: "hang") as srv, pytest.raises(FlowerUnreachable) as err:
        FlowerClient(srv.url, timeout=0.3).list_tasks(limit=1)
    assert "FLOWER_TIMEOUT" in str(err.value)
    assert len(srv.requests) == 1, "a read timeout must not be retried"


def test_gets_are_retried_on_a_gateway_error():
    answers = iter([(502, "bad gateway", {}), ok({"w1@h": True})])
    with ScriptedServer(lambda m, p: next(answers)) as srv:
        assert FlowerClient(srv.url, timeout=2).worker_status() == {"w1@h": True}
    assert len(srv.requests) == 2


def test_posts_are_never_retried():
    with ScriptedServer(lambda m, p: (502, "bad gateway", {})) as srv:
        client = FlowerClient(srv.url, timeout=2)
        with pytest.raises(FlowerServerError):
            client._request("POST", "/api/task/revoke/x", data={"terminate": "false"})
    assert len(srv.requests) == 1


def test_transfer_stats_count_requests_and_bytes():
    body = json.dumps(TASKS)
    with ScriptedServer(lambda m, p: (200, body, {})) as srv:
        client = FlowerClient(srv.url, timeout=2)
        client.list_tasks(limit=10)
        client.list_tasks(limit=10)
    assert client.stats.requests == 2
    assert client.stats.bytes == 2 * len(body.encode())


def test_other_reads_unwrap_their_envelopes():
    answers = {
        "/api/task/types": ok({"task-types": ["demo.add", "demo.sleep"]}),
        "/api/queues/length": ok({"active_queues": [{"name": "default", "messages": 3}]}),
        "/workers?json=1": ok({"data": [{"hostname": "w1@h", "active": 1}]}),
        "/healthcheck": (200, "OK", {"Content-Type": "text/plain"}),
    }
    with ScriptedServer(lambda m, p: answers[p]) as srv:
        client = FlowerClient(srv.url, timeout=2)
        assert client.task_types() == ["demo.add", "demo.sleep"]
        assert client.queue_lengths() == [{"name": "default", "messages": 3}]
        assert client.worker_summaries() == [{"hostname": "w1@h", "active": 1}]
        assert client.healthcheck() is True


NO_API = "No Flower API at this URL — check the url_prefix in FLOWER_URL"
PAGE_404 = "<!DOCTYPE html>\n<html><head><title>Flower</title></head><body>Error, page not found"


@pytest.mark.parametrize(
    ("call", "body", "error", "says"),
    [
        ("list_tasks", PAGE_404, FlowerNoApi, NO_API),
        ("list_tasks", "", FlowerNoApi, NO_API),
        ("worker_summaries", "not found", FlowerNoApi, NO_API),
        ("task_types", PAGE_404, FlowerNoApi, NO_API),
        ("task_info", PAGE_404, FlowerNoApi, NO_API),
        ("task_info", "Unknown task 'x'", FlowerNotFound, "Unknown task 'x'"),
        ("queue_lengths", PAGE_404, FlowerNoApi, NO_API),
        ("queue_lengths", "'sqs' broker is not supported", FlowerNotFound, "sqs"),
    ],
    ids=[
        "tasks-html",
        "tasks-empty",
        "workers-text",
        "types-html",
        "task-html",
        "task-unknown",
        "queues-html",
        "queues-broker",
    ],
)
def test_a_404_names_the_url_prefix_unless_flower_said_what_is_unknown(call, body, error, says):
    answer = (404, body, {"Content-Type": "text/html" if "<" in body else "text/plain"})
    with ScriptedServer(lambda m, p: answer) as srv, pytest.raises(error) as err:
        client = FlowerClient(srv.url, timeout=2)
        getattr(client, call)(
            *(["x"] if call == "task_info" else []),
            **({"limit": 1} if call == "list_tasks" else {}),
        )
    assert says in str(err.value)
    assert "DOCTYPE" not in str(err.value), "a web page is not a sentence"


@pytest.mark.parametrize(
    ("raw", "args"),
    [
        (b'"caf\xe9 \xed\xa0\x80"', "caf\ufffd \ufffd\ufffd\ufffd"),
        (rb'"\ud800 alone \udc80"', "\ufffd alone \ufffd"),
    ],
    ids=["invalid-utf8", "lone-surrogates"],
)
def test_text_that_cannot_be_decoded_is_replaced_and_marked(raw, args):
    second = rb'"t2": {"args": "\\ud800 \ud83d\ude00"}'
    body = b'{"t1": {"args": ' + raw + b', "kwargs": "{}"}, ' + second + b"}"
    with ScriptedServer(lambda m, p: (200, body, {})) as srv:
        first, second = FlowerClient(srv.url, timeout=2).list_tasks(limit=2)
    assert first["args"] == args and first[UNDECODED] == ["args"]
    # An escaped backslash before "ud800" is text, and a surrogate pair is one character.
    assert second["args"] == "\\ud800 \U0001f600" and UNDECODED not in second


def test_clean_answers_are_not_marked():
    with ScriptedServer(lambda m, p: ok(TASKS)) as srv:
        tasks = FlowerClient(srv.url, timeout=2).list_tasks(limit=2)
    assert all(UNDECODED not in t for t in tasks)

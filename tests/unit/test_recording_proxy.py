"""The request-logging proxy the two-cluster tests read each Flower's requests from: it passes
requests on and logs them, and when hung holds them until answered or given up."""

from __future__ import annotations

import pytest
import requests

from tests.live import wait_until
from tests.scripted_server import ScriptedServer
from tests.two_clusters import RecordingProxy


@pytest.fixture
def upstream():
    with ScriptedServer(lambda method, path: (201, f"{method} {path}", {"X-Seen": "yes"})) as s:
        yield s


@pytest.fixture
def proxy(upstream):
    running = RecordingProxy(int(upstream.url.rsplit(":", 1)[1]))
    yield running
    running.stop()


def test_passes_requests_on_and_logs_each(upstream, proxy):
    got = requests.get(f"{proxy.url}/api/workers?refresh=1", auth=("u", "p"), timeout=5)
    sent = requests.post(f"{proxy.url}/api/task/revoke/t1", data=b"x=1", timeout=5)
    assert (got.status_code, got.text, got.headers["X-Seen"]) == (
        201,
        "GET /api/workers?refresh=1",
        "yes",
    )
    assert sent.text == "POST /api/task/revoke/t1"
    assert proxy.requests() == [("GET", "/api/workers?refresh=1"), ("POST", "/api/task/revoke/t1")]
    assert proxy.posts(since=1) == ["/api/task/revoke/t1"]
    method, _, body, _ = upstream.requests[1]
    assert (method, body) == ("POST", b"x=1") and "Authorization" in upstream.requests[0][3]


def test_hung_it_holds_requests_until_the_client_gives_up_then_answers_again(upstream, proxy):
    proxy.hang()
    with pytest.raises(requests.Timeout):
        requests.get(f"{proxy.url}/healthcheck", timeout=0.5)
    wait_until(lambda: not proxy.held(), "the held request to be let go once its client left")
    assert proxy.requests() == [("GET", "/healthcheck")] and upstream.requests == []
    proxy.answer()
    assert requests.get(f"{proxy.url}/healthcheck", timeout=5).text == "GET /healthcheck"


@pytest.fixture
def many_files_open(tmp_path):
    """Descriptors numbered past select()'s 1024, as in the whole suite's process."""
    opened = []
    while not opened or opened[-1].fileno() <= 1100:
        opened.append((tmp_path / "f").open("w"))
    yield
    for handle in opened:
        handle.close()


def test_hung_it_holds_requests_with_many_files_open(many_files_open, upstream, proxy):
    proxy.hang()
    with pytest.raises(requests.Timeout):  # not dropped: the hold itself must not fail
        requests.get(f"{proxy.url}/healthcheck", timeout=0.5)
    wait_until(lambda: not proxy.held(), "the held request to be let go once its client left")

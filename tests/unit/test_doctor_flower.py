"""The doctor's Flower checks and its runner, over real HTTP to scripted Flower answers."""

from __future__ import annotations

import threading

import pytest

from lib.doctor import CHECKS, Check, Finding, Status, count_line, exit_code, finding_line
from lib.doctor.runner import run_checks
from tests.scripted_server import ScriptedServer
from tests.unit import doctor_helpers
from tests.unit.doctor_helpers import (
    FLOWER_CHECKS,
    FLOWER_PAGE,
    by_check,
    ok,
    routes,
    run,
    settings_for,
    statuses,
)


@pytest.fixture
def closed_port() -> int:
    return doctor_helpers.closed_port()


HEALTHY = {"/healthcheck": ok("OK"), "/api/workers?status=1": ok({"w1@h": True})}


def flower(extra: dict | None = None):
    return ScriptedServer(routes({**HEALTHY, **(extra or {})}))


@pytest.mark.parametrize(
    ("found", "code"),
    [
        pytest.param([], 0, id="nothing"),
        pytest.param([Status.PASS, Status.PASS], 0, id="all-pass"),
        pytest.param([Status.PASS, Status.WARN], 1, id="warnings"),
        pytest.param([Status.WARN, Status.FAIL, Status.PASS], 2, id="a-failure"),
    ],
)
def test_exit_code_is_the_worst_status(found, code):
    assert exit_code([Finding(s, "x", "y") for s in found]) == code


def test_line_and_count_line():
    findings = [Finding(Status.PASS, "Broker", "ok."), Finding(Status.WARN, "Clock skew", "off.")]
    assert finding_line(findings[1]) == "WARN Clock skew: off."
    assert count_line(findings) == "2 checks: 1 passed, 1 warning, 0 failures"


def test_checks_run_in_the_issue_order_one_finding_each(tmp_path, closed_port):
    found = run_checks(settings_for(f"http://127.0.0.1:{closed_port}", tmp_path))
    assert [f.check for f in found] == [c.name for c in CHECKS]
    assert [c.name for c in CHECKS if c.asks_flower] == list(FLOWER_CHECKS)


def test_nothing_listening_fails_reachable_and_skips_the_other_flower_checks(tmp_path, closed_port):
    found = run(f"http://127.0.0.1:{closed_port}", tmp_path)
    reachable = found["Flower reachable"]
    assert reachable.status is Status.FAIL
    assert "refused" in reachable.sentence and "FLOWER_URL" in reachable.sentence
    for name in FLOWER_CHECKS[1:]:
        assert found[name] == Finding(Status.WARN, name, "Not checked: Flower cannot be reached.")
    assert found["Store writable"].status is Status.PASS  # checks without Flower still run


def test_a_hung_flower_fails_within_the_timeout_and_is_not_asked_again(tmp_path):
    with ScriptedServer(lambda _m, _p: "hang") as server:
        found = run(server.url, tmp_path)
        asked = len(server.requests)
    assert found["Flower reachable"].status is Status.FAIL
    assert "Flower did not answer within 1 s (FLOWER_TIMEOUT)" in found["Flower reachable"].sentence
    assert statuses(found, *FLOWER_CHECKS[1:]) == [Status.WARN] * (len(FLOWER_CHECKS) - 1)
    assert asked == 1


def test_a_check_over_its_budget_fails_and_blocks_later_flower_checks(tmp_path, closed_port):
    release = threading.Event()
    stuck = Check("Stuck", lambda _evidence: release.wait(30) and (Status.PASS, "late"))
    after = Check("After", lambda _evidence: (Status.PASS, "asked Flower"))
    alone = Check("Alone", lambda _evidence: (Status.PASS, "no Flower needed"), asks_flower=False)
    settings = settings_for(f"http://127.0.0.1:{closed_port}", tmp_path, flower_timeout=0.2)
    try:
        found = by_check(run_checks(settings, checks=(stuck, after, alone)))
    finally:
        release.set()  # let the abandoned check's thread end
    assert found["Stuck"] == Finding(
        Status.FAIL,
        "Stuck",
        "Flower did not answer within 0.2 s (FLOWER_TIMEOUT): it is overloaded or stuck; "
        "restart it, or raise FLOWER_TIMEOUT if it is just slow.",
    )
    assert found["After"].sentence == "Not checked: Flower did not answer within 0.2 s."
    assert found["Alone"].status is Status.PASS


def test_a_defect_in_one_check_is_a_fail_line_and_the_others_still_run(tmp_path, closed_port):
    broken = Check("Broken", lambda _evidence: 1 / 0, asks_flower=False)
    fine = Check("Fine", lambda _evidence: (Status.PASS, "fine."), asks_flower=False)
    settings = settings_for(f"http://127.0.0.1:{closed_port}", tmp_path)
    found = by_check(run_checks(settings, checks=(broken, fine)))
    assert found["Broken"].status is Status.FAIL
    assert "ZeroDivisionError" in found["Broken"].sentence
    assert found["Fine"].status is Status.PASS


def test_healthy_flower_passes_its_own_checks(tmp_path):
    with flower() as server:
        found = run(server.url, tmp_path)
    assert statuses(found, "Flower reachable", "Flower auth", "URL prefix") == [Status.PASS] * 3
    assert found["Flower auth"].sentence == (
        "Flower's API answers without a password (FLOWER_BASIC_AUTH unset)."
    )


UNGUARDED = "FLOWER_UNAUTHENTICATED_API environment variable is required to enable API without authentication"


@pytest.mark.parametrize(
    ("body", "auth", "says"),
    [
        pytest.param("", ("admin", "pw-x"), "refused the user:password in FLOWER_BASIC_AUTH", id="wrong-pair"),
        pytest.param("", None, "FLOWER_BASIC_AUTH is not set", id="missing-pair"),
        pytest.param(UNGUARDED, None, "FLOWER_UNAUTHENTICATED_API=true", id="flower-without-auth"),
        pytest.param(
            UNGUARDED, ("admin", "pw-x"), "FLOWER_BASIC_AUTH is set, but Flower has no --basic_auth",
            id="pair-for-flower-without-auth",
        ),
    ],
)  # fmt: skip
def test_a_401_is_explained(tmp_path, body, auth, says):
    with flower({"/api/workers?status=1": (401, body, {})}) as server:
        found = run(server.url, tmp_path, flower_auth=auth)
    assert found["Flower auth"].status is Status.FAIL
    assert says in found["Flower auth"].sentence
    assert found["Workers visible"].sentence == (
        "Not checked: Flower refused the console's credentials."
    )


def test_a_login_redirect_is_explained_as_oauth(tmp_path):
    with flower({"/api/workers?status=1": (302, "", {"Location": "/login"})}) as server:
        found = run(server.url, tmp_path)
    assert found["Flower auth"].status is Status.FAIL
    assert "OAuth" in found["Flower auth"].sentence
    assert "--basic_auth" in found["Flower auth"].sentence


def test_a_403_says_what_flower_said_without_the_password(tmp_path):
    password = "s3cret-Pa55"
    said = f"Forbidden for admin:{password}"
    with flower({"/api/workers?status=1": (403, said, {})}) as server:
        found = run(server.url, tmp_path, flower_auth=("admin", password))
    sentence = found["Flower auth"].sentence
    assert found["Flower auth"].status is Status.FAIL
    assert "Forbidden for admin:***" in sentence and password not in sentence


TORNADO_PAGE = "<html><title>404: Not Found</title><body>404: Not Found</body></html>"


@pytest.mark.parametrize("page", [FLOWER_PAGE, TORNADO_PAGE], ids=["flower-page", "tornado-page"])
def test_flowers_404_at_the_root_says_add_the_url_prefix(tmp_path, page):
    answer = (404, page, {"Content-Type": "text/html"})
    with ScriptedServer(routes({"/healthcheck": answer, "/api": answer})) as server:
        found = run(server.url, tmp_path)
    assert found["URL prefix"] == Finding(
        Status.FAIL,
        "URL prefix",
        f"Flower answers at {server.url} but its API is not there (HTTP 404 from Flower's "
        "server): Flower runs with --url_prefix; add the url_prefix to FLOWER_URL, e.g. "
        f"FLOWER_URL={server.url}/flower.",
    )
    assert found["Flower auth"].status is Status.WARN
    assert found["Workers visible"].sentence == "Not checked: Flower's API is not at FLOWER_URL."


def test_a_missing_prefix_flower_answers_under_is_named(tmp_path):
    page = (404, TORNADO_PAGE, {"Content-Type": "text/html"})
    with ScriptedServer(routes({"/flower/healthcheck": ok("OK"), "/": page})) as server:
        found = run(server.url, tmp_path)
    assert found["URL prefix"].sentence.endswith(
        "Flower runs with --url_prefix=flower; add the url_prefix to FLOWER_URL, "
        f"FLOWER_URL={server.url}/flower."
    )


def test_a_prefix_flower_does_not_have_says_remove_it(tmp_path):
    page = (404, FLOWER_PAGE, {"Content-Type": "text/html"})
    with ScriptedServer(routes({**HEALTHY, "/ops": page})) as server:
        found = run(f"{server.url}/ops", tmp_path)
    assert found["URL prefix"].status is Status.FAIL
    assert found["URL prefix"].sentence == (
        f"Flower runs without a url_prefix, but FLOWER_URL ends in '/ops': remove it, "
        f"FLOWER_URL={server.url}."
    )


def test_someone_elses_404_is_not_taken_for_flower(tmp_path):
    page = (404, "<html><body><h1>nginx</h1></body></html>", {"Content-Type": "text/html"})
    with ScriptedServer(routes({"/": page})) as server:
        found = run(server.url, tmp_path)
    assert found["URL prefix"].status is Status.FAIL
    assert found["URL prefix"].sentence.startswith("Something other than Flower answers at")


@pytest.mark.parametrize(
    ("status", "inspected", "expected", "says"),
    [
        pytest.param({}, {}, Status.FAIL, "Flower sees no workers", id="none"),
        pytest.param({"w1@h": False}, {}, Status.FAIL, "none is online", id="all-offline"),
        pytest.param(
            {"w1@h": True, "w2@h": False}, {"w1@h": {"stats": {}}}, Status.WARN,
            "1 of 2 workers online; offline: w2@h", id="one-offline",
        ),
        pytest.param(
            {"w1@h": True}, {"w1@h": {}}, Status.WARN, "did not answer Flower's inspect",
            id="no-inspect",
        ),
        pytest.param({"w1@h": True}, {"w1@h": {"stats": {}}}, Status.PASS, "1 online: w1@h", id="fine"),
    ],
)  # fmt: skip
def test_workers_visible(tmp_path, status, inspected, expected, says):
    answers = {"/api/workers?status=1": ok(status), "/api/workers?refresh=1": ok(inspected)}
    with flower(answers) as server:
        found = run(server.url, tmp_path)
    assert found["Workers visible"].status is expected
    assert says in found["Workers visible"].sentence

"""Every page against the real cluster: renders without exception and shows real numbers."""

from __future__ import annotations

import pytest

from tests.apptest.conftest import PAGES, open_page, texts
from tests.live import send, wait_final


@pytest.fixture(scope="module")
def known(cluster, producer):
    ok = send(producer, "demo.add", 40, 2)
    bad = send(producer, "demo.flaky", "connection", ref=5432)
    wait_final(cluster, [ok, bad])
    return {"ok": ok, "bad": bad}


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_live(page, live_env, known):
    at = open_page(page)
    assert not at.exception
    assert at.title[0].value == page
    assert not at.error, [e.value for e in at.error]
    assert any(b.label == "Download CSV" for b in at.get("download_button"))


def test_overview_counts_workers_online(live_env, known):
    at = open_page("Overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Workers online"] == f"{len(live_env.worker_names)}/{len(live_env.worker_names)}"
    assert int(metrics["Failed"].replace(",", "")) >= 1


def test_task_deep_link_shows_detail(live_env, known):
    at = open_page("Tasks", query={"task": known["bad"]})
    assert not at.exception
    assert f"Task {known['bad']}" in texts(at)
    codes = [c.value for c in at.code]
    assert any("ConnectionRefusedError" in c for c in codes)
    assert any("Traceback" in c for c in codes)


def test_state_deep_link_prefilters(live_env, known):
    at = open_page("Tasks", query={"state": "failure"})
    assert at.multiselect(key="filter_state").value == ["FAILURE"]
    table = at.dataframe[0].value
    assert len(table) >= 1 and set(table["state"]) == {"FAILURE"}
    assert known["bad"] in set(table["uuid"])


def test_unknown_task_link_says_so(live_env, known):
    at = open_page("Tasks", query={"task": "00000000-0000-0000-0000-000000000000"})
    assert not at.exception
    assert "does not know task" in texts(at)

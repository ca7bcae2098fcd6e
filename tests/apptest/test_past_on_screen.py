"""The past on screen (issue 13 points 3, 4, 6): the Overview's pulse and needs-attention strip,
depth per queue on Queues, worker figures on Workers — drawn from the samples and rollups a
real Collector wrote from a (recorded) Flower over HTTP, with empty states that say why."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from lib.charts import WORKER_FIGURES
from lib.frames import attention
from lib.store import Store
from tests import factories
from tests.apptest.conftest import (
    collector_caught_up,
    console_on,
    open_page,
    open_section,
    open_tab,
    run_until,
    texts,
)
from tests.recorded import RecordedFlower, recorded
from tests.vega import on_page

#: The charts read here, by the title of their y axis (Vega-Lite charts carry no key).
PULSE, ONLINE, DEPTHS = "tasks / min", "workers online", "waiting messages"
RSS = WORKER_FIGURES["main_peak_rss_mib"]
#: The Workers page's tab that draws RSS (one per-worker figure at a time: lazy tabs).
RSS_TAB = ("worker_figure", "Main process peak RSS")


def traces(at, title: str) -> dict[str, list]:
    """The y values per series of the chart titled ``title``, as the browser gets them."""
    chart = on_page(at, title)
    return {name: rows[chart.field("y")].tolist() for name, rows in chart.series().items()}


def links(at) -> list[tuple[str, str, str]]:
    """Every page link: (label, page, query string)."""
    return [(ln.proto.label, ln.proto.page, ln.proto.query_string) for ln in at.get("page_link")]


@pytest.fixture
def busy_flower(monkeypatch, tmp_path):
    """Recorded workers and queues; tasks that finished in the last minutes, most of them failed:
    a failure spike against a quiet hour."""
    now = time.time()
    tasks = [factories.task_payload(f"ok{i}", at=now - 20 - i) for i in range(3)]
    tasks += [factories.task_payload(f"bad{i}", "FAILURE", at=now - 30 - i) for i in range(6)]
    script = RecordedFlower(tasks={t["uuid"]: t for t in tasks})
    with console_on(script, monkeypatch, tmp_path):
        yield script


def test_overview_draws_the_last_hours_pulse_from_the_rollups(busy_flower):
    at = open_page("Overview")
    assert not at.exception, [e.message for e in at.exception]
    pulse = traces(at, PULSE)
    assert sum(pulse["processed"]) == 9 and sum(pulse["failed"]) == 6
    assert len(pulse["processed"]) == 60, "every minute of the hour, quiet ones as 0"


def test_the_strip_links_each_item_to_its_page(busy_flower):
    busy_flower.answers["workers_status"] = (200, json.dumps({"w1@vm": True, "w2@vm": False}), {})
    at = open_page("Overview")
    assert not at.exception, [e.message for e in at.exception]
    found = links(at)
    assert any(
        "Worker offline" in label and page.endswith("workers") and query == "worker=w2%40vm"
        for label, page, query in found
    ), found
    spike = [f for f in found if "Failure spike" in f[0]]
    assert spike and spike[0][1].endswith("errors") and spike[0][2] == "", found
    assert "6 of 9 tasks failed in the last 5 minutes" in spike[0][0].replace("\\", "")
    assert not at.success


def test_an_empty_strip_says_all_is_well_and_a_quiet_hour_says_so(recorded_flower):
    at = open_page("Overview")  # the recorded tasks finished days ago; both workers online
    assert not at.exception, [e.message for e in at.exception]
    assert any("All is well" in s.value for s in at.success)
    assert links(at) == []
    assert "No task finished in the last hour." in texts(at)
    assert attention.RULES in texts(at), "the strip says its rules"


def test_queues_and_workers_draw_the_real_collectors_samples(recorded_flower):
    """One test on real samples: the console's own collector polls the recorded Flower over
    HTTP and writes the store; the charts carry exactly what it sampled."""
    at = open_page("Workers")
    collector_caught_up()
    run_until(at, lambda at: len(on_page(at, ONLINE).rows) >= 2, timeout=15)
    assert not at.exception, [e.message for e in at.exception]
    rss = traces(open_tab(at, *RSS_TAB), RSS)
    info = recorded("workers")
    assert set(rss) == set(info)
    for worker, drawn in rss.items():
        assert set(drawn) == {info[worker]["stats"]["rusage"]["maxrss"] / 1024}, worker
    assert set(traces(at, ONLINE)[""]) == {2}  # rss found by its title: "main process …"
    assert "one point per 10 s" in texts(at)

    queues = open_page("Queues")
    store = Store(_store_url())  # the console's store (left open: the console uses it)
    samples = store.queue_samples(0, time.time() + 1)
    depths = traces(queues, DEPTHS)
    assert set(depths) == set(samples["queue"]) and depths
    for queue, drawn in depths.items():
        sampled = samples[samples["queue"] == queue]["messages"]
        assert np.nanmax(np.asarray(drawn, dtype="float64")) == sampled.max(), queue


def test_workers_draws_one_figure_per_worker_at_a_time(recorded_flower):
    """A first visit sends 3 charts (online, utilization, the open figure's), not 5; each
    other figure is drawn when its tab is opened, and only then (issue 12's 2 s)."""
    at = open_page("Workers")
    collector_caught_up()
    run_until(at, lambda at: len(on_page(at, ONLINE).rows) >= 2, timeout=15)
    titles = [json.loads(c.proto.spec)["encoding"]["y"]["title"] for c in at.get("vega_lite_chart")]
    assert titles == [ONLINE, "pool utilization", WORKER_FIGURES["active"]]
    load = open_tab(at, "worker_figure", "Host load")
    assert [
        json.loads(c.proto.spec)["encoding"]["y"]["title"] for c in load.get("vega_lite_chart")
    ][-1] == WORKER_FIGURES["load"]
    assert len(load.get("vega_lite_chart")) == 3


def test_a_range_without_samples_says_why(recorded_flower, monkeypatch):
    """A store with tasks and a collector that polled just now, but no samples yet (an
    external collector's first poll wrote its tasks only): the pages say when the first samples
    come instead of drawing an empty axis."""
    from lib.settings import load_settings

    now = time.time()
    store = Store.from_settings(load_settings(os.environ, {}))
    store.upsert_tasks([factories.task_payload("t1", at=now - 5)], now)
    store.keep("collector/default", {"latest": {"polls": 1, "data_until": now}}, now)
    store.close()
    monkeypatch.setenv("OPS_COLLECTOR", "external")
    for page, what in (("Workers", "worker"), ("Queues", "queue")):
        at = open_page(page)
        assert not at.exception, [e.message for e in at.exception]
        said = texts(at)
        assert f"No {what} samples in this range (last hour)" in said, said
        assert "the collector samples every 1 s; the first appear after its next poll" in said
        assert not at.get("vega_lite_chart")


def test_a_deep_link_opens_that_worker_or_queue_with_a_way_back(recorded_flower):
    at = open_page("Workers", query={"worker": "w2@vm"})
    assert not at.exception, [e.message for e in at.exception]
    assert at.dataframe[0].value["worker"].tolist() == ["w2@vm"]
    assert set(traces(open_tab(at, *RSS_TAB), RSS)) == {"w2@vm"}
    assert "Showing worker w2@vm only." in texts(at)
    at.button(key="all_worker").click().run()
    assert len(at.dataframe[0].value) == 2 and "worker" not in at.query_params

    queues = open_page("Queues")
    name = queues.dataframe[0].value["queue"].iloc[0]
    one = open_page("Queues", query={"queue": name})
    assert one.dataframe[0].value["queue"].tolist() == [name]
    assert set(traces(one, DEPTHS)) == {name}
    unknown = open_page("Queues", query={"queue": "nope"})
    assert "No queue named nope is known." in texts(unknown)


def _store_url() -> str:
    from lib.settings import load_settings

    return load_settings(os.environ, {}).store_url


def test_queues_consumer_form_is_built_when_its_section_is_opened(recorded_flower):
    """The admin's consumer form starts closed (a reading visit builds no form) and opens."""
    at = open_page("Queues")  # OPS_AUTH=off: a trusted admin
    assert not at.exception, [e.message for e in at.exception]
    assert [e.label for e in at.expander] == ["Add or cancel a consumer"]
    assert "queue_worker" not in {s.key for s in at.selectbox}
    at = open_section(at, "queues_consumers")
    assert "queue_worker" in {s.key for s in at.selectbox}
    assert {"queue_ctl_add_consumer", "queue_ctl_cancel_consumer"} <= {b.key for b in at.button}

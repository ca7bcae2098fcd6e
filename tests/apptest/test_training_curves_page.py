"""The ML training tab's loss and accuracy curves, and external mode reading jobs' progress from
the store (issue 13 point 5).

The recorded Flower (tests/fixtures/flower/tasks.json, moved to a minute ago) holds two
``demo.train_model`` jobs in PROGRESS; what the collector would have sampled for them is
written to the console's store, and the page is compared with those samples. The console has
no CELERY_RESULT_BACKEND at all: with ``OPS_COLLECTOR=external`` every figure on the page can
only come from the store.
"""

from __future__ import annotations

import os
import time

import pytest

from lib.collector import Collector
from lib.settings import load_settings
from lib.store import Store
from tests.apptest.conftest import open_page
from tests.apptest.test_workflows_page import recent_flower, tables  # noqa: F401 - a fixture
from tests.vega import Drawn, on_page

FIRST, SECOND = "b3601207-4b5d-4a54-8e8a-2e7b84c4befa", "82892938-3adb-4d00-9279-fd60f62830e3"
#: What three polls read: (poll, uuid, progress, loss, accuracy); FIRST's second report is
#: seen again by the third poll (one point on the chart).
POLLS = [
    (0, FIRST, 2.5, 2.2, 0.2),
    (1, FIRST, 5.0, 1.8, 0.35),
    (1, SECOND, 2.5, 2.9, 0.1),
    (2, FIRST, 5.0, 1.8, 0.35),
    (2, SECOND, 5.0, 2.4, 0.22),
]


@pytest.fixture
def sampled(recent_flower, monkeypatch):  # noqa: F811 - the fixture imported above
    """The store as `./ops collect` leaves it: one poll of the recorded Flower, then the
    training jobs' progress samples of three polls; the console reads it (external mode)."""
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)
    settings = load_settings(os.environ, {})
    store = Store.from_settings(settings)
    Collector(settings, store).poll()
    now = time.time() - 30
    for poll, uuid, progress, loss, accuracy in POLLS:
        figures = {"progress": progress, "loss": loss, "accuracy": accuracy}
        store.record_progress([{"uuid": uuid, "name": "demo.train_model", **figures}], now + poll)
    store.close()
    monkeypatch.setenv("OPS_COLLECTOR", "external")


def charts_on(at) -> dict[str, Drawn]:
    """The page's charts by y-axis title (loss, accuracy), as the browser gets them."""
    return {title: on_page(at, title) for title in ("loss", "accuracy")}


def xy(chart: Drawn, rows) -> tuple[list, list]:
    return rows[chart.field("x")].tolist(), rows[chart.field("y")].tolist()


def test_jobs_show_the_stores_latest_progress_without_reading_a_backend(sampled):
    at = open_page("Workflows")
    assert not at.exception, [e.message for e in at.exception]
    (jobs,) = tables(at, "progress")
    rows = jobs.set_index("uuid")
    assert rows.loc[FIRST, ["progress", "loss", "accuracy"]].tolist() == [5.0, 1.8, 0.35]
    assert rows.loc[SECOND, ["progress", "loss", "accuracy"]].tolist() == [5.0, 2.4, 0.22]
    assert rows.loc[FIRST, "source"] == "backend"
    said = " ".join(c.value for c in at.caption)
    assert "CELERY_RESULT_BACKEND is not set: group members are unknown" in said
    assert "progress of running jobs" not in said, "progress is read from the store"


def test_curves_draw_each_compared_jobs_reports(sampled):
    at = open_page("Workflows")
    picked = at.multiselect(key="curves_training")
    assert set(picked.value) >= {FIRST, SECOND}, "running jobs are compared by default"
    drawn = charts_on(at)
    assert set(drawn) == {"loss", "accuracy"}
    loss = drawn["loss"]
    lines = {name.split(" · ")[1]: rows for name, rows in loss.series().items()}
    assert set(lines) == {FIRST[:8], SECOND[:8]}
    assert xy(loss, lines[FIRST[:8]]) == ([2.5, 5.0], [2.2, 1.8])
    assert xy(loss, lines[SECOND[:8]]) == ([2.5, 5.0], [2.9, 2.4])
    assert loss.title("x") == "training progress (%)"

    picked.set_value([SECOND]).run()
    at.radio(key="curves_x_training").set_value("at").run()
    assert not at.exception
    drawn = charts_on(at)
    accuracy = drawn["accuracy"]
    (line,) = accuracy.series().values()
    assert line[accuracy.field("y")].tolist() == [0.1, 0.22] and len(accuracy.times(line)) == 2
    assert accuracy.title("x") == "time (UTC)"

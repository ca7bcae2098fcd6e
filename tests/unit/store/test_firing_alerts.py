"""The firing alerts of one cluster, read from the ``alerts`` table on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd

from lib.store.alert_views import FIRING_COLUMNS
from lib.store.store import Store
from tests.alert_table_rows import alert, seed


def test_only_this_clusters_firing_alerts_most_severe_then_oldest(any_store_url):
    store = Store(any_store_url)
    seed(
        store,
        [
            alert("queue_backlog", "default", "firing", "warning", 150.0, value=120.0),
            alert("worker_offline", "w2", "firing", "critical", 160.0),
            alert("worker_offline", "w1", "firing", "critical", 140.0, acked_by="ann"),
            alert("new_error", "g1", "firing", "info", 130.0),
            alert("failure_rate", "demo.add", "pending", "critical", None),
            alert("worker_offline", "w3", "resolved", "critical", 120.0),
            {**alert("worker_offline", "w9", "firing", "critical", 110.0), "cluster": "other"},
        ],
    )
    firing = pd.DataFrame(store.firing_alerts("default"))
    assert list(firing.columns) == list(FIRING_COLUMNS)
    assert list(zip(firing["rule"], firing["subject"], strict=True)) == [
        ("worker_offline", "w1"),
        ("worker_offline", "w2"),
        ("queue_backlog", "default"),
        ("new_error", "g1"),
    ]
    assert firing.loc[0, "acked_by"] == "ann" and firing.loc[2, "value"] == 120.0
    assert [a["subject"] for a in store.firing_alerts("other")] == ["w9"]


def test_nothing_firing_is_an_empty_list(any_store_url):
    assert Store(any_store_url).firing_alerts("default") == []

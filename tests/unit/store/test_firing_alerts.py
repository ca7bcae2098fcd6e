"""The firing alerts of one cluster, read from the ``alerts`` table on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd

from lib.store.alert_views import FIRING_COLUMNS
from lib.store.store import Store
from tests.alert_rows import Episode, seed


def test_only_this_clusters_firing_alerts_most_severe_then_oldest(any_store_url):
    store = Store(any_store_url)
    seed(
        store,
        Episode("queue_backlog", "default", "warning", fired=150.0, value=120.0),
        Episode("worker_offline", "w2", "critical", fired=160.0),
        Episode("worker_offline", "w1", "critical", fired=140.0, acked=("ann", 145.0)),
        Episode("new_error", "g1", "info", fired=130.0),
        Episode("failure_rate", "demo.add", "critical", pending=100.0),
        Episode("worker_offline", "w3", "critical", fired=120.0, resolved=125.0),
        Episode("worker_offline", "w9", "critical", fired=110.0, cluster="other"),
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

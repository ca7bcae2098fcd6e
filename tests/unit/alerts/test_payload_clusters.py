"""With a clusters file the webhook's link opens the alert's cluster (``cluster=<name>``, as
every deep link of the console names it: ``lib.frames.clusters.with_cluster``) and the payload
names the cluster; without one, links are as they were."""

from __future__ import annotations

import pytest

from lib.alerts.payload import alert_url, payload
from lib.alerts.states import Notification
from tests.unit.alerts.test_payload import PUBLIC, offline


@pytest.mark.parametrize(
    ("link", "cluster", "url"),
    [
        ("workers?worker=w1@host", "staging", f"{PUBLIC}/workers?cluster=staging&worker=w1@host"),
        ("/alerts", "batch-farm", f"{PUBLIC}/alerts?cluster=batch-farm"),
        (
            "tasks?cluster=staging&state=FAILURE",
            "staging",
            f"{PUBLIC}/tasks?cluster=staging&state=FAILURE",
        ),
        ("workers?worker=w1@host", None, f"{PUBLIC}/workers?worker=w1@host"),
    ],
    ids=["after-a-query", "no-query", "already-there", "one-cluster"],
)
def test_the_link_names_the_cluster_when_there_are_several(link, cluster, url):
    assert alert_url(PUBLIC + "/", link, cluster) == url


def test_the_payload_s_url_and_text_carry_the_cluster():
    body = payload(Notification(offline()), 3, "staging", PUBLIC, link_cluster=True)
    want = f"{PUBLIC}/workers?cluster=staging&worker=w1@host"
    assert body["cluster"] == "staging" and body["url"] == want
    assert body["text"].endswith(f"<{want}>")


def test_without_a_clusters_file_the_payload_is_as_before():
    body = payload(Notification(offline()), 3, "default", PUBLIC)
    assert body["cluster"] == "default" and "cluster=" not in body["url"] + body["text"]

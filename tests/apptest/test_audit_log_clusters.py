"""The Audit log page and clusters (issue 17): one log for every cluster, a cluster column, the
chosen cluster's rows by default and every cluster's at a toggle, downloads naming the cluster."""

from __future__ import annotations

import os
import time

from lib.audit import AuditLog
from tests.apptest.conftest import open_page, texts
from tests.apptest.downloads import downloads  # noqa: F401  (fixture)
from tests.apptest.test_audit_log_page import audit_path, insert


def claim(tmp_path, op: str, cluster: str, user: str) -> None:
    log = AuditLog(audit_path(tmp_path))
    row = log.claim(op, user, "operator", "revoke", ["t"], cluster=cluster).row_id
    log.record_outcome(row, "sent", "ok")


def test_one_cluster_shows_every_row_with_its_cluster_and_no_toggle(recorded_flower, tmp_path):
    insert(audit_path(tmp_path), [("op-old", time.time() - 60, "ann", "revoke")])  # no cluster
    at = open_page("Audit log")
    assert not at.exception
    table = at.dataframe[0].value
    assert table[["op_id", "cluster"]].values.tolist() == [["op-old", "default"]]
    assert not at.toggle, "one cluster: nothing to choose"


def test_the_chosen_cluster_by_default_and_all_clusters_at_a_toggle(
    recorded_flower,
    tmp_path,
    monkeypatch,
    downloads,  # noqa: F811
):
    clusters = tmp_path / "clusters.toml"
    url = os.environ["FLOWER_URL"]
    clusters.write_text(
        f'[clusters.default]\nflower_url = "{url}"\n[clusters.staging]\nflower_url = "{url}"\n'
    )
    monkeypatch.setenv("OPS_CLUSTERS_FILE", str(clusters))
    claim(tmp_path, "op-here", "default", "ann")
    claim(tmp_path, "op-there", "staging", "sam")
    at = open_page("Audit log")
    assert not at.exception
    assert at.dataframe[0].value[["op_id", "cluster"]].values.tolist() == [["op-here", "default"]]
    assert "1 entry. On default only." in texts(at)
    assert at.multiselect(key="audit_users").options == ["ann"], "choices of this cluster"

    at.toggle(key="audit_all_clusters").set_value(True).run()
    table = at.dataframe[0].value
    assert dict(zip(table["op_id"], table["cluster"], strict=True)) == {
        "op-here": "default",
        "op-there": "staging",
    }
    assert "2 entries." in texts(at) and "On default only" not in texts(at)
    assert at.multiselect(key="audit_users").options == ["ann", "sam"]
    label = at.selectbox(key="audit_pick").options
    assert any("staging · sam · revoke" in option for option in label)
    # The downloads hold what the table holds, the cluster of each row with it.
    by_csv = {r["op_id"]: r["cluster"] for r in downloads.csv_rows("audit-log")}
    by_json = {r["op_id"]: r["cluster"] for r in downloads.json_rows("audit-log")}
    assert by_csv == by_json == {"op-here": "default", "op-there": "staging"}


def test_the_page_of_another_cluster_shows_that_clusters_rows(
    recorded_flower, tmp_path, monkeypatch
):
    clusters = tmp_path / "clusters.toml"
    url = os.environ["FLOWER_URL"]
    clusters.write_text(
        f'[clusters.production]\nflower_url = "{url}"\ntitle = "Production"\n'
        f'[clusters.staging]\nflower_url = "{url}"\ntitle = "Staging"\n'
    )
    monkeypatch.setenv("OPS_CLUSTERS_FILE", str(clusters))
    claim(tmp_path, "op-prod", "production", "ann")
    claim(tmp_path, "op-staging", "staging", "sam")
    at = open_page("Audit log", query={"cluster": "staging"})
    assert not at.exception
    assert at.dataframe[0].value["op_id"].tolist() == ["op-staging"]
    assert "1 entry. On Staging only." in texts(at)

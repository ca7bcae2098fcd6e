"""Several clusters on the pages (issue 17): the sidebar's switcher, ``?cluster=`` scoping every
page to one cluster's own store, an unknown name said in plain words, deep links that carry the
cluster, the All clusters page's rows, the role on the chosen cluster deciding the buttons —
and a console without a clusters file exactly as before (no switcher, no ``cluster=``).

Two clusters, ``a`` (Alpha) and ``b`` (Beta), whose Flowers are closed ports; the console
runs no collector (``OPS_COLLECTOR=external``): each cluster's store is seeded as its
collector would have left it — tasks of its own name, a worker and a queue sample, an alert
firing, its kept health (b's Flower has not answered for a minute) — so what a page shows says
which cluster's store it read.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from lib.auth import Actor, hash_password
from lib.clusters import ClusterBook, load_clusters
from lib.settings import load_settings
from lib.store import Store
from tests import factories
from tests.alert_rows import Episode, seed
from tests.apptest.conftest import APP, PAGES, open_page, plain, texts

ALL_CLUSTERS = "screens/all_clusters.py"


@dataclass(frozen=True)
class Seeded:
    """What one cluster's collector left in its store."""

    title: str
    task: str  # every task's name
    worker: str  # its one worker, online; the alert fires on it
    succeeded: int
    failed: int
    waiting: int  # messages in its one queue
    flower_down: bool = False


CLUSTERS = {
    "a": Seeded("Alpha", "alpha.only", "alpha-w1@host", succeeded=3, failed=1, waiting=7),
    "b": Seeded("Beta", "beta.only", "beta-w1@host", 2, 2, 12, flower_down=True),
}


def clusters_file(path: Path, port: int, names=tuple(CLUSTERS)) -> Path:
    path.write_text(
        "".join(
            f'[clusters.{name}]\ntitle = "{CLUSTERS[name].title}"\n'
            f'flower_url = "http://127.0.0.1:{port}"\nflower_timeout = 0.5\n'
            'broker_url = "redis://127.0.0.1:1/0"\n\n'
            for name in names
        )
    )
    return path


def seed_cluster(url: str, name: str, now: float) -> None:
    """``name``'s store as its collector would have left it (``CLUSTERS``), polled just now."""
    it = CLUSTERS[name]
    store = Store(url)
    states = ["SUCCESS"] * it.succeeded + ["FAILURE"] * it.failed
    store.upsert_tasks(
        [
            factories.task_payload(
                f"{name}-{i}", s, at=now - 60 - i, name=it.task, worker=it.worker
            )
            for i, s in enumerate(states)
        ],
        now,
    )
    polled = now - 60 if it.flower_down else now  # the last poll that read Flower
    workers = pd.DataFrame({"worker": [it.worker], "online": [True], "active": [1]})
    queues = pd.DataFrame({"queue": [f"{name}-q"], "messages": [it.waiting], "consumers": [1]})
    store.record_samples(queues, workers, polled)
    seed(store, Episode("worker_offline", it.worker, "critical", fired=now - 300, cluster=name))
    health = {"polls": 9, "last_attempt": now, "last_success": polled, "data_until": polled}
    if it.flower_down:
        health |= {
            "last_error": "Flower did not answer.",
            "source": "Flower",
            "no_answer": True,
            "failing_since": polled,
        }
    store.keep(f"collector/{name}", {"latest": health}, now)
    store.close()


def seeded_book(names=tuple(CLUSTERS)) -> ClusterBook:
    book = load_clusters(load_settings(os.environ, {}), os.environ)
    now = time.time()
    for cluster in book.clusters:
        seed_cluster(cluster.cluster_store_url, cluster.cluster, now)
    return book


@pytest.fixture
def console_env(monkeypatch):
    monkeypatch.setenv("OPS_AUTH", "off")
    monkeypatch.setenv("OPS_POLL_SECONDS", "1")
    monkeypatch.setenv("OPS_COLLECTOR", "external")


@pytest.fixture
def seeded_clusters(console_env, monkeypatch, tmp_path, closed_port) -> ClusterBook:
    monkeypatch.setenv(
        "OPS_CLUSTERS_FILE", str(clusters_file(tmp_path / "clusters.toml", closed_port))
    )
    return seeded_book()


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def table_with(at, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def links(at) -> list[tuple[str, str]]:
    """Every page link on the screen (sidebar included): its page and query string."""
    return [(el.proto.page, el.proto.query_string) for el in at.get("page_link")] + [
        (el.proto.page, el.proto.query_string) for el in at.sidebar.get("page_link")
    ]


def test_several_clusters_have_a_switcher_and_each_page_says_which(seeded_clusters):
    at = ok(open_page("Overview"))
    switcher = at.sidebar.selectbox(key="cluster_switch")
    assert switcher.options == ["Alpha", "Beta"] and switcher.value == "a"
    assert "Cluster: Alpha" in texts(at)
    assert at.query_params["cluster"] == "a"  # written back: a copied address keeps it


def test_a_cluster_param_scopes_every_page_to_that_clusters_store(seeded_clusters):
    tasks = ok(open_page("Tasks", query={"cluster": "b"}))
    assert "Cluster: Beta" in texts(tasks)
    assert set(table_with(tasks, "uuid")["name"]) == {"beta.only"}
    workers = ok(open_page("Workers", query={"cluster": "b"}))
    assert table_with(workers, "status")["worker"].tolist() == ["beta-w1@host"]
    alerts = ok(open_page("Alerts", query={"cluster": "b"}))
    assert table_with(alerts, "acknowledged")["subject"].tolist() == ["beta-w1@host"]
    errors = ok(open_page("Errors", query={"cluster": "a"}))
    assert {m.label: m.value for m in errors.metric}["Failures"] == "1"


def test_the_choice_stays_across_pages_and_the_switcher_changes_it(seeded_clusters):
    at = ok(open_page("Tasks", query={"cluster": "b"}))
    del at.query_params["cluster"]  # a sidebar page switch drops the address's parameters
    ok(at.switch_page(PAGES["Workers"]).run())
    assert "Cluster: Beta" in texts(at) and at.query_params["cluster"] == "b"
    ok(at.switch_page(PAGES["Tasks"]).run())
    assert set(table_with(at, "uuid")["name"]) == {"beta.only"}
    ok(at.sidebar.selectbox(key="cluster_switch").select("a").run())
    assert at.query_params["cluster"] == "a" and "Cluster: Alpha" in texts(at)
    # The Tasks page keeps its rows while its filters stay; a new cluster is new rows.
    assert set(table_with(at, "uuid")["name"]) == {"alpha.only"}


def test_an_unknown_cluster_is_said_and_the_first_is_shown(seeded_clusters):
    at = ok(open_page("Overview", query={"cluster": "nope"}))
    assert "There is no cluster named 'nope': the clusters are a, b. Showing Alpha." in texts(at)
    assert at.query_params["cluster"] == "a"  # the address now says what is shown
    ok(at.switch_page(PAGES["Tasks"]).run())
    assert set(table_with(at, "uuid")["name"]) == {"alpha.only"}


def test_every_link_carries_the_cluster(seeded_clusters):
    overview = ok(open_page("Overview", query={"cluster": "b"}))
    found = links(overview)
    assert ("workers", "worker=beta-w1%40host&cluster=b") in found  # the firing strip
    assert ("alerts", "cluster=b") in found  # "🔔 1 firing", in the sidebar
    assert all("cluster=b" in query for _, query in found), found
    alerts = ok(open_page("Alerts", query={"cluster": "b"}))
    assert table_with(alerts, "acknowledged")["link"].tolist() == [
        "workers?cluster=b&worker=beta-w1@host"
    ]
    errors = ok(open_page("Errors", query={"cluster": "b"}))
    assert table_with(errors, "sample_task")["sample_task"].tolist() == ["tasks?cluster=b&task=b-2"]
    errors.session_state["error_groups"] = {"selection": {"rows": [0], "columns": []}}
    ok(errors.run())
    ok(next(b for b in errors.button if b.label == "Open the newest one").click().run())
    assert dict(errors.query_params) == {"task": "b-2", "cluster": "b"}
    assert "Task b-2" in texts(errors)


def test_all_clusters_lists_each_cluster_with_its_own_figures(seeded_clusters):
    at = ok(open_page("Overview", query={"cluster": "b"}))
    ok(at.switch_page(ALL_CLUSTERS).run())
    assert "Cluster: " not in texts(at)  # it shows every cluster, not the chosen one
    rows = table_with(at, "open").set_index("name")
    assert rows.loc["a"].drop(["problem", "data_age"]).to_dict() == {
        "cluster": "Alpha",
        "workers_online": "1 of 1",
        "tasks_per_min": "0.1",  # 4 finished over the hour
        "failure_rate_1h": "25.0%",
        "backlog": "7",
        "firing": "1",
        "open": "./?cluster=a",  # its Overview: the default page, at the root
    }
    assert rows.loc["a", "problem"] == "" and rows.loc["a", "data_age"].endswith("s ago")
    assert rows.loc["b", ["failure_rate_1h", "backlog", "open"]].tolist() == [
        "50.0%",
        "12",
        "./?cluster=b",
    ]
    assert rows.loc["b", "problem"].startswith("Flower has not answered for 1 min")
    assert rows.loc["b", "data_age"] == "1 min ago, stale"
    assert {b.label for b in at.get("download_button")} == {"Download CSV", "Download JSON"}


def test_a_cluster_whose_store_fails_keeps_its_row(seeded_clusters):
    at = ok(open_page("Overview"))
    ok(at.switch_page(ALL_CLUSTERS).run())
    broken = Path(seeded_clusters.get("b").cluster_store_url.removeprefix("sqlite:///"))
    broken.write_bytes(b"not a database" * 512)

    def problem(at) -> str:
        return table_with(at, "open").set_index("name").loc["b", "problem"]

    ok(at.run())
    rows = table_with(at, "open").set_index("name")
    assert problem(at).startswith("Its history store can't be read: "), problem(at)
    assert rows.loc["a", "problem"] == "" and rows.loc["a", "backlog"] == "7"
    assert rows.loc["b", "cluster"] == "Beta"


def test_a_cluster_whose_store_cannot_be_opened_keeps_its_row(
    console_env, monkeypatch, tmp_path, closed_port
):
    monkeypatch.setenv(
        "OPS_CLUSTERS_FILE", str(clusters_file(tmp_path / "clusters.toml", closed_port))
    )
    book = load_clusters(load_settings(os.environ, {}), os.environ)
    seed_cluster(book.get("a").cluster_store_url, "a", time.time())
    Path(book.get("b").cluster_store_url.removeprefix("sqlite:///")).mkdir(parents=True)
    at = ok(open_page("Overview"))
    ok(at.switch_page(ALL_CLUSTERS).run())
    rows = table_with(at, "open").set_index("name")
    assert rows.loc["b", "problem"].startswith(
        "Its history store can't be opened: this server keeps its history in a temporary store."
    )
    assert rows.loc["b", "data_age"] == "no data yet" and rows.loc["a", "problem"] == ""


def test_all_clusters_before_any_data_says_why(console_env, monkeypatch, tmp_path, closed_port):
    path = clusters_file(tmp_path / "clusters.toml", closed_port)
    monkeypatch.setenv("OPS_CLUSTERS_FILE", str(path))
    at = ok(open_page("Overview"))
    ok(at.switch_page(ALL_CLUSTERS).run())
    assert "No cluster has data yet" in texts(at)
    rows = table_with(at, "open")
    assert rows["data_age"].tolist() == ["no data yet"] * 2
    assert rows["workers_online"].tolist() == ["—"] * 2
    assert rows["problem"].str.startswith("The collector has not polled Flower yet").all()


def test_the_buttons_follow_the_role_on_the_chosen_cluster(seeded_clusters, monkeypatch, tmp_path):
    """Viewer everywhere but an operator of b (the users file's role table): Revoke shows on
    b's tasks, not on a's; the sidebar says the role here."""
    users = tmp_path / "users.toml"
    users.write_text(
        f'[users.olga]\npassword_hash = "{hash_password("pw")}"\n'
        'role = { default = "viewer", b = "operator" }\n'
    )
    monkeypatch.setenv("OPS_USERS_FILE", str(users))
    monkeypatch.setenv("OPS_AUTH", "on")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["cluster"] = "b"
    at.session_state["actor"] = Actor("olga", "viewer")  # signed in; roles from the file
    ok(at.run())
    sidebar = plain(" ".join(c.value for c in at.sidebar.caption))
    assert "Signed in as olga (operator)" in sidebar
    ok(at.switch_page(PAGES["Tasks"]).run())
    assert "Revoke" in {b.label for b in at.button}
    ok(at.sidebar.selectbox(key="cluster_switch").select("a").run())
    assert "Revoke" not in {b.label for b in at.button}
    assert "Signed in as olga (viewer)" in plain(" ".join(c.value for c in at.sidebar.caption))


def test_one_cluster_in_a_file_has_no_switcher_but_its_links_name_it(
    console_env, monkeypatch, tmp_path, closed_port
):
    path = clusters_file(tmp_path / "clusters.toml", closed_port, names=("b",))
    monkeypatch.setenv("OPS_CLUSTERS_FILE", str(path))
    seeded_book()
    at = ok(open_page("Overview"))
    assert not at.sidebar.selectbox and "Cluster: " not in texts(at)
    assert at.query_params["cluster"] == "b"
    assert ("alerts", "cluster=b") in links(at)
    with pytest.raises(ValueError):
        at.switch_page(ALL_CLUSTERS).run()  # not in the navigation with one cluster


def test_without_a_clusters_file_nothing_changes(recorded_flower):
    at = ok(open_page("Overview"))
    assert not at.sidebar.selectbox and "cluster" not in at.query_params
    assert "Cluster: " not in texts(at)
    assert all("cluster" not in query for _, query in links(at))
    with pytest.raises(ValueError):
        at.switch_page(ALL_CLUSTERS).run()
    # The link columns' plain "tasks?task=<id>": test_analytics_pages (Errors), test_alerts_page.


def test_the_clusters_files_notice_is_on_every_page(seeded_clusters, monkeypatch):
    monkeypatch.setenv("FLOWER_URL", "http://127.0.0.1:5555")
    for page in ("Overview", "Tasks"):
        said = texts(ok(open_page(page)))
        assert "OPS_CLUSTERS_FILE is set, so FLOWER_URL is not used" in said


def test_setup_check_says_the_clusters_file_then_checks_the_chosen_cluster(seeded_clusters):
    at = ok(open_page("Setup check", query={"cluster": "b"}))
    lines = [plain(m.value) for m in at.markdown if "-badge[" in m.value]
    assert lines[0].startswith(":green-badge[PASS] **Clusters file**: ")
    assert lines[0].endswith("names 2 clusters: a, b.")
    assert "Cluster: Beta" in texts(at)
    assert any(line.startswith(":red-badge[FAIL] **Flower reachable**") for line in lines[1:])


def test_setup_check_without_a_clusters_file_has_no_such_line(recorded_flower):
    at = ok(open_page("Setup check"))
    assert not any("Clusters file" in m.value for m in at.markdown)

"""Two real clusters in one console (issue 17): each cluster's actions, collector, alerts and
history stay its own.

The session's ``two_clusters`` (tests/two_clusters.py) runs ``alpha`` and ``beta`` (redis, one
worker, Flower each) behind request-logging proxies and names them in a clusters file; the
console is built from that file as the app builds it (``load_settings`` → ``load_clusters`` →
one ``Console``, collector and store namespace per cluster). What reached each Flower is read
from its proxy's log; what reached each worker from its own ``inspect revoked``.

Tests that stop a worker or hang a Flower put it back before they end (the clusters are the
session's).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lib.audit import AuditLog
from lib.auth import Actor, hash_password, load_users
from lib.clusters import ClusterBook, load_clusters
from lib.collector import Collector
from lib.collector.every_cluster import open_collectors
from lib.collector.health import health_sentence
from lib.monitor import ClusterMonitor
from lib.settings import load_settings
from lib.store import Store
from lib.ui.wiring import Console, build_console
from tests.live import flower_tasks, producer_app, send, wait_final, wait_until
from tests.two_clusters import Member, TwoClusters

#: A queue no worker consumes: a task sent there waits (PENDING) until it is revoked.
PARKED = "parked"
OPERATOR = Actor("olga", "operator")
PASSWORD = "correct horse battery staple"
#: Only the rule this module needs, with a one-second ``for``.
RULES = """replace_defaults = true
[rules.worker_offline]
kind = "worker_offline"
severity = "critical"
for = "1s"
"""


# -- the console as the app builds it ------------------------------------------------------------


def book_of(two_clusters: TwoClusters, tmp_path, **more: str) -> ClusterBook:
    """The clusters of a console whose data directory is ``tmp_path`` (``more``: variables)."""
    environ = two_clusters.environ(OPS_DATA_DIR=str(tmp_path / "data"), **more)
    return load_clusters(load_settings(environ, {}), environ, {})


def consoles_of(book: ClusterBook) -> dict[str, Console]:
    """One ``Console`` per cluster (``OPS_COLLECTOR=external``: no collector thread here)."""
    return {c.cluster: build_console(c) for c in book.clusters}


@contextmanager
def collecting(two_clusters: TwoClusters, book: ClusterBook) -> Iterator[dict[str, Collector]]:
    """One collector per cluster in this process, each on its own store namespace, as
    ``./ops collect`` opens them; at the end every proxy answers again (a hung request ends at
    once) and the collectors stop."""
    lines: list[str] = []
    running = {c.cluster: c for c in open_collectors(book, 60.0, lines.append)}
    assert set(running) == set(book.names), lines
    try:
        yield {name: collector.start() for name, collector in running.items()}
    finally:
        for member in two_clusters:
            member.proxy.answer()
        for collector in running.values():
            assert collector.stop(), f"the {collector.cluster} collector did not stop"
            collector.store.close()


def op() -> str:
    return uuid.uuid4().hex


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def producers(two_clusters) -> Iterator[dict]:
    """A Celery app per cluster that sends tasks by name, as any client would."""
    apps = {m.name: producer_app(m.cluster) for m in two_clusters}
    yield apps
    for app in apps.values():
        app.close()


@pytest.fixture
def alpha_worker(two_clusters) -> Iterator[str]:
    """Alpha's worker; running again at the end whatever the test did to it."""
    member = two_clusters.alpha
    yield member.worker
    rows = member.cluster.flower_get("/workers", json=1).json().get("data", [])
    if not any(r.get("hostname") == member.worker and r.get("status") for r in rows):
        member.cluster.start_worker(member.worker)


def parked(member: Member, producers: dict) -> str:
    """A task waiting on ``member`` (no worker consumes its queue), once its Flower lists it."""
    task = send(producers[member.name], "demo.add", 1, 2, queue=PARKED)
    wait_until(lambda: task in flower_tasks(member.cluster), f"{member.name}'s Flower to list it")
    return task


def revoked_on(member: Member) -> set[str]:
    """The task ids ``member``'s worker holds as revoked (its own ``inspect revoked``; asked of
    its Flower directly, not through the proxy whose log the tests read)."""
    answer = member.cluster.flower_get("/api/workers", refresh=1, workername=member.worker)
    answer.raise_for_status()
    return set(answer.json()[member.worker].get("revoked") or [])


# -- a: an action on one cluster reaches that cluster only -----------------------------------


def test_a_revoke_on_alpha_reaches_alphas_flower_and_never_betas(two_clusters, producers, tmp_path):
    consoles = consoles_of(book_of(two_clusters, tmp_path, OPS_COLLECTOR="external"))
    alpha, beta = two_clusters.alpha, two_clusters.beta
    task = parked(alpha, producers)
    marks = {m.name: m.proxy.mark() for m in two_clusters}

    result = consoles["alpha"].desk.perform(OPERATOR, "revoke", [task], {}, op())

    assert result.outcome == "sent", result.message
    assert [p.split("?")[0] for p in alpha.proxy.posts(marks["alpha"])] == [
        f"/api/task/revoke/{task}"
    ]
    assert beta.proxy.requests(marks["beta"]) == [], "nothing of the action went to beta"
    wait_until(lambda: task in revoked_on(alpha), "alpha's worker to hold the task as revoked")
    assert task not in revoked_on(beta)
    (row,) = AuditLog(consoles["alpha"].settings.store_url).rows(actions=["revoke"])
    assert (row.cluster, row.user, row.targets, row.outcome) == ("alpha", "olga", [task], "sent")


# -- b: one cluster hung, the other goes on --------------------------------------------------


def test_a_hung_beta_never_slows_alpha_whose_alerts_and_readings_go_on(
    two_clusters, alpha_worker, tmp_path
):
    rules = tmp_path / "alerts.toml"
    rules.write_text(RULES, encoding="utf-8")
    book = book_of(two_clusters, tmp_path, OPS_ALERTS_FILE=str(rules))
    beta_proxy = two_clusters.beta.proxy
    with collecting(two_clusters, book) as running:
        alpha, beta = running["alpha"], running["beta"]
        assert alpha.wait_polled(0, 30) and beta.wait_polled(0, 30), "a first poll of each"
        assert beta.health.last_error is None, beta.health.last_error
        beta_proxy.hang()
        hanging = wait_until(beta_proxy.held, "beta's collector to wait on its hung Flower")
        versions = alpha.snapshot.version, beta.snapshot.version
        assert alpha.wait_polled(versions[0] + 1, 30), "alpha polls on"
        # beta's flower_timeout (6 s) is six of alpha's polls: the same request still waits.
        assert beta.snapshot.version == versions[1], "alpha polled twice within one beta poll"
        assert hanging & beta_proxy.held(), "beta's collector still waits on the same request"

        stopped_at = time.time()
        two_clusters.alpha.cluster.stop_worker(alpha_worker)
        wait_until(
            lambda: [a for a in alpha.store.firing_alerts("alpha") if a["subject"] == alpha_worker],
            "alpha's worker_offline to fire while beta hangs",
        )
        monitor = ClusterMonitor(book.get("alpha"), alpha.store, alpha)
        workers = monitor.workers()
        assert workers.error is None and workers.at >= stopped_at, "alpha's reading is fresh"
        shown = workers.value.set_index("worker")
        assert not shown.loc[alpha_worker, "online"]
        assert monitor.health_sentence().startswith("Collecting every 1 s"), monitor.health

        wait_until(lambda: beta.health.last_error, "beta's poll to give up on its Flower")
        said = health_sentence(beta.health, time.time())
        assert said.startswith("Flower has not answered for") and "(timeout 6 s)" in said
        assert beta.store.firing_alerts("beta") == [], "a silent Flower is no offline worker"
    assert beta.store is not alpha.store


# -- c: a role limited to one cluster, checked and audited per cluster -----------------------


def test_an_operator_of_alpha_is_a_viewer_of_beta_and_both_rows_say_so(
    two_clusters, producers, tmp_path
):
    users = tmp_path / "users.toml"
    users.write_text(
        f'[users.olga]\npassword_hash = "{hash_password(PASSWORD)}"\n'
        'role = { default = "viewer", alpha = "operator" }\n',
        encoding="utf-8",
    )
    book = book_of(two_clusters, tmp_path, OPS_COLLECTOR="external", OPS_USERS_FILE=str(users))
    consoles = consoles_of(book)
    olga = load_users(users).check("olga", PASSWORD)
    assert olga is not None
    assert (olga.role_in("alpha"), olga.role_in("beta")) == ("operator", "viewer")
    assert {n: c.desk.cluster for n, c in consoles.items()} == {"alpha": "alpha", "beta": "beta"}
    alpha, beta = two_clusters.alpha, two_clusters.beta
    tasks = {m.name: parked(m, producers) for m in two_clusters}
    marks = {m.name: m.proxy.mark() for m in two_clusters}

    sent = consoles["alpha"].desk.perform(olga, "revoke", [tasks["alpha"]], {}, op())
    refused = consoles["beta"].desk.perform(olga, "revoke", [tasks["beta"]], {}, op())

    assert sent.outcome == "sent", sent.message
    assert refused.outcome == "refused" and "viewer" in refused.message, refused.message
    assert alpha.proxy.posts(marks["alpha"]), "alpha's Flower got the revoke"
    assert beta.proxy.posts(marks["beta"]) == [], "beta's Flower saw no POST"
    rows = AuditLog(book.first.store_url).rows(users=["olga"], actions=["revoke"])
    assert sorted((r.cluster, r.role, r.outcome, r.targets) for r in rows) == [
        ("alpha", "operator", "sent", [tasks["alpha"]]),
        ("beta", "viewer", "refused", [tasks["beta"]]),
    ]
    wait_until(lambda: tasks["alpha"] in revoked_on(alpha), "alpha's worker to revoke it")
    assert tasks["beta"] not in revoked_on(beta)


# -- d: each cluster's history in its own namespace of the store ------------------------------


def test_each_clusters_history_lands_in_its_own_namespace(
    two_clusters, producers, tmp_path, any_store_url
):
    book = book_of(two_clusters, tmp_path, OPS_STORE_URL=any_store_url)
    done = {m.name: send(producers[m.name], "demo.add", 2, 3) for m in two_clusters}
    for member in two_clusters:
        wait_final(member.cluster, [done[member.name]])
    stores = {c.cluster: Store.from_settings(c) for c in book.clusters}
    try:
        for settings in book.clusters:
            report = Collector(settings, stores[settings.cluster], cluster=settings.cluster).poll()
            assert not report.problems, report.problems
        for name, store in stores.items():
            other = next(n for n in done if n != name)
            assert store.task(done[name])["state"] == "SUCCESS"
            assert store.task(done[other]) is None, f"{other}'s task is not in {name}'s history"
    finally:
        for store in stores.values():
            store.close()
    urls = {c.cluster: c.cluster_store_url for c in book.clusters}
    assert len({*urls.values(), any_store_url}) == 3, "two namespaces beside the shared store"
    if any_store_url.startswith("sqlite"):
        assert urls["alpha"].endswith("store.alpha.sqlite3"), urls
    else:
        assert "cluster_alpha" in urls["alpha"] and "cluster_beta" in urls["beta"], urls

"""Suite-wide hygiene: no test may leak environment variables or threads."""

from __future__ import annotations

import os
import threading

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_env():
    before = dict(os.environ)
    yield
    changed = set(os.environ.items()) ^ set(before.items())
    leaked = {k for k, _ in changed if k != "PYTEST_CURRENT_TEST"}
    for key in leaked:
        os.environ.pop(key, None)
    os.environ.update({k: v for k, v in before.items() if k in leaked})
    assert not leaked, f"test changed environment variables: {sorted(leaked)}"


@pytest.fixture(autouse=True)
def _no_leaked_threads(request):
    before = set(threading.enumerate())
    yield
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("browser"):
        return  # fixtures with session scope own long-lived threads there
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not leaked, f"test leaked threads: {leaked}"


# -- a real cluster for integration and live page tests --------------------------------------

LIVE = ("integration", "apptest_live")


def pytest_collection_modifyitems(items):
    for item in items:
        if any(part in item.nodeid for part in ("tests/integration/", "_live.py")):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """Redis + two Celery workers + Flower with basic auth, on free loopback ports."""
    from demo.cluster import Cluster

    with Cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="session")
def two_clusters(tmp_path_factory):
    """Two independent clusters (``alpha``, ``beta``: redis + one worker + Flower each) behind
    request-logging proxies, and a clusters file naming them (tests/two_clusters.py)."""
    from tests.two_clusters import TwoClusters

    with TwoClusters(tmp_path_factory.mktemp("two-clusters")) as running:
        yield running


@pytest.fixture(scope="session")
def producer(cluster):
    """A Celery app that sends tasks by name to the cluster, as any client would."""
    from tests.live import producer_app

    app = producer_app(cluster)
    yield app
    app.close()


@pytest.fixture
def live_env(cluster, monkeypatch, tmp_path):
    """The console's variables pointing at the live cluster (login off), with fresh caches,
    its own store, and its collector thread stopped at the end."""
    import streamlit as st

    from lib.ui.wiring import stop_collectors

    for key, value in cluster.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OPS_AUTH", "off")
    monkeypatch.setenv("OPS_POLL_SECONDS", "1")
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path / "ops-data"))
    st.cache_data.clear()
    st.cache_resource.clear()  # a monitor left by another test may point at another Flower
    yield cluster
    stop_collectors()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def _no_leaked_secrets():
    """Each test's configured secrets are scrubbed for that test only (lib.redact.SCRUBBER)."""
    yield
    from lib.redact import SCRUBBER

    SCRUBBER.forget()


# -- a real PostgreSQL for the store's tests ----------------------------------------------------


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "postgres: runs on a real PostgreSQL (the session's `postgres` fixture)"
    )
    config.addinivalue_line(
        "markers", "rabbitmq: runs on a real RabbitMQ node (the session's `rabbitmq` fixture)"
    )


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole session (Debian's binaries, as the postgres user)."""
    from tests.postgres import PostgresServer, find_postgres_bin

    yield from _throwaway(
        PostgresServer,
        find_postgres_bin(),
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres)",
        "postgresql",
    )


def _throwaway(service, found, missing: str, package: str):
    """The service started from what ``find_*`` ``found``, or the test skipped saying why."""
    if found is None:
        pytest.skip(f"{missing}; `./ops install --test` installs Debian's {package} package")
    with service(found) as server:
        yield server


@pytest.fixture
def postgres_url(postgres):
    """A new empty database on the session's server, as users write its URL; dropped after."""
    from lib.store.engine import close_engine

    url = postgres.database()
    yield url
    close_engine(url)
    postgres.drop(url)


#: The store URL fixtures' parameters: every store test runs on both databases.
STORE_DATABASES = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


@pytest.fixture(params=STORE_DATABASES)
def any_store_url(request, tmp_path) -> str:
    """A fresh, empty store's URL: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_url")


# -- a real RabbitMQ node for the broker's tests ------------------------------------------------


@pytest.fixture(scope="session")
def rabbitmq():
    """One RabbitMQ node for the whole session (Debian's server, its own ports and directory)."""
    from tests.rabbitmq import RabbitServer, find_rabbitmq_server

    yield from _throwaway(
        RabbitServer,
        find_rabbitmq_server(),
        "RabbitMQ is not installed (no /usr/lib/rabbitmq/bin/rabbitmq-server or no epmd)",
        "rabbitmq-server",
    )


@pytest.fixture(scope="session")
def rabbit_cluster(rabbitmq, tmp_path_factory):
    """Celery on the session's RabbitMQ node: one worker (``default``, ``etl``) and Flower;
    redis only for the result backend. One per session: a node and a worker are slow to start."""
    from demo.cluster import Cluster, WorkerSpec

    workers = (WorkerSpec("rw1@%h", ("default", "etl"), concurrency=2),)
    where = tmp_path_factory.mktemp("rabbit-cluster")
    with Cluster(where, broker_url=rabbitmq.url, workers=workers) as running:
        yield running

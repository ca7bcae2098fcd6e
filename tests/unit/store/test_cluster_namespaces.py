"""Each named cluster's history in its own part of one store (``Settings.cluster_store_url``):
on PostgreSQL a schema of the same database, created on first open, with its own write lock; on
SQLite a file beside OPS_STORE_URL's. The cluster named ``default`` keeps the store itself."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import inspect

from lib.errors import StoreError
from lib.frames import TaskFilter
from lib.settings import Settings
from lib.store import Store
from lib.store.engine import close_engine, reading, writing
from lib.store.text_index import PG_INDEXES
from tests.unit.store.histories import success_history

NOW = 1_800_000_000.0


def cluster_store(url: str, name: str, tmp_path) -> Store:
    namespace = None if name == "default" else name
    settings = Settings(store_url=url, data_dir=tmp_path, cluster=name, store_namespace=namespace)
    return Store.from_settings(settings)


def held(store: Store) -> set[str]:
    return set(store.tasks_window(0.0, NOW + 3600)["uuid"])


def write(store: Store, *uuids: str) -> None:
    for uuid in uuids:
        store.upsert_tasks(success_history(uuid, NOW - 60, 1.0), NOW)


def schemas(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
    return {name for (name,) in rows if name.startswith("cluster_")}


@pytest.fixture
def stores(tmp_path):
    """Opened stores, closed (their engines forgotten) at the end."""
    opened: list[Store] = []

    def open_one(url: str, name: str) -> Store:
        opened.append(cluster_store(url, name, tmp_path))
        return opened[-1]

    yield open_one
    for store in opened:
        close_engine(store.url)


@pytest.mark.postgres
def test_two_namespaces_in_one_database_keep_their_own_tasks(postgres_url, stores):
    staging, batch = stores(postgres_url, "staging"), stores(postgres_url, "batch-farm")
    default = stores(postgres_url, "default")
    write(staging, "s1", "s2")
    write(batch, "b1")
    write(default, "d1")
    assert (held(staging), held(batch), held(default)) == ({"s1", "s2"}, {"b1"}, {"d1"})
    assert schemas(postgres_url) == {"cluster_staging", "cluster_batch_farm"}


@pytest.mark.postgres
def test_the_schema_and_its_tables_are_made_on_first_open(postgres_url, stores):
    assert schemas(postgres_url) == set()
    staging = stores(postgres_url, "staging")
    assert schemas(postgres_url) == {"cluster_staging"}
    assert held(staging) == set(), "migrated: its tables are there, empty"
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'cluster_staging' AND table_name = 'tasks'"
        ).fetchone()[0]
    assert tables == 1


@pytest.mark.postgres
def test_a_namespace_has_a_write_lock_of_its_own(postgres_url, stores):
    staging, batch = stores(postgres_url, "staging"), stores(postgres_url, "batch")
    # The same namespace under a second URL: another engine, as another process would have.
    other_staging = stores(f"{postgres_url}?application_name=second", "staging")
    held(staging), held(batch)  # migrated before the lock is taken
    with writing(staging.engine):  # a long write in staging, held open
        with writing(batch.engine, timeout=2):  # batch does not wait for it
            pass
        with pytest.raises(StoreError), writing(other_staging.engine, timeout=0.2):
            pass  # another writer of staging does, and says so when its wait runs out


def test_on_sqlite_each_named_cluster_has_a_file_beside_the_store(tmp_path, stores):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    write(stores(url, "staging"), "s1")
    write(stores(url, "default"), "d1")
    assert (tmp_path / "store.staging.sqlite3").is_file()
    assert held(stores(url, "default")) == {"d1"}
    assert held(stores(url, "staging")) == {"s1"}


@pytest.mark.postgres
@pytest.mark.parametrize("first", ["staging", "default"])
def test_every_namespace_gets_the_text_search_index_whichever_opens_first(
    postgres_url, stores, first
):
    """pg_trgm is made once per database, in the schema of the store that opens first: the
    others name its operator class there (unqualified, a cluster's schema did not see it)."""
    others = ["batch", "default" if first == "staging" else "staging"]
    opened = {name: stores(postgres_url, name) for name in [first, *others]}
    for name, store in opened.items():
        write(store, f"{name}-1")
        with reading(store.engine) as conn:
            indexes = {i["name"] for i in inspect(conn).get_indexes("tasks")}
        assert set(PG_INDEXES) <= indexes, name
        page = store.tasks_page(TaskFilter(text=f"{name}-1"), 10)
        assert list(page.rows["uuid"]) == [f"{name}-1"], name

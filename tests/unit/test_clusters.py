"""OPS_CLUSTERS_FILE: one Settings per cluster, secrets from the environment, plain problems."""

from pathlib import Path

import pytest

from lib.clusters import DEFAULT_CLUSTER, load_clusters
from lib.errors import SettingsError
from lib.settings import load_settings, namespaced_store_url

TWO = """
[clusters.production]
title = "Production"
flower_url = "https://flower.prod:5555/flower/"
flower_basic_auth = "env:PROD_AUTH"
broker_url = "env:PROD_BROKER"
flower_timeout = 4

[clusters.staging]
flower_url = "http://ops:st4ge@flower.staging:5555"
result_backend = "redis://results.staging:6379/1"
rabbitmq_management_url = "http://guest:guest@rabbit.staging:15672"
"""
ENV = {"PROD_AUTH": "admin:pr0d-pass", "PROD_BROKER": "redis://:br0ker@redis.prod:6379/0"}


def book_of(tmp_path: Path, text: str, environ: dict | None = None, secrets: dict | None = None):
    path = tmp_path / "clusters.toml"
    path.write_text(text)
    environ = {"OPS_CLUSTERS_FILE": str(path), "OPS_DATA_DIR": str(tmp_path), **(environ or {})}
    return load_clusters(load_settings(environ, secrets), environ, secrets)


def test_without_the_file_one_cluster_named_default_from_the_variables(tmp_path):
    settings = load_settings({"FLOWER_URL": "http://flower:5555", "OPS_DATA_DIR": str(tmp_path)})
    book = load_clusters(settings, {})
    assert book.names == (DEFAULT_CLUSTER,) and not book.several and book.notice is None
    only = book.first
    assert only.flower_url == "http://flower:5555"
    assert only.cluster_store_url == settings.store_url  # the history stays where it was


def test_each_table_is_a_cluster_in_the_files_order(tmp_path):
    book = book_of(tmp_path, TWO, ENV)
    assert book.names == ("production", "staging") and book.several
    prod, staging = book.clusters
    assert prod.cluster_label == "Production" and staging.cluster_label == "staging"
    assert prod.flower_url == "https://flower.prod:5555/flower"
    assert prod.flower_auth == ("admin", "pr0d-pass")
    assert prod.broker_url == "redis://:br0ker@redis.prod:6379/0"
    assert prod.flower_timeout == 4 and staging.flower_timeout == 10  # FLOWER_TIMEOUT's default
    assert (
        staging.flower_auth == ("ops", "st4ge")
        and staging.flower_url == "http://flower.staging:5555"
    )
    assert staging.broker_url is None and prod.result_backend is None
    assert book.get("staging") is staging and book.get("nope") is None


def test_env_values_may_come_from_the_secrets_file(tmp_path):
    book = book_of(tmp_path, TWO, {"PROD_BROKER": ENV["PROD_BROKER"]}, {"PROD_AUTH": "a:from-file"})
    assert book.first.flower_auth == ("a", "from-file")


def test_every_secret_of_every_cluster_is_known_for_scrubbing(tmp_path):
    book = book_of(tmp_path, TWO, ENV)
    assert {"pr0d-pass", "br0ker", "st4ge", "guest"} <= set(book.secrets)


def test_each_named_cluster_keeps_its_history_apart_and_default_keeps_the_store(tmp_path):
    text = TWO + '\n[clusters.default]\nflower_url = "http://flower:5555"\n'
    book = book_of(tmp_path, text, ENV)
    urls = [c.cluster_store_url for c in book.clusters]
    assert urls == [
        f"sqlite:///{tmp_path}/store.production.sqlite3",
        f"sqlite:///{tmp_path}/store.staging.sqlite3",
        f"sqlite:///{tmp_path}/store.sqlite3",
    ]
    assert all(c.store_url == f"sqlite:///{tmp_path}/store.sqlite3" for c in book.clusters)


def test_a_postgresql_store_gives_each_cluster_a_schema():
    url = "postgresql://ops:pw@db/ops?connect_timeout=3"
    named = namespaced_store_url(url, "prod-eu")
    assert named.startswith("postgresql://ops:pw@db/ops?")
    assert "connect_timeout=3" in named and "options=-csearch_path%3Dcluster_prod_eu" in named
    assert namespaced_store_url(url, None) == url


def test_the_file_wins_over_the_single_cluster_variables_and_says_so(tmp_path):
    book = book_of(tmp_path, TWO, {**ENV, "FLOWER_URL": "http://old:5555"})
    assert book.first.flower_url == "https://flower.prod:5555/flower"
    assert "FLOWER_URL is not used" in book.notice


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[clusters.Prod]\nflower_url = "http://a:1"', "[clusters.Prod]: a name is lower-case"),
        ("[clusters.a]\ntitle = 'A'", "[clusters.a]: flower_url is required"),
        ('[clusters.a]\nflower_url = "ftp://a"', "[clusters.a] flower_url: 'ftp://a' is not"),
        ('[clusters.a]\nflower_url = "http://a:1"\ncolour = 1', "unknown key 'colour'"),
        ('[clusters.a]\nflower_url = "http://a:1"\nflower_timeout = 0', "flower_timeout"),
        ('[clusters.a]\nflower_url = "http://a:1"\nbroker_url = "env:NOPE"', "env:NOPE is set"),
        ("title = 'no clusters'", "it names no cluster"),
        ("[clusters", "is not valid TOML"),
    ],
)
def test_each_problem_is_said_naming_the_cluster_and_key(tmp_path, text, said):
    with pytest.raises(SettingsError) as caught:
        book_of(tmp_path, text)
    assert said in str(caught.value)


def test_a_problem_never_shows_a_secret_the_file_or_environment_held(tmp_path):
    text = '[clusters.a]\nflower_url = "http://u:hunter2@a:1"\nflower_basic_auth = "env:AUTH"\n'
    text += 'broker_url = "env:BROKER"\nflower_timeout = "soon"\n'
    environ = {"AUTH": "justuser-no-colon-s3cret", "BROKER": "not a url :pw"}
    with pytest.raises(SettingsError) as caught:
        book_of(tmp_path, text, environ)
    message = str(caught.value)
    assert "flower_basic_auth" in message and "broker_url" in message
    for secret in ("hunter2", "justuser-no-colon-s3cret", "not a url :pw"):
        assert secret not in message


def test_a_missing_file_is_said(tmp_path):
    environ = {"OPS_CLUSTERS_FILE": str(tmp_path / "nope.toml")}
    with pytest.raises(SettingsError, match=r"nope\.toml does not exist"):
        load_clusters(load_settings(environ), environ)

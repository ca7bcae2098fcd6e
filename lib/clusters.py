"""Several clusters in one console: ``OPS_CLUSTERS_FILE`` read into one ``Settings`` each.

The file has one ``[clusters.<name>]`` table per cluster::

    [clusters.production]
    title = "Production"
    flower_url = "https://flower.internal"
    flower_basic_auth = "env:PROD_FLOWER_AUTH"      # read from the environment or secrets.toml
    broker_url = "env:PROD_BROKER_URL"
    result_backend = "redis://results.internal:6379/1"
    flower_timeout = 5
    rabbitmq_management_url = "env:PROD_RABBITMQ_API"

Without the file the console watches one cluster named ``default`` from the single-cluster
variables. With it, the file wins (``ClusterBook.notice`` says so when those variables are set
too). Each cluster's ``Settings`` is the console-wide one with the cluster's connection fields
replaced, its ``cluster`` name set and, but for a cluster named ``default`` (whose history stays
where a single-cluster console kept it), a store namespace of its own.

Invariants: names are lower-case ``[a-z0-9_-]`` (they go in URLs, file names and schema names);
any value may be written ``"env:NAME"``; a problem is one ``SettingsError`` naming the file, the
cluster and the key, never the value of a secret; the book keeps the file's order.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lib.errors import SettingsError
from lib.redact import scrub, url_password
from lib.settings import (
    Settings,
    configured,
    parse_basic_auth,
    parse_flower_url,
    parse_service_url,
    positive_seconds,
)

__all__ = ["DEFAULT_CLUSTER", "ClusterBook", "load_clusters"]

#: The one cluster of a console without OPS_CLUSTERS_FILE.
DEFAULT_CLUSTER = "default"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: A value read from the environment (else ``.streamlit/secrets.toml``) rather than the file.
FROM_ENV = "env:"
#: The single-cluster variables the file replaces (FLOWER_TIMEOUT stays every cluster's default).
REPLACED = (
    "FLOWER_URL",
    "FLOWER_BASIC_AUTH",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "RABBITMQ_MANAGEMENT_URL",
)
KEYS = (
    "title",
    "flower_url",
    "flower_basic_auth",
    "broker_url",
    "result_backend",
    "flower_timeout",
    "rabbitmq_management_url",
)


@dataclass(frozen=True)
class ClusterBook:
    """The clusters the console watches, in the file's order (the first opens by default)."""

    clusters: tuple[Settings, ...]
    #: Said on every page when the single-cluster variables are set beside the file.
    notice: str | None = None

    @property
    def several(self) -> bool:
        return len(self.clusters) > 1

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.cluster for c in self.clusters)

    @property
    def first(self) -> Settings:
        return self.clusters[0]

    def get(self, name: str | None) -> Settings | None:
        """The cluster called ``name``, or None when there is none of that name."""
        return next((c for c in self.clusters if c.cluster == name), None)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every cluster's secrets, for scrubbing text any page shows."""
        return tuple(dict.fromkeys(s for c in self.clusters for s in c.secrets))


def load_clusters(
    settings: Settings, environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None
) -> ClusterBook:
    """The clusters ``settings`` (OPS_CLUSTERS_FILE) names; one ``default`` without the file."""
    path = settings.clusters_file
    if path is None:
        return ClusterBook((replace(settings, cluster=DEFAULT_CLUSTER),))
    secrets = secrets or {}
    tables = _tables(Path(path))
    problems: list[str] = []
    found: list[str] = []
    clusters = []
    for name, table in tables.items():
        where = f"[clusters.{name}]"
        if not NAME.match(name):
            problems.append(f"{where}: a name is lower-case letters, digits, - or _ (≤ 40)")
            continue
        if not isinstance(table, dict):
            problems.append(f"{where} is not a table")
            continue
        values = _values(where, table, environ, secrets, problems, found)
        clusters.append(_cluster(settings, name, values, where, problems))
    if not tables and not problems:
        problems.append("it names no cluster: add a [clusters.<name>] table")
    if problems:
        text = f"OPS_CLUSTERS_FILE ({path}) has a problem — " + "; ".join(problems) + "."
        raise SettingsError(scrub(text, [*found, *settings.secrets]))
    return ClusterBook(tuple(clusters), _notice(environ, secrets))


def _tables(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"OPS_CLUSTERS_FILE: {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"OPS_CLUSTERS_FILE: {path} cannot be read ({exc}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"OPS_CLUSTERS_FILE: {path} is not valid TOML ({exc}).") from None
    clusters = data.get("clusters", {})
    if not isinstance(clusters, dict):
        raise SettingsError(f"OPS_CLUSTERS_FILE: {path}: `clusters` must be tables.")
    return clusters


def _values(
    where: str,
    table: dict[str, Any],
    environ: Mapping[str, str],
    secrets: Mapping[str, Any],
    problems: list[str],
    found: list[str],
) -> dict[str, str]:
    """The table's values as text, ``env:NAME`` ones read; unknown keys are problems."""
    values = {}
    for key, value in table.items():
        if key not in KEYS:
            problems.append(f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})")
            continue
        text = str(value).strip()
        if text.startswith(FROM_ENV):
            variable = text.removeprefix(FROM_ENV).strip()
            text = configured(variable, environ, secrets)
            if not text:
                problems.append(f"{where} {key}: {FROM_ENV}{variable} is set nowhere")
                continue
            found.append(text)  # kept out of the file: a secret as a whole
        found.append(url_password(text) or "")
        if key == "flower_basic_auth":  # without the colon the whole value may be the password
            user, sep, password = text.partition(":")
            found.append(password if sep else user)
        values[key] = text
    return values


def _cluster(
    settings: Settings, name: str, values: dict[str, str], where: str, problems: list[str]
) -> Settings:
    def take(key: str, parse, default):
        if key not in values:
            return default
        try:
            return parse(values[key])
        except ValueError as exc:
            problems.append(f"{where} {key}: {exc}")
            return default

    if "flower_url" not in values:
        problems.append(f"{where}: flower_url is required")
    url, url_auth = take("flower_url", parse_flower_url, (settings.flower_url, None))
    return replace(
        settings,
        cluster=name,
        cluster_title=values.get("title") or None,
        flower_url=url,
        flower_auth=take("flower_basic_auth", parse_basic_auth, None) or url_auth,
        flower_timeout=take("flower_timeout", positive_seconds(0.1), settings.flower_timeout),
        broker_url=take("broker_url", parse_service_url, None),
        result_backend=take("result_backend", parse_service_url, None),
        rabbitmq_management_url=take("rabbitmq_management_url", parse_service_url, None),
        store_namespace=None if name == DEFAULT_CLUSTER else name,
    )


def _notice(environ: Mapping[str, str], secrets: Mapping[str, Any]) -> str | None:
    both = [n for n in REPLACED if configured(n, environ, secrets)]
    if not both:
        return None
    return (
        f"OPS_CLUSTERS_FILE is set, so {', '.join(both)} {'is' if len(both) == 1 else 'are'} "
        "not used: the clusters file names every cluster."
    )

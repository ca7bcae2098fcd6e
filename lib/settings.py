"""The console's configuration: one frozen ``Settings`` read once from the environment.

The variables are a contract other tools rely on (shared/contract.md, the README's table):
``FLOWER_URL`` and ``FLOWER_BASIC_AUTH`` read together, and one declaration per other variable
in ``SIMPLE`` (its name, the ``Settings`` field it sets, how its text is read, its default).
Each may also come from ``.streamlit/secrets.toml`` (top-level keys of the same name); the
environment wins.

Invariants: nothing else in the console reads ``os.environ``; a bad value never yields a
half-built ``Settings`` but one ``SettingsError`` naming every variable that is wrong; credentials
never reach a string meant for the screen: ``lib.redact.redact_url`` drops them from a URL, with or without a
scheme, and the ``SettingsError`` text is scrubbed of every password found in the raw values
(it is made before any ``Settings`` exists, so ``Settings.secrets`` can't help there).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url

from lib.errors import SettingsError
from lib.redact import DEFAULT_SENSITIVE_KEYS, redact_url, scrub, url_password

__all__ = [
    "SECRETS_FILE",
    "Settings",
    "configured",
    "load_settings",
    "namespaced_store_url",
    "parse_basic_auth",
    "parse_flower_url",
    "parse_service_url",
    "positive_seconds",
    "secrets_toml",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where the command-line tools (``./ops collect``, ``./ops doctor``) read Streamlit's secrets.
SECRETS_FILE = REPO_ROOT / ".streamlit" / "secrets.toml"

#: Flower's own default address, so a console started beside a stock Flower just works.
DEFAULT_FLOWER_URL = "http://localhost:5555"
DEFAULT_TIMEOUT = 10.0
DEFAULT_POLL_SECONDS = 10.0
#: Polling faster than this hammers Flower (a 100k-task /api/tasks page costs ~0.3 s there).
MIN_POLL_SECONDS = 1.0
#: The most tasks one bulk action may touch: a slip of the filter must not revoke everything.
DEFAULT_BULK_LIMIT = 500
#: A session with no user interaction for this long is signed out.
DEFAULT_SESSION_IDLE_MINUTES = 60
#: A shorter OPS_SESSION_SECRET could be guessed offline from one captured login token.
MIN_SESSION_SECRET_LENGTH = 16
#: A bulk action stops sending after this long: a failing Flower must not hold a page for hours.
DEFAULT_BULK_BUDGET_SECONDS = 60.0
OFF_WORDS = {"off", "false", "0", "no", "disabled"}
ON_WORDS = {"on", "true", "1", "yes", "enabled", ""}
#: The store's file in OPS_DATA_DIR when OPS_STORE_URL is unset.
STORE_FILE = "store.sqlite3"
#: A named cluster's schema in a PostgreSQL store: ``cluster_<name>`` (``-`` becomes ``_``).
NAMESPACE_SCHEMA_PREFIX = "cluster_"
#: Rollups, failures and samples: two weeks answers "since last week" with room to spare.
DEFAULT_RETENTION_DAYS = 14
#: Raw successful tasks are most of the volume and least of the questions (issue 12).
DEFAULT_RETENTION_SUCCESS_DAYS = 2
#: Where users reach the console when OPS_PUBLIC_URL is unset (Streamlit's own default).
DEFAULT_PUBLIC_URL = "http://localhost:8501"
#: The store's URL schemes: SQLite now, PostgreSQL next (SQLAlchemy Core speaks both).
STORE_SCHEMES = ("sqlite", "postgresql", "postgres")
#: Who runs the collector: the console process (one command) or ``./ops collect`` (replicas).
COLLECTOR_MODES = ("embedded", "external")


@dataclass(frozen=True)
class Settings:
    """Everything the console is told about its cluster. Build it with ``load_settings``."""

    flower_url: str = DEFAULT_FLOWER_URL
    flower_auth: tuple[str, str] | None = None
    flower_timeout: float = DEFAULT_TIMEOUT
    broker_url: str | None = None
    result_backend: str | None = None
    #: Optional RabbitMQ management API (message rates per queue); credentials may be in it.
    rabbitmq_management_url: str | None = None
    poll_seconds: float = DEFAULT_POLL_SECONDS
    data_dir: Path = REPO_ROOT / ".ops-data"
    auth_enabled: bool = True
    users_file: Path | None = None
    workflows_file: Path | None = None
    error_rules_file: Path | None = None
    bulk_limit: int = DEFAULT_BULK_LIMIT
    bulk_budget_seconds: float = DEFAULT_BULK_BUDGET_SECONDS
    sensitive_keys: tuple[str, ...] = DEFAULT_SENSITIVE_KEYS
    #: None keeps the audit log forever (the default: an audit trail is evidence).
    audit_retention_days: int | None = None
    session_idle_minutes: int = DEFAULT_SESSION_IDLE_MINUTES
    #: None until built: ``__post_init__`` makes it ``store.sqlite3`` in ``data_dir``.
    store_url: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    retention_success_days: int = DEFAULT_RETENTION_SUCCESS_DAYS
    #: embedded: lib.ui.wiring starts one collector thread; external: pages read the store.
    collector: str = "embedded"
    # repr=False: repr(settings) keys caches and may reach a log; the secret must not.
    session_secret: str | None = field(default=None, repr=False)
    #: The console's address as users reach it: the base of deep links in alerts.
    public_url: str = DEFAULT_PUBLIC_URL
    #: Alert rules replacing or tuning the built-in defaults (lib/alerts).
    alerts_file: Path | None = None
    #: Where alert changes are POSTed. Secret as a whole: a Slack or Mattermost incoming
    #: webhook carries its token in the path, so repr never shows it and it is scrubbed.
    alert_webhook: str | None = field(default=None, repr=False)
    #: Serve Prometheus /metrics and /healthz on this port (None: off).
    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"
    #: Several clusters, one ``[clusters.<name>]`` table each (lib.clusters reads it).
    clusters_file: Path | None = None
    #: Which cluster these settings describe (``default`` without OPS_CLUSTERS_FILE) and how
    #: the pages title it (None: its name).
    cluster: str = "default"
    cluster_title: str | None = None
    #: This cluster's own part of the store (None: the store as OPS_STORE_URL names it, which
    #: keeps the audit log of every cluster): see ``cluster_store_url``.
    store_namespace: str | None = None

    def __post_init__(self) -> None:
        if self.store_url is None:
            default = f"sqlite:///{Path(self.data_dir) / STORE_FILE}"
            object.__setattr__(self, "store_url", default)

    @property
    def cluster_label(self) -> str:
        """The cluster as the pages name it: its title, else its name."""
        return self.cluster_title or self.cluster

    @property
    def cluster_store_url(self) -> str:
        """Where this cluster's history lives: OPS_STORE_URL itself without a namespace; with
        one, a file beside it (SQLite: ``store.staging.sqlite3``) or a schema in it
        (PostgreSQL: ``cluster_staging``, chosen by the connection's search_path)."""
        return namespaced_store_url(str(self.store_url), self.store_namespace)

    @property
    def flower_display_url(self) -> str:
        """FLOWER_URL as it may be shown: never with credentials."""
        return redact_url(self.flower_url)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value in this configuration, for scrubbing text before it is shown.

        Flower's password and the password of every URL setting (as written and decoded).
        """
        found = [self.flower_auth[1]] if self.flower_auth else []
        whole = ("session_secret", "alert_webhook")
        urls = (getattr(self, f.name) for f in fields(self) if f.name not in whole)
        found += _with_decoded(url_password(url) for url in urls if isinstance(url, str))
        found += [getattr(self, name) for name in whole if getattr(self, name)]
        return tuple(dict.fromkeys(s for s in found if s))


def namespaced_store_url(url: str, namespace: str | None) -> str:
    """``url`` with ``namespace``'s own place in it (see ``Settings.cluster_store_url``)."""
    if not namespace:
        return url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return url  # a memory store is one connection's: nothing to share or split
        path = Path(parsed.database)
        named = path.with_name(f"{path.stem}.{namespace}{path.suffix or '.sqlite3'}")
        return parsed.set(database=str(named)).render_as_string(hide_password=False)
    schema = f"{NAMESPACE_SCHEMA_PREFIX}{namespace}".replace("-", "_")
    query = {**parsed.query, "options": f"-csearch_path={schema}"}
    return parsed.set(query=query).render_as_string(hide_password=False)


def configured(name: str, environ: Mapping[str, str], secrets: Mapping[str, Any]) -> str:
    """A variable as the console reads it: the environment, else ``secrets.toml``; ``''``
    when neither sets it."""
    return str(environ.get(name) or secrets.get(name) or "").strip()


def secrets_toml(path: Path = SECRETS_FILE) -> dict:
    """The top-level keys of a ``secrets.toml`` (none when it does not exist), for a process
    without Streamlit's ``st.secrets``. Raises ``OSError`` or ``tomllib.TOMLDecodeError``."""
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def load_settings(environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> Settings:
    """Read and check every configuration variable; raise one ``SettingsError`` for all problems."""
    raw = _merge(environ, secrets or {})
    problems: list[str] = []

    def take(name: str, parse, default):
        value = raw.get(name)
        if value is None or value == "":
            return default
        try:
            return parse(value)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            return default

    url, url_auth = take("FLOWER_URL", parse_flower_url, (DEFAULT_FLOWER_URL, None))
    auth = take("FLOWER_BASIC_AUTH", parse_basic_auth, None) or url_auth
    fields = {field: take(name, parse, default) for name, field, parse, default in SIMPLE}
    settings = Settings(flower_url=url, flower_auth=auth, **fields)
    if problems:
        message = "The console's configuration has a problem — " + "; ".join(problems) + "."
        raise SettingsError(scrub(message, _raw_secrets(raw)))
    return settings


def _raw_secrets(raw: Mapping[str, str]) -> list[str]:
    """Passwords in the raw values, for a message made before any ``Settings`` exists."""
    found = [url_password(value) for value in raw.values()]
    user, sep, password = raw.get("FLOWER_BASIC_AUTH", "").partition(":")
    # Without the colon the whole value may well be the password: never print it either.
    found.append(password if sep else user)
    found.append(raw.get("OPS_SESSION_SECRET", ""))
    found.append(raw.get("OPS_ALERT_WEBHOOK", ""))
    return _with_decoded(s for s in found if s)


def _with_decoded(secrets: Iterable[str | None]) -> list[str]:
    """Each secret as written and percent-decoded: an error message may carry either."""
    return [form for s in secrets if s for form in dict.fromkeys((s, unquote(s)))]


def _merge(environ: Mapping[str, str], secrets: Mapping[str, Any]) -> dict[str, str]:
    merged = {name: str(secrets[name]) for name in NAMES if name in secrets}
    merged.update({name: environ[name] for name in NAMES if name in environ})
    return {name: value.strip() for name, value in merged.items()}


def parse_flower_url(value: str) -> tuple[str, tuple[str, str] | None]:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{redact_url(value)!r} is not an http(s) URL such as http://flower.internal:5555"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise ValueError(f"{redact_url(value)!r} has an invalid port") from None
    auth = (parts.username or "", parts.password or "") if parts.username else None
    clean = redact_url(value).rstrip("/")
    return clean, auth


def parse_basic_auth(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise ValueError("expected user:password (a colon between them)")
    return user, password


def parse_service_url(value: str) -> str:
    if "://" not in value:
        raise ValueError(f"{redact_url(value)!r} is not a URL such as redis://localhost:6379/0")
    return value


def positive_seconds(minimum: float):
    def parse(value: str) -> float:
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number of seconds") from None
        if not math.isfinite(seconds) or seconds < minimum:
            raise ValueError(f"{value!r} must be a number of seconds ≥ {minimum:g}")
        return seconds

    return parse


def _positive_count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{value!r} must be a whole number ≥ 1")
    return int(value)


def _whole_days(hint: str = ""):
    def parse(value: str) -> int:
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise ValueError(f"{value!r} must be a whole number of days ≥ 1{hint}")
        return int(value)

    return parse


_retention_days = _whole_days(" (leave it unset to keep every row)")
_store_days = _whole_days()


def _parse_store_url(value: str) -> str:
    scheme = value.partition("://")[0].partition("+")[0].lower()
    if "://" not in value or scheme not in STORE_SCHEMES:
        raise ValueError(
            f"{redact_url(value)!r} is not a store URL such as sqlite:///var/lib/ops/store.sqlite3 "
            "or postgresql://user:password@host/ops"
        )
    return value


def _collector_mode(value: str) -> str:
    mode = value.lower()
    if mode not in COLLECTOR_MODES:
        raise ValueError(f"{value!r} is neither embedded nor external")
    return mode


def _session_secret(value: str) -> str:
    if len(value) < MIN_SESSION_SECRET_LENGTH:
        raise ValueError(f"must be at least {MIN_SESSION_SECRET_LENGTH} characters")
    return value


def _extra_keys(value: str) -> tuple[str, ...]:
    extra = [k.strip().lower() for k in value.split(",") if k.strip()]
    if not all(k.replace("_", "").replace("-", "").isalnum() for k in extra):
        raise ValueError("expected comma-separated names such as ssn,private_key")
    return tuple(dict.fromkeys([*DEFAULT_SENSITIVE_KEYS, *extra]))


def _parse_public_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{redact_url(value)!r} is not an address such as https://ops.example.com")
    return value.rstrip("/")


def _parse_webhook(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # The URL itself is the secret: name the problem, never echo the value.
        raise ValueError("is not an http(s) URL")
    return value


def _parse_port(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise ValueError(f"{value!r} is not a port number (1–65535)")
    return int(value)


def _parse_switch(value: str) -> bool:
    word = value.lower()
    if word in OFF_WORDS:
        return False
    if word in ON_WORDS:
        return True
    raise ValueError(f"{value!r} is neither on nor off")


#: Every variable but FLOWER_URL and FLOWER_BASIC_AUTH (read together): its name, the
#: ``Settings`` field it sets, how its text is read, and its default when unset or empty.
SIMPLE = (
    ("FLOWER_TIMEOUT", "flower_timeout", positive_seconds(0.1), DEFAULT_TIMEOUT),
    ("CELERY_BROKER_URL", "broker_url", parse_service_url, None),
    ("CELERY_RESULT_BACKEND", "result_backend", parse_service_url, None),
    ("RABBITMQ_MANAGEMENT_URL", "rabbitmq_management_url", parse_service_url, None),
    ("OPS_POLL_SECONDS", "poll_seconds", positive_seconds(MIN_POLL_SECONDS), DEFAULT_POLL_SECONDS),
    ("OPS_DATA_DIR", "data_dir", Path, REPO_ROOT / ".ops-data"),
    ("OPS_AUTH", "auth_enabled", _parse_switch, True),
    ("OPS_USERS_FILE", "users_file", Path, None),
    ("OPS_WORKFLOWS_FILE", "workflows_file", Path, None),
    ("OPS_ERROR_RULES_FILE", "error_rules_file", Path, None),
    ("OPS_BULK_LIMIT", "bulk_limit", _positive_count, DEFAULT_BULK_LIMIT),
    (
        "OPS_BULK_BUDGET_SECONDS",
        "bulk_budget_seconds",
        positive_seconds(1.0),
        DEFAULT_BULK_BUDGET_SECONDS,
    ),
    ("OPS_SENSITIVE_KEYS", "sensitive_keys", _extra_keys, DEFAULT_SENSITIVE_KEYS),
    ("OPS_AUDIT_RETENTION_DAYS", "audit_retention_days", _retention_days, None),
    (
        "OPS_SESSION_IDLE_MINUTES",
        "session_idle_minutes",
        _positive_count,
        DEFAULT_SESSION_IDLE_MINUTES,
    ),
    ("OPS_SESSION_SECRET", "session_secret", _session_secret, None),
    ("OPS_STORE_URL", "store_url", _parse_store_url, None),
    ("OPS_RETENTION_DAYS", "retention_days", _store_days, DEFAULT_RETENTION_DAYS),
    (
        "OPS_RETENTION_SUCCESS_DAYS",
        "retention_success_days",
        _store_days,
        DEFAULT_RETENTION_SUCCESS_DAYS,
    ),
    ("OPS_COLLECTOR", "collector", _collector_mode, "embedded"),
    ("OPS_PUBLIC_URL", "public_url", _parse_public_url, DEFAULT_PUBLIC_URL),
    ("OPS_ALERTS_FILE", "alerts_file", Path, None),
    ("OPS_ALERT_WEBHOOK", "alert_webhook", _parse_webhook, None),
    ("OPS_METRICS_PORT", "metrics_port", _parse_port, None),
    ("OPS_METRICS_ADDRESS", "metrics_address", str, "127.0.0.1"),
    ("OPS_CLUSTERS_FILE", "clusters_file", Path, None),
)
#: Every variable the console reads (from the environment, else ``.streamlit/secrets.toml``).
NAMES = ("FLOWER_URL", "FLOWER_BASIC_AUTH", *(name for name, *_ in SIMPLE))

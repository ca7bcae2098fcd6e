"""The one place that wires the console: settings, and the shared objects built once.

``console(settings)`` builds, once per server and configuration (keyed by the settings), the
Flower client, the history store, the collector (``OPS_COLLECTOR=embedded``: one daemon
thread per configuration, kept in ``_COLLECTORS`` so a cleared cache never starts a second;
``external``: none, the store is read), the ``ClusterMonitor`` over them, one result-backend reader with its cache, the
audit log (in the store at ``OPS_STORE_URL``, which first takes in the old audit file of
``OPS_DATA_DIR``, once) and the action desk, and hands the same ``Console`` to every browser
session. The login's long-lived helpers (revoked sessions, the throttle, the session secret,
the users file) are cached here too: every ``st.cache_resource`` of the console is in this
module.
Pages and widgets ask for these objects; nothing else builds them.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from lib import failures, session
from lib.actions import ActionDesk
from lib.audit import AuditError, AuditLog
from lib.audit.legacy import LEGACY_FILE, import_legacy_audit
from lib.auth import LoginThrottle, UserBook, load_users
from lib.broker import BrokerProbe, ResultBackend
from lib.clusters import ClusterBook, load_clusters
from lib.collector import Collector
from lib.collector.stored import StoredReadout
from lib.errors import ConsoleError, SettingsError, StoreError
from lib.flower import FlowerClient
from lib.monitor import ClusterMonitor
from lib.redact import SCRUBBER, protect
from lib.settings import Settings, load_settings
from lib.store import Store
from lib.store.pauses import PauseBook
from lib.ui import clusters
from lib.workflows import KnownNames, MetaCache

__all__ = [
    "Console",
    "book_for",
    "build_console",
    "cluster_book",
    "console",
    "file_secrets",
    "get_settings",
    "has_secrets",
    "open_store",
    "page",
    "page_start",
    "revoked_sessions",
    "secret_for",
    "start",
    "stop_collectors",
    "take_in_old_audit",
    "throttle",
]

log = logging.getLogger(__name__)

#: How long ``start`` waits for the collector's first poll to warm the pages as of it (s).
FIRST_POLL_WAIT = 30.0
#: The most a starting server's collector waits to poll while the pages' readings are built
#: from the store (about a second at 100k tasks).
FIRST_POLL_HOLD = 10.0


@dataclass(frozen=True)
class Console:
    """The shared objects of one configured cluster; one per server and configuration."""

    settings: Settings
    client: FlowerClient
    monitor: ClusterMonitor
    backend: ResultBackend | None  # None without CELERY_RESULT_BACKEND
    metas: MetaCache | None  # the backend's records, bounded and cached; None without it
    audit: AuditLog
    desk: ActionDesk
    #: Why the old audit file was not taken into the store (the Audit log page says it).
    audit_notice: str | None = None
    _names: dict[str, KnownNames] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def known_names(self, view_key: str) -> KnownNames:
        """The task names a workflow view has identified so far (kept across refreshes)."""
        with self._lock:
            return self._names.setdefault(view_key, KnownNames())


#: The collector thread of each configuration (OPS_COLLECTOR=embedded), by the console's key.
#: Kept beside ``st.cache_resource``: a cleared cache must not start a second thread for the
#: same configuration; ``stop_collectors`` ends them (tests, a server's shutdown).
_COLLECTORS: dict[str, Collector] = {}
_COLLECTORS_LOCK = threading.Lock()


def collector_for(
    key: str,
    settings: Settings,
    store: Store,
    client: FlowerClient,
    hold: threading.Event | None = None,
) -> Collector:
    """The one running collector of a configuration, started on first use (a daemon thread:
    a hung Flower request never blocks the server's exit); its first poll waits for ``hold``
    (at most FIRST_POLL_HOLD s)."""
    with _COLLECTORS_LOCK:
        running = _COLLECTORS.get(key)
        if running is None:
            running = _COLLECTORS[key] = Collector(
                settings, store, settings.cluster, client=client
            ).start(hold, FIRST_POLL_HOLD)
        return running


def stop_collectors(wait: bool = True) -> None:
    """Stop every collector thread this process started (all within about the longest
    FLOWER_TIMEOUT: each is asked first, then each is waited for unless not ``wait``)."""
    with _COLLECTORS_LOCK:
        running = list(_COLLECTORS.values())
        _COLLECTORS.clear()
    for collector in running:
        collector.stop(timeout=0)
    for collector in running if wait else ():
        collector.stop()


def build_console(
    settings: Settings, key: str | None = None, hold: threading.Event | None = None
) -> Console:
    """Every shared object for ``settings``, each built once and handed to the others
    (``hold``: the embedded collector's first poll waits for it; see ``start``)."""
    protect(settings.secrets)
    client = FlowerClient.from_settings(settings)
    store = open_store(settings)
    if settings.collector == "external":
        readout = StoredReadout(settings, store, settings.cluster)
    else:
        readout = collector_for(key or repr(settings), settings, store, client, hold)
    monitor = ClusterMonitor(settings, store, readout, client=client)
    backend = ResultBackend(settings.result_backend) if settings.result_backend else None
    metas = MetaCache(backend.task_meta, settings.poll_seconds) if backend else None
    notice = take_in_old_audit(settings)  # before the log opens: its retention prunes them too
    audit = AuditLog(settings.store_url, retention_days=settings.audit_retention_days)
    broker = BrokerProbe(settings.broker_url) if settings.broker_url else None
    desk = ActionDesk(
        client,
        audit,
        monitor.task,
        backend,
        settings.bulk_limit,
        settings.bulk_budget_seconds,
        broker=broker,
        pauses=PauseBook(store),
        store=store,
        cluster=settings.cluster,
    )
    return Console(settings, client, monitor, backend, metas, audit, desk, notice)


def open_store(settings: Settings) -> Store:
    """The history store; when it cannot be used, a temporary one, so the pages still show the
    cluster (the audit log, in the configured store, says what is wrong and refuses actions)."""
    try:
        return Store.from_settings(settings)
    except StoreError as exc:
        log.warning("%s Keeping this run's history in a temporary store instead.", exc)
        where = Path(tempfile.mkdtemp(prefix="ops-store-")) / "store.sqlite3"
        return Store(f"sqlite:///{where}", settings.sensitive_keys, settings.secrets)


def start(settings: Settings) -> None:
    """Build every cluster's console (OPS_CLUSTERS_FILE, else the one ``default``) ahead of any
    visit (``serve``: the embedded collectors then watch the clusters with no browser open) and
    warm what the pages open on (``ClusterMonitor.warm_up``): first as the store holds it (a
    console started while Flower hangs shows it at once), again once that collector's first poll
    has ended. The clusters start side by side: a hung Flower delays the others by nothing, and
    the whole start waits at most FIRST_POLL_WAIT for first polls."""
    book = load_clusters(settings, os.environ, file_secrets())
    protect(book.secrets)
    deadline = time.monotonic() + FIRST_POLL_WAIT
    starts = [
        threading.Thread(
            target=_start_cluster,
            args=(cluster, deadline),
            name=f"console-start-{cluster.cluster}",
            daemon=True,  # a store that never answers must not keep the server from exiting
        )
        for cluster in book.clusters
    ]
    for thread in starts:
        thread.start()
    for thread in starts:
        thread.join()


def _start_cluster(settings: Settings, deadline: float) -> None:
    began = time.monotonic()
    # The collector's first poll waits for the readings built from the store: a restarted
    # console's first visitor reads those (its first poll then only adds what is new).
    warmed = threading.Event()
    try:
        monitor = console(settings, warmed).monitor
    except ConsoleError as exc:  # its pages say it, in their words; the others start
        log.warning("cluster %s is not started ahead of a first visit: %s", settings.cluster, exc)
        return
    rules, _ = failures.rules_or_defaults(settings.error_rules_file)  # the page says why
    try:
        monitor.warm_up(rules)
    finally:
        warmed.set()
    log.info(
        "cluster %s started; its pages' readings built in %.1f s",
        settings.cluster,
        time.monotonic() - began,
    )
    if monitor.readout.wait_polled(0, max(0.0, deadline - time.monotonic())):
        monitor.warm_up(rules)


def take_in_old_audit(settings: Settings) -> str | None:
    """Take the audit log's old file into the store, once; why it was not, when it was not."""
    try:
        taken = import_legacy_audit(settings.store_url, settings.data_dir / LEGACY_FILE)
    except AuditError as exc:
        log.warning("%s", exc)
        return str(exc)
    if taken is not None:
        log.info(
            "The old audit log is in the store (%d rows, %d targets); the file is now %s.",
            taken.rows,
            taken.targets,
            taken.renamed_to,
        )
    return None


@st.cache_resource(show_spinner=False)
def _console_for(key: str, _settings: Settings, _hold: threading.Event | None = None) -> Console:
    return build_console(_settings, key, _hold)


def console(settings: Settings, hold: threading.Event | None = None) -> Console:
    """The one ``Console`` per configuration, shared by every browser session (``hold``: when
    this call builds it, its collector's first poll waits for that; see ``start``)."""
    return _console_for(repr(settings), settings, hold)


def get_settings() -> Settings:
    """The configuration, or one clear error on screen and a stopped script."""
    try:
        settings = load_settings(os.environ, file_secrets())
    except SettingsError as exc:
        st.error(SCRUBBER(str(exc)), icon="⚙️")  # load_settings scrubbed the raw values
        st.stop()
        raise  # st.stop() raises; this line is for type checkers
    protect(settings.secrets)
    return settings


def cluster_book(settings: Settings) -> ClusterBook:
    """The clusters the console watches (OPS_CLUSTERS_FILE; else ``default`` from the
    variables), or one clear error on screen and a stopped script. Read each run: a small
    file, and an edit shows without a restart."""
    try:
        book = load_clusters(settings, os.environ, file_secrets())
    except SettingsError as exc:
        st.error(SCRUBBER(str(exc)), icon="⚙️")  # load_clusters scrubbed the values it read
        st.stop()
        raise  # st.stop() raises; this line is for type checkers
    protect(book.secrets)
    return book


def file_secrets() -> dict:
    """Streamlit's secrets file (``.streamlit/secrets.toml``) as a dict; empty without one."""
    return dict(st.secrets) if has_secrets() else {}


def has_secrets() -> bool:
    try:
        return len(st.secrets) >= 0
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


@st.cache_resource(show_spinner=False)
def revoked_sessions() -> session.RevokedSessions:
    """Login tokens signed out before they expire, for this server."""
    return session.RevokedSessions()


@st.cache_resource(show_spinner=False)
def throttle() -> LoginThrottle:
    """Failed logins per user and client, for this server."""
    return LoginThrottle()


@st.cache_resource(show_spinner=False)
def secret_for(data_dir: str, fingerprint: str, _configured: str | None) -> bytes:
    """The key that signs login tokens (``fingerprint`` keys a changed OPS_SESSION_SECRET)."""
    return session.load_secret(_configured, Path(data_dir))


@st.cache_resource(show_spinner=False, max_entries=8)
def book_for(path: str, stamp: tuple | None, extra_key: str, _extra: dict) -> UserBook:
    """The users file as of ``stamp`` (its mtime, size, inode), with secrets' extra tables."""
    return load_users(Path(path) if path else None, _extra)


def page(title: str) -> Console:
    """Start a page (app.py signed the session in and chose its cluster): its title, which
    cluster it shows, the banners, and the chosen cluster's console."""
    book = page_start(title)
    cluster = clusters.chosen(book)
    clusters.cluster_caption(book, cluster)
    return console(cluster)


def page_start(title: str) -> ClusterBook:
    """A page's title, the login-off banner and the clusters file's notice; the clusters."""
    settings = get_settings()
    book = cluster_book(settings)
    st.title(title)
    if not settings.auth_enabled:
        st.warning(
            "Login is off (OPS_AUTH=off): anyone who can reach this port uses the console.",
            icon="🔓",
        )
    clusters.clusters_notice(book)
    return book

"""A Celery status block for any Streamlit app's sidebar: ``celery_status(...)``.

SELF-CONTAINED: this is the one module of ``lib/ui`` that imports nothing else of the console
(only streamlit, requests, sqlalchemy and the standard library), so another app, with its own
``lib`` package, imports it or copies this one file. Keep it that way (a test checks).

It shows workers online x/y, active tasks, the failure rate over the last hour, the queue
backlog and the firing alerts, with a link to the console. Two sources:

- ``store_url``: the console's history store (what its collector writes every poll): the
  latest worker and queue samples, the last hour's per-minute rollups, the ``alerts`` table.
  Read-only (an SQLite file is opened read-only and never created).
- else ``flower_url``: Flower's API: ``/workers?json=1``, the newest ``FLOWER_TASKS`` tasks
  (the failure rate is theirs that finished in the last hour) and ``/api/queues/length``.
  Flower knows no alerts: that figure is then "—".

Invariants: the host app never waits longer than ``timeout`` seconds (the read runs in a daemon
thread joined with that deadline; its connections carry timeouts too, so it ends soon after);
any failure is one line, "Celery status unavailable: <why>", never a traceback, and no password
of either URL ever reaches the page; an outcome (a failure too) is cached ``CACHE_SECONDS`` per
arguments, so a dead cluster costs a host's reruns one wait, not one each. Failure rate =
failed ÷ (succeeded + failed), the console's definition.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
import streamlit as st

__all__ = ["CACHE_SECONDS", "FLOWER_TASKS", "CeleryStatus", "celery_status", "read_status"]

#: Seconds an outcome is reused for the same arguments (several sessions, fast reruns).
CACHE_SECONDS = 5.0
#: Tasks read from Flower for the hour's failure rate (``limit`` is always sent: without it
#: Flower returns every task it holds).
FLOWER_TASKS = 1000
HOUR = 3600.0
#: ``user:password@`` in any URL-looking text: the password goes, whatever the text is.
_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^\s/@:]*:)[^\s/@]+@", re.I)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


@dataclass(frozen=True)
class CeleryStatus:
    """The figures shown; None where the source does not say."""

    workers_online: int
    workers_total: int
    active: int | None
    failure_rate: float | None  # percent of the last hour's finished tasks; None: none finished
    finished: int  # tasks finished in the last hour (of those read)
    backlog: int | None  # waiting messages in all queues
    alerts_firing: int | None
    source: str  # "store" or "Flower"
    at: float | None  # epoch s of the figures (the latest sample), when known


def celery_status(
    store_url: str | None = None,
    flower_url: str | None = None,
    console_url: str | None = None,
    timeout: float = 2,
    *,
    cluster: str = "default",
) -> CeleryStatus | None:
    """Render the Celery status block in the sidebar; returns the figures, None when unavailable.

    Args:
        store_url: the console's store (``OPS_STORE_URL``: ``sqlite:///…/store.sqlite3`` or
            ``postgresql://…``); preferred when given.
        flower_url: Flower's address (``http://user:password@flower:5555``), read when no
            ``store_url`` is given.
        console_url: the console's address, for the "Open the console" link.
        timeout: seconds the host app waits at most.
        cluster: the console's cluster name (its alerts are kept per cluster).
    """
    outcome = _cached(store_url, flower_url, float(timeout), cluster)
    box = st.sidebar.container(border=True)
    if "error" in outcome:
        box.warning(_escape(f"Celery status unavailable: {outcome['error']}"), icon="⚠️")
        status = None
    else:
        status = CeleryStatus(**outcome["status"])
        _render(box, status)
    if console_url:
        box.link_button("Open the console", _without_password(console_url), width="stretch")
    return status


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _cached(store_url: str | None, flower_url: str | None, timeout: float, cluster: str) -> dict:
    try:
        status = read_status(store_url, flower_url, timeout, cluster)
    except StatusUnavailable as exc:
        return {"error": str(exc)}
    return {"status": asdict(status)}


class StatusUnavailable(Exception):
    """The status could not be read; ``str()`` is the reason in plain words, scrubbed."""


def read_status(
    store_url: str | None, flower_url: str | None, timeout: float = 2, cluster: str = "default"
) -> CeleryStatus:
    """The figures, read within ``timeout`` s in a daemon thread; ``StatusUnavailable`` else."""
    if not store_url and not flower_url:
        raise StatusUnavailable("no store_url or flower_url given")
    secrets = [p for p in (_password(store_url), _password(flower_url)) if p]
    done: dict[str, object] = {}

    def read() -> None:
        try:
            if store_url:
                done["status"] = _from_store(store_url, timeout, cluster)
            else:
                done["status"] = _from_flower(str(flower_url), timeout)
        except Exception as exc:  # any failure of any driver: said in one line, never raised
            done["error"] = _reason(exc)

    worker = threading.Thread(target=read, name="celery-status", daemon=True)
    worker.start()
    worker.join(timeout)
    if "status" in done:
        return done["status"]  # type: ignore[return-value]
    where = "the store" if store_url else "Flower"
    why = done.get("error") or f"{where} did not answer within {timeout:g} s"
    raise StatusUnavailable(_scrub(str(why), secrets))


def _render(box, status: CeleryStatus) -> None:
    box.markdown("**Celery**")
    left, right = box.columns(2)
    left.metric("Workers online", f"{status.workers_online}/{status.workers_total}")
    right.metric("Active tasks", _count(status.active))
    rate = "—" if status.failure_rate is None else f"{status.failure_rate:.1f}%"
    left.metric("Failure rate (1 h)", rate, help=f"{status.finished:,} tasks finished")
    right.metric("Queue backlog", _count(status.backlog))
    box.metric("Firing alerts", _count(status.alerts_firing))
    age = "" if status.at is None else f", as of {_ago(time.time() - status.at)}"
    box.caption(f"From the {status.source}{age}.")


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _ago(seconds: float) -> str:
    if seconds < 2:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


# -- the store -----------------------------------------------------------------------------------

_ENGINES: dict[tuple[str, float], sa.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _from_store(url: str, timeout: float, cluster: str) -> CeleryStatus:
    since = math.floor((time.time() - HOUR) / 60) * 60  # rollups are per whole minute
    with _engine(url, timeout).connect() as conn:
        at, online, total, active = conn.execute(_LATEST_WORKERS).one()
        backlog = conn.execute(_LATEST_BACKLOG).scalar()
        counts = dict(conn.execute(_HOUR_COUNTS, {"since": since}).all())
        firing = None
        if sa.inspect(conn).has_table("alerts"):  # a store from before the alerts step: "—"
            firing = conn.execute(_FIRING, {"cluster": cluster}).scalar()
    succeeded, failed = int(counts.get("SUCCESS") or 0), int(counts.get("FAILURE") or 0)
    return CeleryStatus(
        workers_online=int(online or 0),
        workers_total=int(total or 0),
        active=None if active is None else int(active),
        failure_rate=_rate(failed, succeeded),
        finished=succeeded + failed,
        backlog=None if backlog is None else int(backlog),
        alerts_firing=None if firing is None else int(firing),
        source="store",
        at=None if at is None else float(at),
    )


_LATEST_WORKERS = sa.text(
    "SELECT MAX(at), SUM(CASE WHEN online THEN 1 ELSE 0 END), COUNT(*), SUM(active) "
    "FROM worker_samples WHERE at = (SELECT MAX(at) FROM worker_samples)"
)
_LATEST_BACKLOG = sa.text(
    "SELECT SUM(messages) FROM queue_samples WHERE at = (SELECT MAX(at) FROM queue_samples)"
)
_HOUR_COUNTS = sa.text(
    "SELECT state, SUM(tasks) FROM rollup_counts WHERE minute >= :since "
    "AND state IN ('SUCCESS', 'FAILURE') GROUP BY state"
)
_FIRING = sa.text("SELECT COUNT(*) FROM alerts WHERE cluster = :cluster AND state = 'firing'")


def _engine(url: str, timeout: float) -> sa.Engine:
    """One engine per store URL and timeout, its connections bounded by ``timeout``."""
    key = (url, timeout)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _create_engine(url, timeout)
        return _ENGINES[key]


def _create_engine(url: str, timeout: float) -> sa.Engine:
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or not path.is_file():
            raise StatusUnavailable(f"there is no store at {path}")
        ro = parsed.set(database=f"file:{path.resolve()}", query={"mode": "ro", "uri": "true"})
        return sa.create_engine(ro, connect_args={"timeout": timeout})
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres") and _has("psycopg"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        wait_ms = max(1, round(timeout * 1000))
        args = {"connect_timeout": max(1, math.ceil(timeout))}
        args["options"] = f"-c statement_timeout={wait_ms} -c lock_timeout={wait_ms}"
        return sa.create_engine(parsed, connect_args=args, pool_pre_ping=True)
    raise StatusUnavailable(f"{backend} is not a store this block reads (SQLite, PostgreSQL)")


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# -- Flower --------------------------------------------------------------------------------------


def _from_flower(url: str, timeout: float) -> CeleryStatus:
    base = url.rstrip("/")
    with requests.Session() as session:
        rows = _get(session, f"{base}/workers", timeout, json=1).get("data") or []
        tasks = _get(session, f"{base}/api/tasks", timeout, limit=FLOWER_TASKS)
        backlog = _flower_backlog(session, base, timeout)
    rows = [r for r in rows if isinstance(r, dict)]
    now = time.time()
    finished = [t for t in tasks.values() if isinstance(t, dict) and _finished_since(t, now)]
    failed = sum(t.get("state") == "FAILURE" for t in finished)
    succeeded = sum(t.get("state") == "SUCCESS" for t in finished)
    return CeleryStatus(
        workers_online=sum(r.get("status") is True for r in rows),
        workers_total=len(rows),
        active=sum(int(r.get("active") or 0) for r in rows if r.get("status") is True),
        failure_rate=_rate(failed, succeeded),
        finished=failed + succeeded,
        backlog=backlog,
        alerts_firing=None,  # Flower has no alerts: the console's store has them
        source="Flower",
        at=now,
    )


def _get(session: requests.Session, url: str, timeout: float, **params: object) -> dict:
    answer = session.get(url, params=params, timeout=(timeout, timeout))
    if answer.status_code in (401, 403):
        raise StatusUnavailable(f"Flower refused the credentials (HTTP {answer.status_code})")
    if answer.status_code != 200:
        raise StatusUnavailable(
            f"Flower answered HTTP {answer.status_code} to {urlsplit(url).path}"
        )
    body = answer.json()
    if not isinstance(body, dict):
        raise StatusUnavailable(f"Flower's {urlsplit(url).path} is not a JSON object")
    return body


def _flower_backlog(session: requests.Session, base: str, timeout: float) -> int | None:
    """Waiting messages per Flower's broker view; None when Flower cannot say (its broker API
    is not configured, say): the other figures still stand."""
    try:
        queues = _get(session, f"{base}/api/queues/length", timeout).get("active_queues")
    except StatusUnavailable:
        return None
    counts = [q.get("messages") for q in queues or [] if isinstance(q, dict)]
    known = [int(n) for n in counts if isinstance(n, int | float)]
    return sum(known) if known else None


def _finished_since(task: dict, now: float) -> bool:
    at = task.get("succeeded") or task.get("failed")
    return isinstance(at, int | float) and now - HOUR <= at <= now + 60


def _rate(failed: int, succeeded: int) -> float | None:
    finished = failed + succeeded
    return 100.0 * failed / finished if finished else None


# -- words ---------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """``exc`` in one line of plain words (a driver's first line; requests' cause)."""
    if isinstance(exc, StatusUnavailable):
        return str(exc)
    if isinstance(exc, requests.Timeout):
        return "Flower did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "Flower could not be reached"
    if isinstance(exc, ValueError) and not isinstance(exc, sa.exc.SQLAlchemyError):
        return f"an unreadable answer ({type(exc).__name__})"
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return f"the store could not be read: {first}"


def _password(url: str | None) -> str | None:
    try:
        return urlsplit(url).password if url else None
    except ValueError:
        return None


def _without_password(url: str) -> str:
    return _CREDENTIALS.sub(lambda m: m["head"] + "***@", url)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return _without_password(text)


def _escape(text: str) -> str:
    """``text`` shown as it is: no markdown, no HTML (a reason may quote anything)."""
    return _MARKDOWN.sub(r"\\\1", text)

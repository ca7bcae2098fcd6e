"""Shared Streamlit widgets and formatting: the one ``lib`` module that imports streamlit.

Pages get their settings, the shared ``ClusterMonitor``, readings with their error banners,
localized tables and ``Download CSV`` buttons from here, so every screen says the same things
the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from lib import failures, frames, session, trends
from lib.actions import (
    ACTIONS,
    CONSUMERS,
    ActionDesk,
    ActionResult,
    ActionSpec,
    Choice,
    Input,
    Number,
    RetryAgain,
    Seconds,
    TypeName,
    control_groups,
)
from lib.audit import AuditError, AuditLog
from lib.auth import LOCAL_ACTOR_NAME, Actor, LoginThrottle, UserBook, allows, load_users
from lib.broker import ResultBackend
from lib.errors import ConsoleError, FlowerNotFound, SettingsError
from lib.export import csv_bytes
from lib.monitor import ClusterMonitor, Reading
from lib.redact import SCRUBBER, mask_frame, protect
from lib.settings import Settings, load_settings

__all__ = [
    "action_button",
    "action_dialog",
    "ago",
    "allows_admin",
    "consumer_controls",
    "current_actor",
    "download_csv",
    "end_idle_session",
    "error_rules",
    "fmt_percent",
    "fmt_seconds",
    "follow_up",
    "get_desk",
    "get_monitor",
    "get_settings",
    "held_since_note",
    "keep_selection_valid",
    "load_tasks",
    "local_frame",
    "md_escape",
    "page",
    "route_deep_link",
    "show_reading",
    "sidebar_user",
    "sign_in_form",
    "signed_in",
    "task_detail",
    "task_types",
    "time_range",
    "user_book",
    "viewer_tz",
    "worker_controls",
]


def get_settings() -> Settings:
    """The configuration, or one clear error on screen and a stopped script."""
    try:
        secrets = dict(st.secrets) if _has_secrets() else {}
        settings = load_settings(os.environ, secrets)
    except SettingsError as exc:
        st.error(SCRUBBER(str(exc)), icon="⚙️")  # load_settings scrubbed the raw values
        st.stop()
        raise  # st.stop() raises; this line is for type checkers
    protect(settings.secrets)
    return settings


def _has_secrets() -> bool:
    try:
        return len(st.secrets) >= 0
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


@st.cache_resource(show_spinner=False)
def _monitor_for(key: str, _settings: Settings) -> ClusterMonitor:
    return ClusterMonitor(_settings)


def get_monitor(settings: Settings) -> ClusterMonitor:
    """The one monitor per configuration, shared by every browser session."""
    return _monitor_for(repr(settings), settings)


@st.cache_resource(show_spinner=False)
def _desk_for(key: str, _settings: Settings, _monitor: ClusterMonitor) -> ActionDesk:
    backend = ResultBackend(_settings.result_backend) if _settings.result_backend else None
    audit = AuditLog(
        _settings.data_dir / "audit.sqlite3", retention_days=_settings.audit_retention_days
    )
    return ActionDesk(
        _monitor.client,
        audit,
        _monitor.task,
        backend,
        _settings.bulk_limit,
        _settings.bulk_budget_seconds,
    )


@contextmanager
def audit_guard() -> Iterator[None]:
    """Reads of the audit log: when it is unusable, say why in plain words and stop the run."""
    try:
        yield
    except AuditError as exc:
        st.error(
            f"{md_escape(exc)} Check that OPS_DATA_DIR is writable and has free space; "
            "actions are refused until the audit log works again.",
            icon="🗄️",
        )
        st.stop()


def get_desk(settings: Settings, monitor: ClusterMonitor) -> ActionDesk:
    """The one action desk (and audit log) per configuration."""
    return _desk_for(repr(settings), settings, monitor)


# -- login and the signed-in session (lib/auth: users, throttle; lib/session: tokens) -------
#
# A password login keeps in session state: the actor, the session's token claims, the time
# of its last activity, and the token the browser should hold ("" = clear the cookie). Every
# full page run (app.py's gate, or a page's own check) re-reads the users file (cached by its
# mtime) and re-derives the role, signs out a removed user or an idle session, and re-issues
# the token now and then. Fragment timer reruns never call signed_in, so they do not count as
# activity: idle means no one clicked or navigated (a click inside a fragment counts neither).


def signed_in(settings: Settings) -> Actor | None:
    """Who is using this session, or None before login. OPS_AUTH=off: the local admin."""
    if not settings.auth_enabled:
        return Actor(LOCAL_ACTOR_NAME, "admin")
    now = time.time()
    actor = st.session_state.get("actor") or _resume_from_cookie(settings, now)
    if actor is not None:
        return _keep_session(settings, actor, now)
    if _sso_configured() and getattr(st.user, "is_logged_in", False):
        email = str(st.user.get("email") or "")
        role = user_book(settings).role_for_email(email) if email else None
        return Actor(email, role) if role else None
    return None


def _keep_session(settings: Settings, actor: Actor, now: float) -> Actor | None:
    """The password session still standing at this run, with its role re-read; else None."""
    entry = user_book(settings).users.get(actor.user)
    idle = settings.session_idle_minutes
    if entry is None:
        return _sign_out(f"You were signed out: {actor.user} is no longer a user of this console.")
    if session.idle_expired(st.session_state.get("auth_last_active"), now, idle * 60):
        return _sign_out(f"You were signed out after {idle} minutes without activity.")
    claims = st.session_state.get("auth_claims")
    if claims is None:  # just signed in with a password: the session's first token
        claims = session.new_claims(actor.user, now, idle * 60)
        st.session_state["auth_cookie"] = None
    if st.session_state.get("auth_cookie") is None or now - claims.issued >= session.REFRESH_AFTER:
        claims = session.renewed(claims, now, idle * 60)
        if not claims.valid_at(now):
            return _sign_out("Your session reached its maximum age: please sign in again.")
        st.session_state["auth_claims"] = claims
        st.session_state["auth_cookie"] = session.issue_token(_session_secret(settings), claims)
    st.session_state["auth_last_active"] = now
    if entry[1] != actor.role:  # promoted or demoted in the users file since the last run
        actor = Actor(actor.user, entry[1])
    st.session_state["actor"] = actor
    return actor


def _resume_from_cookie(settings: Settings, now: float) -> Actor | None:
    """The user of a valid, unrevoked login token the browser sent (a reload), else None."""
    if st.session_state.get("auth_cookie") == "":
        return None  # this session already signed out or dropped the cookie it came with
    token = _cookie_token()
    claims = session.read_token(_session_secret(settings), token) if token else None
    if claims is None or _revoked().is_revoked(claims.sid, now):
        return None
    if not claims.valid_at(now):
        st.session_state["auth_notice"] = "Your session expired: please sign in again."
        return None
    st.session_state["auth_claims"] = claims
    st.session_state["auth_last_active"] = now  # the reload itself is activity
    return Actor(claims.user, "")  # the role comes from the users file, in _keep_session


def _sign_out(notice: str | None = None) -> None:
    """End the password session: its tokens are refused from now on, the cookie is cleared."""
    claims = st.session_state.get("auth_claims")
    if claims is not None:
        _revoked().revoke(claims.sid, until=claims.expires)
    for key in list(st.session_state):
        del st.session_state[key]
    st.session_state["auth_cookie"] = ""
    if notice:
        st.session_state["auth_notice"] = notice


def end_idle_session(settings: Settings) -> None:
    """In a timer fragment: rerun the whole app once the session is idle, to sign it out."""
    last = st.session_state.get("auth_last_active")
    if settings.auth_enabled and session.idle_expired(
        last, time.time(), settings.session_idle_minutes * 60
    ):
        st.rerun(scope="app")


def _cookie_token() -> str | None:
    """The login token cookie sent when this session connected (a reload sends it again)."""
    value = st.context.cookies.get(session.COOKIE_NAME)
    return value if isinstance(value, str) and value else None


def _cookie_script() -> None:
    """Set (or clear) the login cookie in the browser: Streamlit itself only reads cookies.

    st.html runs the script in the app's own document (not an iframe). Only our token, which
    is base64url text, goes into it; the cookie is SameSite=Strict, Secure over https.
    """
    token = st.session_state.get("auth_cookie")
    if token is None:
        return
    claims = st.session_state.get("auth_claims")
    max_age = max(0, int(claims.expires - time.time())) if token and claims else 0
    cookie = f"{session.COOKIE_NAME}={token}; Path=/; Max-Age={max_age}; SameSite=Strict"
    st.html(
        f"<script>document.cookie = {json.dumps(cookie)} + "
        '(location.protocol === "https:" ? "; Secure" : "");</script>',
        unsafe_allow_javascript=True,
    )


@st.cache_resource(show_spinner=False)
def _revoked() -> session.RevokedSessions:
    return session.RevokedSessions()


@st.cache_resource(show_spinner=False)
def _secret_for(data_dir: str, fingerprint: str, _configured: str | None) -> bytes:
    return session.load_secret(_configured, Path(data_dir))


def _session_secret(settings: Settings) -> bytes:
    """OPS_SESSION_SECRET, or the one generated into OPS_DATA_DIR; a problem stops the page."""
    configured = settings.session_secret
    fingerprint = hashlib.sha256((configured or "").encode()).hexdigest()
    try:
        return _secret_for(str(settings.data_dir), fingerprint, configured)
    except SettingsError as exc:
        st.error(str(exc), icon="⚙️")
        st.stop()
        raise


def current_actor(settings: Settings) -> Actor:
    """The session's actor for a page; a page never runs before login, so viewer is moot."""
    return signed_in(settings) or Actor("anonymous", "viewer")


@st.cache_resource(show_spinner=False)
def _throttle() -> LoginThrottle:
    return LoginThrottle()


def user_book(settings: Settings) -> UserBook:
    """The users file (and secrets' [users]/[oidc]); a broken file stops with its reason.

    Read on every run of a signed-in page, so it is parsed again only when the file changed.
    """
    try:
        extra = {k: st.secrets[k] for k in ("users", "oidc") if _has_secrets() and k in st.secrets}
        extra = _plain_dict(extra)
        path = settings.users_file
        return _book_for(str(path or ""), _file_stamp(path), repr(extra), extra)
    except SettingsError as exc:
        st.error(SCRUBBER(str(exc)), icon="⚙️")
        st.stop()
        raise


@st.cache_resource(show_spinner=False, max_entries=8)
def _book_for(path: str, stamp: tuple | None, extra_key: str, _extra: dict) -> UserBook:
    return load_users(Path(path) if path else None, _extra)


def _file_stamp(path: Path | None) -> tuple | None:
    try:
        info = path.stat() if path is not None else None
    except OSError:
        return None  # load_users says what is wrong with the file
    return None if info is None else (info.st_mtime_ns, info.st_size, info.st_ino)


def _plain_dict(value: object) -> object:
    if hasattr(value, "items"):
        return {k: _plain_dict(v) for k, v in value.items()}
    return value


def _sso_configured() -> bool:
    return _has_secrets() and "auth" in st.secrets


def sign_in_form(settings: Settings) -> None:
    """The login screen: user name and password, or single sign-on when configured."""
    st.title("Sign in")
    if notice := st.session_state.pop("auth_notice", None):
        st.warning(notice, icon="🔒")
    if _cookie_token() is not None:
        st.session_state["auth_cookie"] = ""  # a stale, revoked or foreign token: drop it
    _cookie_script()
    book = user_book(settings)
    if _sso_configured():
        st.button("Log in with single sign-on", on_click=st.login, key="sso_login")
        if getattr(st.user, "is_logged_in", False):
            st.error("Your account has no role in this console. Ask an admin to add it.")
    if not book.users and not _sso_configured():
        st.error(
            "No users are configured: set OPS_USERS_FILE (see `python -m lib.auth hash`) "
            "or OPS_AUTH=off for local use."
        )
        return
    with st.form("login"):
        name = st.text_input("User", key="login_user")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        _try_login(settings, book, name.strip(), password)


def _try_login(settings: Settings, book: UserBook, name: str, password: str) -> None:
    throttle, client = _throttle(), _client_address()
    verdict = throttle.attempt(name, client)
    if not verdict.allowed:
        st.error(verdict.message())
        return
    if verdict.delay:
        time.sleep(verdict.delay)  # the global slow-down under a flood of failures
    actor = book.check(name, password)
    if actor is None:
        st.error("Wrong user name or password.")
        return
    throttle.succeeded(name, client, verdict)
    now = time.time()
    st.session_state["actor"] = actor
    st.session_state["auth_claims"] = None  # _keep_session issues the first token
    st.session_state["auth_last_active"] = now
    st.rerun()


def _client_address() -> str:
    """The address the session's connection came from; Streamlit reports localhost as None."""
    address = getattr(st.context, "ip_address", None)
    # Not a str only where no real connection exists (AppTest's mocked runtime): one client.
    return address if isinstance(address, str) and address else "local"


def sidebar_user(settings: Settings, actor: Actor) -> None:
    """Who is signed in, with a Log out button (and the login cookie kept up to date)."""
    st.caption(f"Signed in as {md_escape(actor.user)} ({actor.role})")
    if settings.auth_enabled:
        st.button("Log out", key="logout", on_click=_log_out)
        _cookie_script()


def _log_out() -> None:
    _sign_out()
    if getattr(st.user, "is_logged_in", False):
        st.logout()


def md_escape(text: str) -> str:
    """``text`` safe inside markdown: task data and Flower's words are never markup.

    Every message built from an exception goes through here, so the console's secrets are
    scrubbed here too.
    """
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>|~$])", r"\\\1", SCRUBBER(str(text)))


#: Set by app.py on every run; missing when Streamlit ran a pages/ file on its own.
ROUTED = "routed_by_app"


def _hand_over_to_app(title: str) -> None:
    """Re-enter through app.py, keeping the deep link (``?goto=<title>`` + the query)."""
    query = {k: st.query_params.get_all(k) for k in st.query_params}
    query["goto"] = [title]
    try:
        st.switch_page("app.py", query_params={k: v[-1] for k, v in query.items() if v})
    except st.errors.StreamlitAPIException:
        return  # not under app.py at all (a page run alone): just show the page


def route_deep_link(pages: dict[str, list]) -> None:
    """In app.py: mark the run as routed and finish a hand-over from ``_hand_over_to_app``."""
    st.session_state[ROUTED] = True
    goto = st.query_params.get("goto")
    if not goto:
        return
    del st.query_params["goto"]
    for page in (p for section in pages.values() for p in section):
        if page.title == goto:
            st.switch_page(page, query_params={k: st.query_params[k] for k in st.query_params})


def error_rules(settings: Settings) -> tuple[failures.Rule, ...]:
    """The error categories: the user's file first, else (with the reason shown) the defaults."""
    try:
        return failures.load_rules(settings.error_rules_file)
    except ConsoleError as exc:
        st.error(f"{md_escape(exc)} Using the default categories.", icon="⚙️")
        return failures.load_rules()


def page(title: str) -> tuple[Settings, ClusterMonitor]:
    """Start a page: its title, the login-off banner when it applies, settings and monitor."""
    settings = get_settings()
    if signed_in(settings) is None:
        # Streamlit runs a pages/ script on its own (without app.py's login gate) when the
        # first visit after a server start is a deep link: every page checks login itself.
        sign_in_form(settings)
        st.stop()
    if not st.session_state.get(ROUTED):
        _hand_over_to_app(title)
    st.title(title)
    if not settings.auth_enabled:
        st.warning(
            "Login is off (OPS_AUTH=off): anyone who can reach this port uses the console.",
            icon="🔓",
        )
    return settings, get_monitor(settings)


def load_tasks(monitor: ClusterMonitor, force: bool = False) -> Reading[pd.DataFrame]:
    """The tasks reading; the first load of a large Flower shows a progress bar."""
    if monitor.sync.last_success is not None and not force:
        return monitor.tasks()
    bar = st.progress(0.0, text="Loading tasks from Flower…")

    def progress(done: int, total: int | None) -> None:
        share = min(done / total, 1.0) if total else 1 - 1 / (1 + done / 5000)
        of = f" of {total:,}" if total else ""
        bar.progress(share, text=f"Loading tasks from Flower… {done:,}{of}")

    try:
        return monitor.tasks(progress=progress, force=force)
    finally:
        bar.empty()


def show_reading(reading: Reading, what: str) -> bool:
    """Say what is wrong with a reading; True when there is a value to show."""
    if reading.error is not None and reading.value is None:
        st.error(f"No {what} to show yet. {md_escape(reading.error)}", icon="🚫")
        return False
    if reading.error is not None:
        st.warning(
            f"Showing the last good {what}, read {ago(_age(reading.at))}; the latest refresh "
            f"failed. {md_escape(reading.error)}",
            icon="⏳",
        )
    if reading.note:
        st.caption(md_escape(reading.note))
    return reading.value is not None


def viewer_tz() -> ZoneInfo:
    """The browser's timezone (UTC when the browser does not say)."""
    name = getattr(st.context, "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_frame(frame: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """A copy of ``frame`` with every UTC datetime column shown in ``tz``."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert(tz)
    return out


def download_csv(
    frame: pd.DataFrame | Callable[[], pd.DataFrame], file_stem: str, key: str
) -> None:
    """The ``Download CSV`` button for exactly ``frame``'s rows and columns.

    ``frame`` may be a function that makes it, called only on click: for a table with more rows
    than the page shows (the Audit log), built in full only when someone downloads it.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    st.download_button(
        "Download CSV",
        data=_csv_maker(frame),
        file_name=f"{file_stem}-{stamp}.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


def _csv_maker(frame: pd.DataFrame | Callable[[], pd.DataFrame]) -> Callable[[], bytes]:
    # Built on click, not on every rerun: a 100k-row CSV is too slow to make speculatively.
    return lambda: csv_bytes(frame() if callable(frame) else frame)


def ago(seconds: float | None) -> str:
    """``"just now"``, ``"42 s ago"``, ``"2 m ago"``, ``"3 h ago"``, ``"5 d ago"``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "never"
    if seconds < 2:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def fmt_seconds(seconds: float | None) -> str:
    """A duration for a KPI: ``"0.25 s"``, ``"12.3 s"``, ``"4 m 05 s"``; ``"—"`` when unknown."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} m {rest:02d} s"


def fmt_percent(value: float | None) -> str:
    """A percent with one decimal, the console's way of showing rates (``"0.9%"``)."""
    return "—" if value is None else f"{value:.1f}%"


def _age(at: float | None) -> float | None:
    return None if at is None else datetime.now(UTC).timestamp() - at


TIMES = ("sent", "received", "started", "succeeded", "failed", "retried", "revoked", "timestamp")


def task_detail(
    monitor: ClusterMonitor,
    task_id: str,
    tz: ZoneInfo,
    desk: ActionDesk | None = None,
    actor: Actor | None = None,
) -> None:
    """One task in full: identity, times, arguments, outcome, lineage and retry links."""
    try:
        task = monitor.task(task_id)
    except FlowerNotFound:
        st.warning(
            f"Flower does not know task {md_escape(task_id)} (never seen, or evicted from its "
            "memory)."
        )
        return
    except ConsoleError as exc:
        st.error(f"Could not load task {md_escape(task_id)}. {md_escape(exc)}", icon="🚫")
        return
    one = frames.tasks_frame([task])
    revealed = st.session_state.get("revealed") == task_id
    if not revealed:
        one = mask_frame(one, monitor.settings.sensitive_keys)
    row = local_frame(one, tz).iloc[0]
    st.subheader(f"Task {md_escape(task_id)}")
    if desk is not None and actor is not None:
        cols = st.columns([1, 1, 1, 1, 4])
        for col, action in zip(cols, ("revoke", "terminate", "retry", "reveal"), strict=False):
            with col:
                action_button(actor, action, [task_id], key=f"one_{action}")
    if revealed:
        st.caption("Sensitive values are shown unmasked for this task (recorded in the audit log).")
    cols = st.columns(5)
    for col, field in zip(cols, ("name", "state", "worker", "queue", "retries"), strict=True):
        col.metric(field.capitalize(), _text(row[field]))
    if _text(row["flower_state"]) != _text(row["state"]):
        st.caption(
            f"Flower's state: {md_escape(_text(row['flower_state']))}, with a revoked time. "
            "Celery ranks custom states above REVOKED, so Flower keeps the state the task was "
            "in when it was stopped; the console counts it as REVOKED."
        )
    times = {f: row[f] for f in TIMES if pd.notna(row[f])}
    st.dataframe(pd.DataFrame([times]), hide_index=True) if times else st.caption("No timestamps.")
    st.caption(
        f"Duration {fmt_seconds(row['duration'])} · wait {fmt_seconds(row['wait'])} · times in {tz}"
    )
    # Task data is shown as code, never as markdown or HTML: it is whatever a producer sent.
    for field in ("args", "kwargs", "result", "exception", "traceback"):
        if pd.notna(row[field]) and row[field] != "":
            st.text(field)
            st.code(SCRUBBER(row[field]), language=None, wrap_lines=True)
    lineage = frames.task_lineage(one, task_id)  # ids only: masking leaves them as they are
    if desk is not None:
        try:
            retries = desk.audit.retry_links(task_id)
            lineage["retried as"], lineage["retry of"] = retries["retried_as"], retries["retry_of"]
        except AuditError as exc:
            st.caption(f"Retry links unknown: {md_escape(exc)}")
    _lineage_links(lineage)


def keep_selection_valid(key: str, ids: pd.Series) -> None:
    """Clear a table's row selection when its rows changed: selections are row positions."""
    fingerprint = hash(tuple(ids))
    if st.session_state.get(f"{key}_rows") != fingerprint:
        st.session_state[f"{key}_rows"] = fingerprint
        st.session_state[key] = {"selection": {"rows": [], "columns": []}}


def _lineage_links(lineage: dict[str, list[str]]) -> None:
    for label, ids in lineage.items():
        if not ids:
            continue
        st.text(label)
        for other in ids[:50]:
            key = f"link_{label.replace(' ', '_')}_{other}"
            st.button(md_escape(other), key=key, on_click=_open_task, args=(other,))


def _open_task(task_id: str) -> None:
    st.query_params["task"] = task_id


def _text(value: object) -> str:
    return "—" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


#: The analytics time ranges; "Custom" asks for two dates.
TIME_RANGES = {
    "Last 15 minutes": timedelta(minutes=15),
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Custom": None,
}


def time_range(now: datetime | None = None) -> tuple[datetime, datetime, str]:
    """The analytics range picker, one choice shared by every analytics page of a session.

    Returns ``(start, end, label)`` in UTC. Widget state is dropped on page change, so the
    choice is kept under a plain session key as well.
    """
    now = now or datetime.now(UTC)
    names = list(TIME_RANGES)
    chosen = st.session_state.get("analytics_range", "Last hour")
    label = st.selectbox("Time range", names, index=names.index(chosen), key="time_range_pick")
    st.session_state["analytics_range"] = label
    if TIME_RANGES[label] is not None:
        return now - TIME_RANGES[label], now, label
    tz = viewer_tz()
    today = now.astimezone(tz).date()
    default = st.session_state.get("analytics_dates", (today - timedelta(days=1), today))
    picked = st.date_input("Between", default, key="time_range_dates")
    if not (isinstance(picked, tuple) and len(picked) == 2):
        st.caption("Pick an end date.")
        st.stop()
    st.session_state["analytics_dates"] = picked
    start = datetime.combine(picked[0], datetime.min.time(), tz).astimezone(UTC)
    end = datetime.combine(picked[1], datetime.max.time(), tz).astimezone(UTC)
    return start, end, f"{picked[0]:%Y-%m-%d} – {picked[1]:%Y-%m-%d}"


def held_since_note(tasks: pd.DataFrame, start: datetime, label: str) -> None:
    """A caption when Flower's tasks reach back less far than the range (``trends.held_since``).

    "Flower holds tasks since 09:05 (Europe/Berlin); the last 7 days can't be shown before
    that." — in the viewer's timezone, with the date when it is not today there.
    """
    since = trends.held_since(tasks, start)
    if since is None:
        return
    tz = viewer_tz()
    local = since.astimezone(tz)
    today = datetime.now(UTC).astimezone(tz).date()
    when = f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"
    # A preset reads as a phrase ("the last 7 days"); a custom label is a pair of dates.
    scope = f"the {label.lower()}" if label in TIME_RANGES else f"the range {label}"
    st.caption(
        md_escape(f"Flower holds tasks since {when} ({tz}); {scope} can't be shown before that.")
    )


# -- actions: button → confirmation dialog → ActionDesk.perform, once per operation id ------

PENDING = "pending_action"
#: The targets a stopped bulk action did not send, offered as a new confirmed action.
UNSENT = "unsent_action"


def action_button(
    actor: Actor,
    action: str,
    targets: list[str],
    params: dict | None = None,
    key: str = "",
    label: str | None = None,
) -> None:
    """A button that opens the confirmation for ``action``; hidden when the role can't act.

    Hiding is a courtesy: ``ActionDesk.perform`` checks the role again.
    """
    spec = ACTIONS[action]
    if not allows(actor.role, spec.role):
        return
    st.button(
        label or spec.label,
        key=key or f"btn_{action}",
        disabled=not targets or PENDING in st.session_state,
        on_click=_request,
        args=(action, list(targets), dict(params or {})),
    )


def allows_admin(actor: Actor) -> bool:
    return allows(actor.role, "admin")


def task_types(monitor: ClusterMonitor) -> list[str]:
    """Task names Flower has seen, or none (with the reason) when it can't say."""
    try:
        return monitor.client.task_types()
    except ConsoleError as exc:
        st.caption(f"Task types unavailable: {md_escape(exc)}")
        return []


def worker_controls(actor: Actor, worker: str, task_types: list[str]) -> None:
    """Every declared worker control, one tab per group (pool, consumers, limits, shut down)."""
    groups = control_groups()
    for tab, specs in zip(st.tabs(list(groups)), groups.values(), strict=True):
        with tab:
            _control_form(actor, specs, worker, "ctl", task_types=task_types)


def consumer_controls(actor: Actor, workers: list[str], key: str, queue: str = "") -> None:
    """Add or cancel a queue consumer on the given worker(s)."""
    specs = control_groups()[CONSUMERS]
    _control_form(actor, specs, workers[0] if workers else "", key, defaults={"queue": queue})


def _control_form(
    actor: Actor,
    specs: list[ActionSpec],
    worker: str,
    key: str,
    defaults: dict | None = None,
    task_types: list[str] | None = None,
) -> None:
    """The declared inputs, each once, and a confirmed button per action.

    A row starts with an action that asks something new; the actions after it that ask nothing
    new share its inputs and sit beside it.
    """
    task_type = None
    if any(spec.target == "task_type" for spec in specs):
        task_type = st.selectbox("Task type", task_types or [], key=f"{key}_task_type")
    values: dict = {}
    for inputs, row in _form_rows(specs):
        for note in dict.fromkeys(spec.note for spec in row if spec.note):
            st.caption(note)
        for place, item in zip(_places(len(inputs)), inputs, strict=True):
            values[item.param] = _form_input(place, item, key, (defaults or {}).get(item.param))
        for place, spec in zip(_places(len(row)), row, strict=True):
            with place:
                targets, params = _control_request(spec, worker, task_type, values)
                action_button(actor, spec.name, targets, params, key=f"{key}_{spec.name}")


def _form_rows(specs: list[ActionSpec]) -> list[tuple[list[Input], list[ActionSpec]]]:
    rows: list[tuple[list[Input], list[ActionSpec]]] = []
    seen: set[str] = set()
    for spec in specs:
        new = [item for item in spec.form if item.param not in seen]
        seen.update(item.param for item in new)
        if new or not rows:
            rows.append((new, [spec]))
        else:
            rows[-1][1].append(spec)
    return rows


def _places(count: int) -> list:
    """Where ``count`` widgets go: side by side when several, else one place in the flow."""
    return list(st.columns(count)) if count > 1 else [st.container() for _ in range(count)]


def _form_input(place, item: Input, key: str, default: object = None) -> object:
    widget_key = f"{key}_{item.param}"
    if isinstance(item, Number):
        value = place.number_input(
            item.label, min_value=item.minimum, value=item.default, step=1, key=widget_key
        )
        return int(value)
    if isinstance(item, Seconds):
        seconds = place.number_input(item.label, min_value=0.0, value=0.0, key=widget_key)
        return seconds or None
    text = place.text_input(
        item.label, value=default or "", placeholder=item.placeholder, key=widget_key
    )
    return text.strip()


def _control_request(
    spec: ActionSpec, worker: str, task_type: str | None, values: dict
) -> tuple[list[str], dict]:
    """The targets and parameters a control's button asks for, by its target kind."""
    params = {item.param: values[item.param] for item in spec.form}
    if spec.target == "task_type":
        return ([task_type] if task_type else []), {"worker": worker, **params}
    return ([worker] if worker else []), params


def _request(action: str, targets: list[str], params: dict) -> None:
    st.session_state[PENDING] = {
        "action": action,
        "targets": targets,
        "params": params,
        "op_id": uuid.uuid4().hex,
    }


def _clear_pending() -> None:
    st.session_state.pop(PENDING, None)


def action_dialog(desk: ActionDesk, actor: Actor) -> ActionResult | None:
    """Open the pending action's confirmation, if any; return (once) the last result."""
    pending = st.session_state.get(PENDING)
    if pending:
        title = f"{ACTIONS[pending['action']].label}?"
        st.dialog(title, width="large", on_dismiss=_clear_pending)(_confirm)(desk, actor, pending)
    result = st.session_state.pop("action_result", None)
    if result is not None:
        icon = "✅" if result.ok else ("⛔" if result.outcome == "refused" else "⚠️")
        st.toast(md_escape(result.message), icon=icon)
    _offer_the_rest()
    return result


def _offer_the_rest() -> None:
    """After a bulk action stopped early: what happened, and the rest as a new action."""
    unsent = st.session_state.get(UNSENT)
    if not unsent:
        return
    st.warning(md_escape(unsent["message"]), icon="⚠️")
    left, right, _ = st.columns([2, 1, 3])
    left.button(
        f"Send the {len(unsent['targets']):,} not sent",
        key="send_rest",
        on_click=_send_rest,
        disabled=PENDING in st.session_state,
    )
    right.button("Dismiss", key="dismiss_rest", on_click=st.session_state.pop, args=(UNSENT, None))


def _send_rest() -> None:
    # A new operation id: the rest is a new action with its own confirmation and audit row.
    unsent = st.session_state.pop(UNSENT)
    _request(unsent["action"], unsent["targets"], unsent["params"])


def _confirm(desk: ActionDesk, actor: Actor, pending: dict) -> None:
    spec = ACTIONS[pending["action"]]
    params = dict(pending["params"])
    if spec.target == "task":
        ready = _task_preview(desk, pending)
    else:
        ready = True
        st.text(f"{spec.label} on {pending['targets'][0]}")
        shown = {k: v for k, v in params.items() if k not in spec.asked}
        if shown:
            st.dataframe(pd.DataFrame([shown]), hide_index=True)
    ready = _dialog_inputs(desk, spec, pending, params, ready)
    left, right = st.columns(2)
    if left.button("Confirm", type="primary", key="dialog_confirm", disabled=not ready):
        done = st.session_state.setdefault("done_ops", set())
        still_pending = st.session_state.get(PENDING, {}).get("op_id") == pending["op_id"]
        if still_pending and pending["op_id"] not in done:  # a double click acts once
            done.add(pending["op_id"])
            _perform(desk, actor, pending, params)
        _clear_pending()
        st.rerun()
    # A click inside a dialog reruns only the dialog: close it with a full rerun.
    if right.button("Cancel", key="dialog_cancel"):
        _clear_pending()
        st.rerun()


def _perform(desk: ActionDesk, actor: Actor, pending: dict, params: dict) -> None:
    """Send with a progress bar; keep the result, and the unsent rest when sending stopped."""
    action, targets = pending["action"], pending["targets"]
    spec = ACTIONS[action]
    bar = st.progress(0.0, text=f"Sending 0 of {len(targets):,}…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Sent {done:,} of {total:,}…")

    result = desk.perform(actor, action, targets, params, pending["op_id"], progress=progress)
    st.session_state["action_result"] = result
    if result.not_sent:
        # What the dialog asked is asked again: the rest is confirmed anew.
        rest = {k: v for k, v in params.items() if k not in spec.asked}
        st.session_state[UNSENT] = {
            "action": action,
            "targets": list(result.not_sent),
            "params": rest,
            "message": result.message,
        }
    if spec.reveals and result.ok:
        st.session_state["revealed"] = targets[0]
    st.session_state["acted_at"] = datetime.now(UTC).timestamp()


def _task_preview(desk: ActionDesk, pending: dict) -> bool:
    """The dry run of a task action: the bulk limit first (nothing is looked up over it)."""
    if too_many := desk.limit_refusal(len(pending["targets"])):
        st.error(md_escape(too_many))
        return False
    # Kept with the pending action: a rerun of the dialog must not read every task again.
    preview = pending.get("preview") or desk.preview(pending["action"], pending["targets"])
    pending["preview"] = preview
    return _show_preview(preview)


def _dialog_inputs(
    desk: ActionDesk, spec: ActionSpec, pending: dict, params: dict, ready: bool
) -> bool:
    """What the action's declaration asks in the dialog; False while Confirm must wait."""
    for item in spec.asks:
        key = f"dialog_{item.param}"
        if isinstance(item, Choice):
            params[item.param] = st.selectbox(item.label, item.options, key=key)
        elif isinstance(item, TypeName):
            params[item.param] = st.text_input(item.label, key=key)
        elif isinstance(item, RetryAgain) and ready:
            ready = _retry_again(desk, pending["preview"], params, item)
    return ready


def _show_preview(preview) -> bool:
    st.write(f"**{preview.count}** task(s) will be affected.")
    # Every reason in full, as text, above the tables (a table cell cuts long sentences).
    for reason in preview.reasons:
        st.warning(md_escape(reason))
    if preview.sample:
        st.dataframe(pd.DataFrame(list(preview.sample)), hide_index=True)
    if preview.skipped:
        skipped = pd.DataFrame(list(preview.skipped), columns=["task", "why"])
        st.dataframe(skipped, hide_index=True)
    return preview.count > 0


def _retry_again(desk: ActionDesk, preview, params: dict, item: RetryAgain) -> bool:
    """Warn about tasks retried before; Confirm needs 'Retry again anyway' ticked."""
    try:
        earlier = desk.audit.earlier_retries(preview.eligible)
    except AuditError as exc:  # nothing can be sent unaudited anyway: say why, allow no Confirm
        st.error(f"{md_escape(exc)} Nothing can be sent until the audit log works again.")
        return False
    if not earlier:
        return True
    tz = viewer_tz()
    lines = [
        f"- task {md_escape(t)} was {md_escape(found[-1].describe(tz))}"
        for t, found in earlier.items()
    ]
    more = f"\n- and {len(lines) - 10} more" if len(lines) > 10 else ""
    st.warning(
        f"{len(earlier)} of these task(s) were retried before; retrying again sends another "
        "copy:\n" + "\n".join(lines[:10]) + more,
        icon="🔁",
    )
    again = st.checkbox(item.label, key=f"dialog_{item.param}")
    if again:
        params[item.param] = sorted({e.audit_id for found in earlier.values() for e in found})
    return again


#: After an action, watch Flower this long for the new state (event lag is 1-3 s).
FOLLOW_SECONDS = 15


def follow_up(monitor: ClusterMonitor, shown_version: int) -> None:
    """For a few seconds after an action, rerun the page as soon as Flower shows a change."""
    acted = st.session_state.get("acted_at")
    if acted is not None and time.time() - acted < FOLLOW_SECONDS:
        _follow(monitor, shown_version)


@st.fragment(run_every=2)
def _follow(monitor: ClusterMonitor, shown_version: int) -> None:
    monitor.tasks(force=True)
    if monitor.sync.version != shown_version:
        st.session_state.pop("tasks_reading", None)
        st.rerun(scope="app")

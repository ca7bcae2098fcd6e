"""Login and the signed-in session: the one gate app.py runs before any page.

``lib/auth`` holds the users and the throttle, ``lib/session`` the signed tokens (pure); this
module keeps them in session state. A password login keeps: the actor, the session's token
claims, the time of its last activity, and the token the browser should hold ("" = clear the
cookie). Every full run of app.py re-reads the users file (cached by its mtime) and re-derives
the roles (every cluster's), signs out a removed user or an idle session, and re-issues the
token now and then.
Fragment timer reruns never call ``signed_in``, so they do not count as activity: idle means no
one clicked or navigated (a click inside a fragment counts neither).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import streamlit as st

from lib import session
from lib.auth import LOCAL_ACTOR_NAME, Actor, UserBook
from lib.errors import SettingsError
from lib.redact import SCRUBBER
from lib.settings import Settings
from lib.ui import keys
from lib.ui.clusters import role_here
from lib.ui.formatting import md_escape
from lib.ui.wiring import book_for, has_secrets, revoked_sessions, secret_for, throttle

__all__ = [
    "current_actor",
    "end_idle_session",
    "sidebar_user",
    "sign_in_form",
    "signed_in",
    "user_book",
]


def signed_in(settings: Settings) -> Actor | None:
    """Who is using this session, or None before login. OPS_AUTH=off: the local admin."""
    if not settings.auth_enabled:
        return Actor(LOCAL_ACTOR_NAME, "admin")
    now = time.time()
    actor = st.session_state.get(keys.ACTOR) or _resume_from_cookie(settings, now)
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
    if session.idle_expired(st.session_state.get(keys.AUTH_LAST_ACTIVE), now, idle * 60):
        return _sign_out(f"You were signed out after {idle} minutes without activity.")
    claims = st.session_state.get(keys.AUTH_CLAIMS)
    if claims is None:  # just signed in with a password: the session's first token
        claims = session.new_claims(actor.user, now, idle * 60)
        st.session_state[keys.AUTH_COOKIE] = None
    if (
        st.session_state.get(keys.AUTH_COOKIE) is None
        or now - claims.issued >= session.REFRESH_AFTER
    ):
        claims = session.renewed(claims, now, idle * 60)
        if not claims.valid_at(now):
            return _sign_out("Your session reached its maximum age: please sign in again.")
        st.session_state[keys.AUTH_CLAIMS] = claims
        st.session_state[keys.AUTH_COOKIE] = session.issue_token(_session_secret(settings), claims)
    st.session_state[keys.AUTH_LAST_ACTIVE] = now
    # Promoted or demoted in the users file since the last run, on any one cluster.
    actor = entry.actor(actor.user)
    st.session_state[keys.ACTOR] = actor
    return actor


def _resume_from_cookie(settings: Settings, now: float) -> Actor | None:
    """The user of a valid, unrevoked login token the browser sent (a reload), else None."""
    if st.session_state.get(keys.AUTH_COOKIE) == "":
        return None  # this session already signed out or dropped the cookie it came with
    token = _cookie_token()
    claims = session.read_token(_session_secret(settings), token) if token else None
    if claims is None or revoked_sessions().is_revoked(claims.sid, now):
        return None
    if not claims.valid_at(now):
        st.session_state[keys.AUTH_NOTICE] = "Your session expired: please sign in again."
        return None
    st.session_state[keys.AUTH_CLAIMS] = claims
    st.session_state[keys.AUTH_LAST_ACTIVE] = now  # the reload itself is activity
    return Actor(claims.user, "")  # the role comes from the users file, in _keep_session


def _sign_out(notice: str | None = None) -> None:
    """End the password session: its tokens are refused from now on, the cookie is cleared."""
    claims = st.session_state.get(keys.AUTH_CLAIMS)
    if claims is not None:
        revoked_sessions().revoke(claims.sid, until=claims.expires)
    for key in list(st.session_state):
        del st.session_state[key]
    st.session_state[keys.AUTH_COOKIE] = ""
    if notice:
        st.session_state[keys.AUTH_NOTICE] = notice


def end_idle_session(settings: Settings) -> None:
    """In a timer fragment: rerun the whole app once the session is idle, to sign it out."""
    last = st.session_state.get(keys.AUTH_LAST_ACTIVE)
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
    token = st.session_state.get(keys.AUTH_COOKIE)
    if token is None:
        return
    claims = st.session_state.get(keys.AUTH_CLAIMS)
    max_age = max(0, int(claims.expires - time.time())) if token and claims else 0
    cookie = f"{session.COOKIE_NAME}={token}; Path=/; Max-Age={max_age}; SameSite=Strict"
    st.html(
        f"<script>document.cookie = {json.dumps(cookie)} + "
        '(location.protocol === "https:" ? "; Secure" : "");</script>',
        unsafe_allow_javascript=True,
    )


def _session_secret(settings: Settings) -> bytes:
    """OPS_SESSION_SECRET, or the one generated into OPS_DATA_DIR; a problem stops the page."""
    configured = settings.session_secret
    fingerprint = hashlib.sha256((configured or "").encode()).hexdigest()
    try:
        return secret_for(str(settings.data_dir), fingerprint, configured)
    except SettingsError as exc:
        st.error(str(exc), icon="⚙️")
        st.stop()
        raise


def current_actor(settings: Settings) -> Actor:
    """The session's actor for a page; a page never runs before login, so viewer is moot."""
    return signed_in(settings) or Actor("anonymous", "viewer")


def user_book(settings: Settings) -> UserBook:
    """The users file (and secrets' [users]/[oidc]); a broken file stops with its reason.

    Read on every run of a signed-in page, so it is parsed again only when the file changed.
    """
    try:
        extra = {k: st.secrets[k] for k in ("users", "oidc") if has_secrets() and k in st.secrets}
        extra = _plain_dict(extra)
        path = settings.users_file
        return book_for(str(path or ""), _file_stamp(path), repr(extra), extra)
    except SettingsError as exc:
        st.error(SCRUBBER(str(exc)), icon="⚙️")
        st.stop()
        raise


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
    return has_secrets() and "auth" in st.secrets


def sign_in_form(settings: Settings) -> None:
    """The login screen: user name and password, or single sign-on when configured."""
    st.title("Sign in")
    if notice := st.session_state.pop(keys.AUTH_NOTICE, None):
        st.warning(notice, icon="🔒")
    if _cookie_token() is not None:
        st.session_state[keys.AUTH_COOKIE] = ""  # a stale, revoked or foreign token: drop it
    _cookie_script()
    book = user_book(settings)
    if _sso_configured():
        st.button("Log in with single sign-on", on_click=st.login, key=keys.SSO_LOGIN)
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
    guard, client = throttle(), _client_address()
    verdict = guard.attempt(name, client)
    if not verdict.allowed:
        st.error(verdict.message())
        return
    if verdict.delay:
        time.sleep(verdict.delay)  # the global slow-down under a flood of failures
    actor = book.check(name, password)
    if actor is None:
        st.error("Wrong user name or password.")
        return
    guard.succeeded(name, client, verdict)
    now = time.time()
    st.session_state[keys.ACTOR] = actor
    st.session_state[keys.AUTH_CLAIMS] = None  # _keep_session issues the first token
    st.session_state[keys.AUTH_LAST_ACTIVE] = now
    st.rerun()


def _client_address() -> str:
    """The address the session's connection came from; Streamlit reports localhost as None."""
    address = getattr(st.context, "ip_address", None)
    # Not a str only where no real connection exists (AppTest's mocked runtime): one client.
    return address if isinstance(address, str) and address else "local"


def sidebar_user(settings: Settings, actor: Actor) -> None:
    """Who is signed in, with a Log out button (and the login cookie kept up to date)."""
    st.caption(f"Signed in as {md_escape(actor.user)} ({role_here(actor)})")
    if settings.auth_enabled:
        st.button("Log out", key=keys.LOGOUT, on_click=_log_out)
        _cookie_script()


def _log_out() -> None:
    _sign_out()
    if getattr(st.user, "is_logged_in", False):
        st.logout()

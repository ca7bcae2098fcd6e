"""Signed-in sessions that survive a browser reload: login tokens, their secret, revocation, idle.

A token is ``v1.<payload>.<signature>``: the payload is base64url JSON with the user name
(``u``), a session id (``sid``), the issue time (``iat``), the expiry (``exp``) and the time of
the password check (``auth``); the signature is HMAC-SHA256 over ``v1.<payload>`` with the
session secret (``OPS_SESSION_SECRET``, else a random secret generated once into
``OPS_DATA_DIR/session-secret`` with owner-only permissions). It never holds the password or
the role: the role is re-read from the users file on every page run, so a demotion applies.

Invariants:

- ``read_token`` returns claims only for a token this secret signed, unchanged; expiry is a
  separate check (``Claims.valid_at``) so an expired session can be told apart from a forgery.
- A token lives ``OPS_SESSION_IDLE_MINUTES`` from its issue and is re-issued (same ``sid``)
  as the user works, so a reload after that long without activity finds it expired. No
  session outlives ``MAX_SESSION_SECONDS`` from its password check.
- Logging out revokes the session id: every token of that session, including older copies,
  is refused until it would have expired anyway. Revocations live in the server's memory
  (at most ``MAX_REVOKED``), so a restart forgets them; tokens are short-lived for that reason.
- Idle means no user interaction: a full page run (a click, a navigation, a reload) is
  activity; a fragment's ``run_every`` timer rerun is not, so an open, auto-refreshing tab
  still signs out after ``OPS_SESSION_IDLE_MINUTES`` (``idle_expired``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from lib.errors import SettingsError

__all__ = [
    "COOKIE_NAME",
    "SECRET_FILE",
    "Claims",
    "RevokedSessions",
    "idle_expired",
    "issue_token",
    "load_secret",
    "new_claims",
    "read_token",
    "renewed",
]

#: The browser cookie holding the token (Path=/, SameSite=Strict).
COOKIE_NAME = "ops_session"
#: Where a generated secret is kept inside OPS_DATA_DIR.
SECRET_FILE = "session-secret"
TOKEN_VERSION = "v1"
#: A signed-in page run re-issues a token older than this, so its expiry follows activity
#: without writing the cookie on every click.
REFRESH_AFTER = 60.0
#: Even an active session signs in again after this long (a stolen cookie is not forever).
MAX_SESSION_SECONDS = 12 * 3600.0
#: Revoked session ids remembered at once; beyond it the soonest-to-expire is forgotten.
MAX_REVOKED = 10_000


@dataclass(frozen=True)
class Claims:
    """What a token says: who, which session, issued and expiring when (epoch seconds)."""

    user: str
    sid: str
    issued: float
    expires: float
    auth_time: float

    def valid_at(self, now: float) -> bool:
        return now < self.expires


def new_claims(user: str, now: float, lifetime: float) -> Claims:
    """Claims for a session that has just checked a password."""
    sid = secrets.token_urlsafe(16)
    return Claims(user, sid, now, min(now + lifetime, now + MAX_SESSION_SECONDS), now)


def renewed(claims: Claims, now: float, lifetime: float) -> Claims:
    """The same session re-issued at ``now``: a later expiry, never past its maximum age."""
    limit = claims.auth_time + MAX_SESSION_SECONDS
    return Claims(claims.user, claims.sid, now, min(now + lifetime, limit), claims.auth_time)


def issue_token(secret: bytes, claims: Claims) -> str:
    """The signed token for ``claims``: URL- and cookie-safe text."""
    body = {
        "u": claims.user,
        "sid": claims.sid,
        "iat": claims.issued,
        "exp": claims.expires,
        "auth": claims.auth_time,
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
    return f"{TOKEN_VERSION}.{payload}.{_b64(_sign(secret, payload))}"


def read_token(secret: bytes, token: str) -> Claims | None:
    """The claims of a token ``secret`` signed, else None (forged, altered, malformed)."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION:
        return None
    _, payload, signature = parts
    try:
        given = _unb64(signature)
        body = json.loads(_unb64(payload))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(given, _sign(secret, payload)) or not isinstance(body, dict):
        return None
    return _claims_from(body)


def _claims_from(body: dict) -> Claims | None:
    user, sid = body.get("u"), body.get("sid")
    times = [body.get(k) for k in ("iat", "exp", "auth")]
    if not (isinstance(user, str) and user and isinstance(sid, str) and sid):
        return None
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
        return None
    return Claims(user, sid, float(times[0]), float(times[1]), float(times[2]))


def _sign(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, f"{TOKEN_VERSION}.{payload}".encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the secret ----------------------------------------------------------------------------


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """``OPS_SESSION_SECRET``, else the secret in ``data_dir``, generated there on first use.

    The file is created complete or not at all (written aside, then linked into place), so
    two console processes starting together agree on one secret. A file others may read is
    refused: anyone who can read it can sign in as any user.
    """
    if configured:
        return configured.encode("utf-8")
    path = Path(data_dir) / SECRET_FILE
    try:
        if not path.exists():
            _create_secret_file(path)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SettingsError(
                f"{path} (the generated OPS_SESSION_SECRET) can be read by other users: "
                f"run `chmod 600 {path}`."
            )
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise SettingsError(
            f"OPS_SESSION_SECRET is not set and {path} could not be used ({exc.strerror}): "
            "set OPS_SESSION_SECRET, or make OPS_DATA_DIR writable."
        ) from None
    if len(secret) < 32:
        raise SettingsError(f"{path} is too short to be a session secret: delete it to renew.")
    return secret


def _create_secret_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        # Another process may have been first: its secret is then the one everybody uses.
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    finally:
        aside.unlink(missing_ok=True)


# -- revocation and idle time --------------------------------------------------------------


class RevokedSessions:
    """Session ids signed out before their tokens expired; thread-safe and bounded."""

    def __init__(self, max_entries: int = MAX_REVOKED):
        self.max_entries = max_entries
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, sid: str, until: float) -> None:
        """Refuse ``sid`` until ``until``, when no token of it can be valid any more."""
        with self._lock:
            self._until[sid] = max(until, self._until.get(sid, until))
            while len(self._until) > self.max_entries:
                # The entry whose tokens expire first does the least harm when forgotten.
                del self._until[min(self._until, key=self._until.__getitem__)]

    def is_revoked(self, sid: str, now: float) -> bool:
        with self._lock:
            until = self._until.get(sid)
            if until is not None and now > until:
                del self._until[sid]
                return False
            return until is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._until)


def idle_expired(last_active: float | None, now: float, idle_seconds: float) -> bool:
    """True when more than ``idle_seconds`` passed since the session's last activity."""
    return last_active is not None and now - last_active > idle_seconds

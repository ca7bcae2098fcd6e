"""Who may use the console and what they may do: users, password hashes, roles, lockout.

Roles, weakest first: ``viewer`` sees everything and acts on nothing; ``operator`` acts on
tasks; ``admin`` also controls workers and may reveal masked values. ``allows`` is the check
``lib/actions.py`` runs for every action; a page hiding a button is a courtesy, not the control.

Users come from a TOML file (``OPS_USERS_FILE``) or ``.streamlit/secrets.toml``::

    [users.olga]
    password_hash = "scrypt$32768$8$1$<salt>$<hash>"   # python -m lib.auth hash
    role = "operator"

    [oidc]                       # optional, for st.login: e-mail → role
    default_role = "viewer"
    roles = { "ada@example.com" = "admin", "*@example.com" = "operator" }

Passwords are stored only as salted scrypt hashes and compared in constant time. After
``MAX_FAILURES`` failed attempts for a user within ``FAILURE_WINDOW`` seconds, further attempts
for that user wait until the window has passed.
"""

from __future__ import annotations

import base64
import fnmatch
import getpass
import hashlib
import hmac
import secrets
import sys
import threading
import time
import tomllib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.errors import SettingsError

__all__ = [
    "ROLES",
    "Actor",
    "LoginThrottle",
    "UserBook",
    "allows",
    "hash_password",
    "load_users",
    "verify_password",
]

ROLES = ("viewer", "operator", "admin")
#: With OPS_AUTH=off there is no login: the local user is trusted fully, and a banner says so.
LOCAL_ACTOR_NAME = "local"
#: scrypt cost: ~50 ms and 32 MiB per check here, slow enough to make guessing expensive.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
MAX_FAILURES = 5
FAILURE_WINDOW = 300.0


@dataclass(frozen=True)
class Actor:
    """The person acting, as the audit log records them."""

    user: str
    role: str


def allows(role: str, needed: str) -> bool:
    """True when ``role`` is at least ``needed``; unknown roles are allowed nothing."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


# -- password hashes -----------------------------------------------------------------------


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash in the form ``scrypt$n$r$p$salt$hash`` (base64 parts)."""
    salt = salt or secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)]
    )


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a ``hash_password`` string."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


#: Checked when a user name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


# -- users ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserBook:
    """Users with their hashes and roles, plus the e-mail → role map for single sign-on."""

    users: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name → (hash, role)
    oidc_roles: Mapping[str, str] = field(default_factory=dict)  # e-mail glob → role
    oidc_default: str | None = None

    def check(self, name: str, password: str) -> Actor | None:
        """The actor for a correct name and password, else None (same cost either way)."""
        stored, role = self.users.get(name, (_DUMMY_HASH, ""))
        ok = verify_password(password, stored)
        return Actor(name, role) if ok and name in self.users else None

    def role_for_email(self, email: str) -> str | None:
        """The role of a single-sign-on user: exact e-mail first, then patterns, then default."""
        email = email.strip().lower()
        for pattern, role in self.oidc_roles.items():
            if pattern.lower() == email:
                return role
        for pattern, role in self.oidc_roles.items():
            if fnmatch.fnmatch(email, pattern.lower()):
                return role
        return self.oidc_default


def load_users(path: Path | None, secrets_users: Mapping[str, Any] | None = None) -> UserBook:
    """Read users from ``path`` (TOML) and/or secrets; a malformed entry names itself."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise SettingsError(f"OPS_USERS_FILE: {path} does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"OPS_USERS_FILE: {path} is not valid TOML ({exc}).") from None
    merged = {**(secrets_users or {}), **data}
    users = {}
    for name, entry in (merged.get("users") or {}).items():
        hashed, role = (entry or {}).get("password_hash"), (entry or {}).get("role")
        if not isinstance(hashed, str) or not hashed.startswith("scrypt$"):
            raise SettingsError(
                f"User {name!r} needs a password_hash from `python -m lib.auth hash`."
            )
        if role not in ROLES:
            raise SettingsError(f"User {name!r} has role {role!r}; use one of {', '.join(ROLES)}.")
        users[name] = (hashed, role)
    oidc = merged.get("oidc") or {}
    roles = dict(oidc.get("roles") or {})
    default = oidc.get("default_role")
    for role in [*roles.values(), *([default] if default else [])]:
        if role not in ROLES:
            raise SettingsError(f"[oidc] role {role!r} is not one of {', '.join(ROLES)}.")
    return UserBook(users, roles, default)


# -- lockout -------------------------------------------------------------------------------


class LoginThrottle:
    """Counts failed logins per user; after too many in the window, attempts must wait."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, name: str) -> float:
        """How long ``name`` must wait before the next attempt (0 when allowed now)."""
        with self._lock:
            recent = self._recent(name)
            if len(recent) < self.max_failures:
                return 0.0
            return max(0.0, recent[0] + self.window - self.clock())

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name).append(self.clock())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)

    def _recent(self, name: str) -> deque[float]:
        times = self._failures.setdefault(name, deque(maxlen=self.max_failures))
        while times and self.clock() - times[0] >= self.window:
            times.popleft()
        return times


def main(argv: list[str]) -> int:
    """``python -m lib.auth hash``: read a password (twice on a terminal), print its hash."""
    if argv[1:] != ["hash"]:
        print("usage: python -m lib.auth hash", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("The passwords differ.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("An empty password is not allowed.", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

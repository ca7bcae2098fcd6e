"""Who may use the console and what they may do: users, password hashes, roles, lockout.

Roles, weakest first: ``viewer`` sees everything and acts on nothing; ``operator`` acts on
tasks; ``admin`` also controls workers and may reveal masked values. ``allows`` is the check
the action desk (``lib/actions``) runs for every action; a page hiding a button is a courtesy,
not the control.

Users come from a TOML file (``OPS_USERS_FILE``) or ``.streamlit/secrets.toml``::

    [users.olga]
    password_hash = "scrypt$32768$8$1$<salt>$<hash>"   # python -m lib.auth hash
    role = "operator"

    [users.sam]                  # a role per cluster (OPS_CLUSTERS_FILE's names)
    password_hash = "scrypt$..."
    role = { default = "viewer", staging = "operator" }   # default: every cluster not named

    [oidc]                       # optional, for st.login: e-mail → role
    default_role = "viewer"
    roles = { "ada@example.com" = "admin", "*@example.com" = "operator" }

Passwords are stored only as salted scrypt hashes and compared in constant time.

Failed logins are limited by ``LoginThrottle`` (see its docstring), keyed by the user name and
the client address Streamlit reports for the session:

- 5 failures in 5 minutes for one user *from one client* make that client wait. The lock binds
  only the clients that failed: a locked-out admin still signs in from their own machine.
- 20 failures in 5 minutes from one client, whatever the names, make that client wait.
- 50 failures in 5 minutes for one user from all clients together lock that user for the rest
  of the window (the ceiling against guessing from many addresses).
- Beyond 30 failures a minute across the console, each attempt is delayed a little more (at
  most 3 s): slower for everyone, never a lockout.

Deciding and counting is one locked step (two concurrent attempts can't both take the last
slot), and each limit remembers at most 4096 names, clients or pairs (the least recently tried
are forgotten first). Behind a reverse proxy every user has the proxy's address, so the
per-client limits then apply to all of them together.
"""

from __future__ import annotations

import base64
import fnmatch
import getpass
import hashlib
import hmac
import math
import secrets
import sys
import threading
import time
import tomllib
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from lib.errors import SettingsError

__all__ = [
    "ROLES",
    "Account",
    "Actor",
    "LoginThrottle",
    "UserBook",
    "Verdict",
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
#: Failed logins (within FAILURE_WINDOW s) for one user from one client before it must wait.
MAX_FAILURES = 5
#: ... from one client over all user names (a password sprayed over many names).
CLIENT_MAX_FAILURES = 20
#: ... for one user from all clients together: the ceiling against a distributed guess.
USER_MAX_FAILURES = 50
FAILURE_WINDOW = 300.0
#: Failures per GLOBAL_WINDOW s the whole console takes before it slows every attempt down,
#: by GLOBAL_STEP s per extra failure, at most GLOBAL_MAX_DELAY s: slower, never refused.
GLOBAL_FREE_FAILURES = 30
GLOBAL_WINDOW = 60.0
GLOBAL_STEP = 0.1
GLOBAL_MAX_DELAY = 3.0
#: Keys (names, clients, pairs) each limit remembers: bounded memory under a flood.
MAX_REMEMBERED = 4096


@dataclass(frozen=True)
class Actor:
    """The person acting, as the audit log records them.

    ``role`` holds on every cluster but those ``roles`` names (``(cluster, role)`` pairs, from a
    users file's ``role = { default = "viewer", staging = "operator" }``)."""

    user: str
    role: str
    roles: tuple[tuple[str, str], ...] = ()

    def role_in(self, cluster: str) -> str:
        """The role this person has on ``cluster``."""
        return dict(self.roles).get(cluster, self.role)


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


class Account(NamedTuple):
    """One user of the users file: the hash, the role on every cluster not named in ``roles``,
    and ``(cluster, role)`` pairs in the file's order (``()`` for a plain role)."""

    password_hash: str
    role: str
    roles: tuple[tuple[str, str], ...] = ()

    def actor(self, name: str) -> Actor:
        """The person signed in with this account."""
        return Actor(name, self.role, self.roles)


@dataclass(frozen=True)
class UserBook:
    """Users with their hashes and roles, plus the e-mail → role map for single sign-on."""

    users: Mapping[str, Account] = field(default_factory=dict)  # name → account
    oidc_roles: Mapping[str, str] = field(default_factory=dict)  # e-mail glob → role
    oidc_default: str | None = None

    def check(self, name: str, password: str) -> Actor | None:
        """The actor for a correct name and password, else None (same cost either way)."""
        account = self.users.get(name)
        ok = verify_password(password, account.password_hash if account else _DUMMY_HASH)
        return account.actor(name) if ok and account is not None else None

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
        users[name] = Account(hashed, *_roles_of(name, role))
    oidc = merged.get("oidc") or {}
    roles = dict(oidc.get("roles") or {})
    default = oidc.get("default_role")
    for role in [*roles.values(), *([default] if default else [])]:
        if role not in ROLES:
            raise SettingsError(f"[oidc] role {role!r} is not one of {', '.join(ROLES)}.")
    return UserBook(users, roles, default)


#: How a role table is written, for the messages that ask for one.
ROLE_TABLE_EXAMPLE = 'role = { default = "viewer", staging = "operator" }'


def _roles_of(name: str, role: object) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A user's ``role``: a plain role, or a table of cluster → role with a ``default``."""
    if isinstance(role, str) or role is None:
        if role not in ROLES:
            raise SettingsError(f"User {name!r} has role {role!r}; use one of {', '.join(ROLES)}.")
        return role, ()
    if not isinstance(role, Mapping):
        raise SettingsError(
            f"User {name!r} has role {role!r}: write one of {', '.join(ROLES)}, or a table of "
            f"roles per cluster: {ROLE_TABLE_EXAMPLE}."
        )
    if "default" not in role:
        raise SettingsError(
            f"User {name!r} has a role table without default = ...: say the role on every "
            f"cluster the table does not name, e.g. {ROLE_TABLE_EXAMPLE}."
        )
    for cluster, held in role.items():
        if held not in ROLES:
            where = (
                f"cluster {cluster!r}" if cluster != "default" else "clusters not named (default)"
            )
            raise SettingsError(
                f"User {name!r} has role {held!r} on {where}; use one of {', '.join(ROLES)}."
            )
    per_cluster = tuple((str(c), str(r)) for c, r in role.items() if c != "default")
    return str(role["default"]), per_cluster


# -- lockout -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The throttle's answer to one login attempt.

    ``allowed``: check the password now (after ``delay`` seconds). Otherwise ``wait`` seconds
    before this client may try again, for ``reason`` (``"pair"``, ``"client"`` or ``"user"``).
    ``at`` is when the attempt was counted, so a success can take it back.
    """

    allowed: bool
    wait: float = 0.0
    delay: float = 0.0
    reason: str = ""
    at: float = 0.0

    def message(self) -> str:
        """The sentence shown to the person refused."""
        why = {
            "pair": "for this user from this address",
            "client": "from this address",
            "user": "for this user",
        }[self.reason]
        return f"Too many failed attempts {why}. Try again in {math.ceil(self.wait)} s."


class _Window:
    """Attempt times per key within ``window`` seconds, for at most ``max_keys`` keys (LRU)."""

    def __init__(self, limit: int, window: float, max_keys: int):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._times: OrderedDict[object, deque[float]] = OrderedDict()

    def wait(self, key: object, now: float) -> float:
        times = self._recent(key, now)
        return 0.0 if len(times) < self.limit else max(0.0, times[0] + self.window - now)

    def count(self, key: object, now: float) -> int:
        return len(self._recent(key, now))

    def add(self, key: object, now: float) -> None:
        self._recent(key, now).append(now)

    def discard(self, key: object, at: float) -> None:
        times = self._times.get(key)
        if times is not None and at in times:
            times.remove(at)

    def clear(self, key: object) -> None:
        self._times.pop(key, None)

    def __len__(self) -> int:
        return len(self._times)

    def _recent(self, key: object, now: float) -> deque[float]:
        times = self._times.get(key)
        if times is None:
            times = self._times[key] = deque(maxlen=self.limit)
            while len(self._times) > self.max_keys:
                self._times.popitem(last=False)  # the least recently tried key
        self._times.move_to_end(key)
        while times and now - times[0] >= self.window:
            times.popleft()
        return times


class LoginThrottle:
    """Failed-login limits per (user, client), per client and per user, plus a global slow-down.

    One ``attempt(user, client)`` call decides and counts, under one lock, so two concurrent
    attempts can never both take the last free slot; ``succeeded`` takes a correct attempt
    back out. Limits within ``window`` seconds (counted attempts, i.e. failures):

    - ``per_pair`` for one user from one client: the lockout an attacker earns for the names
      they try. It binds only the client that failed, so a locked-out admin still signs in
      from their own machine.
    - ``per_client`` for one client over all names: stops spraying passwords over many names.
    - ``per_user`` for one user over all clients: a much higher ceiling against guessing one
      account from many addresses. Reaching it does lock that user everywhere for the rest of
      the window (the price of stopping a distributed guess); it takes ``per_user`` failures.
    - Globally, beyond ``global_free`` failures within ``global_window`` seconds, every
      admitted attempt is delayed ``global_step`` s more per extra failure, up to
      ``global_max_delay``: a flood slows everyone down but never refuses anyone.

    Each table remembers at most ``max_keys`` keys, dropping the least recently tried one,
    so memory stays bounded whatever names and addresses a flood invents.
    """

    def __init__(
        self,
        per_pair: int = MAX_FAILURES,
        per_client: int = CLIENT_MAX_FAILURES,
        per_user: int = USER_MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        global_free: int = GLOBAL_FREE_FAILURES,
        global_window: float = GLOBAL_WINDOW,
        global_step: float = GLOBAL_STEP,
        global_max_delay: float = GLOBAL_MAX_DELAY,
        max_keys: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._pairs = _Window(per_pair, window, max_keys)
        self._clients = _Window(per_client, window, max_keys)
        self._users = _Window(per_user, window, max_keys)
        steps = global_free + math.ceil(global_max_delay / global_step) + 1
        self._global = _Window(steps, global_window, 1)
        self.global_free, self.global_step = global_free, global_step
        self.global_max_delay = global_max_delay
        self.clock = clock
        self._lock = threading.Lock()

    def attempt(self, user: str, client: str) -> Verdict:
        """Decide whether ``client`` may check a password for ``user`` now; count it if so."""
        with self._lock:
            now = self.clock()
            keys = {"pair": (user, client), "client": client, "user": user}
            tables = {"pair": self._pairs, "client": self._clients, "user": self._users}
            for reason, table in tables.items():
                wait = table.wait(keys[reason], now)
                if wait > 0:
                    return Verdict(False, wait=wait, reason=reason)
            pressure = self._global.count(None, now) - self.global_free + 1
            delay = min(self.global_max_delay, max(0, pressure) * self.global_step)
            for reason, table in tables.items():
                table.add(keys[reason], now)
            self._global.add(None, now)
            return Verdict(True, delay=delay, at=now)

    def succeeded(self, user: str, client: str, verdict: Verdict) -> None:
        """A correct password: forget this pair's failures and take the attempt back out."""
        with self._lock:
            self._pairs.clear((user, client))
            self._clients.discard(client, verdict.at)
            self._users.discard(user, verdict.at)
            self._global.discard(None, verdict.at)

    def remembered(self) -> int:
        """How many (user, client) pairs, clients and users the throttle holds."""
        with self._lock:
            return len(self._pairs) + len(self._clients) + len(self._users)


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

"""Sensitive values in task data, masked before anything reaches a page or a CSV.

Task args, kwargs and results are Python repr text written by producers; exceptions and
tracebacks are text written by whatever failed, and client libraries put the URL they used,
credentials included, in their messages. Values are masked
when their key looks sensitive (``password``, ``token``, ``api_key``... — the list is
configurable), when they are credentials inside a URL (``redis://user:pw@host``), a bearer or
basic authorization value, or a number that looks like a payment card (13–19 digits passing
the Luhn check). Masking is a display rule: the synced store keeps the real text, so Retry
still sends the original arguments and an admin can reveal one task's values (audited).
Exception and traceback text is never needed unmasked for an action, so it is masked in the
same early pass: error messages, signatures and groups are built from the masked text.

Credentials in a URL the console shows (its own Flower, broker and backend addresses) are
dropped by ``redact_url``, which also reads ``user:password@host`` without a scheme (``urlsplit``
alone takes ``admin`` for a scheme there); ``url_password`` finds the password to protect.

The console's own secrets (Flower's password, passwords in broker and backend URLs: see
``Settings.secrets``) are another matter: they are known values, so ``scrub`` removes them
wherever they appear, whatever a URL parser made of the text around them. One process-wide
``SCRUBBER`` remembers them (``protect``) and is applied where text leaves the console: the ui's
messages, CSV export, and every log record (a record factory, installed once).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

__all__ = [
    "DEFAULT_SENSITIVE_KEYS",
    "MASK",
    "SCRUBBER",
    "Scrubber",
    "mask_frame",
    "mask_text",
    "protect",
    "redact_url",
    "scrub",
    "url_password",
]

MASK = "***"
DEFAULT_SENSITIVE_KEYS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
)
#: The columns that carry what producers sent, tasks returned and failures said (issue 10).
MASKED_COLUMNS = ("args", "kwargs", "result", "exception", "traceback")
_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^\s:/@'\"]*:)[^\s@/'\"]+(?=@)", re.I)
_AUTH_SCHEME = re.compile(r"\b(?P<head>(?:bearer|basic)\s+)[A-Za-z0-9._~+/=\-]{6,}", re.I)
#: ``user:password@`` at the start of a URL, after its scheme if it has one. ``urlsplit`` alone
#: misreads ``admin:pw@flower:5555`` (scheme ``admin``), which is how such passwords leaked.
#: Up to the authority's last ``@``, as ``urlsplit`` reads it: a raw ``@`` in a password stays in.
_USERINFO = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.\-]*://)?(?P<userinfo>[^/?#\s]*)@", re.I)
_CARD = re.compile(r"(?<![\d.])\d(?:[ -]?\d){12,18}(?![\d.])")


@lru_cache(maxsize=8)
def _key_patterns(keys: tuple[str, ...]) -> tuple[re.Pattern, re.Pattern]:
    words = "|".join(re.escape(k) for k in keys)
    key = rf"[\w\-]*(?:{words})[\w\-]*"
    # 'password': 'x'  /  "api_key": 123   (dict reprs, JSON)
    quoted_key = re.compile(
        rf"(?P<head>(['\"]){key}\2\s*:\s*)(?P<value>{_QUOTED}|[^,}}\]\s]+)", re.I
    )
    # password=x  /  token: x   (kwargs reprs of objects, free text, query strings)
    bare_key = re.compile(
        rf"(?P<head>\b{key}\s*[=:]\s*)(?P<value>{_QUOTED}|[^\s,;&'\")}}\]]+)", re.I
    )
    return quoted_key, bare_key


def mask_text(text: str, keys: Iterable[str] = DEFAULT_SENSITIVE_KEYS) -> str:
    """``text`` with every sensitive value replaced by ``***`` (quotes kept)."""
    if not text:
        return text
    return _mask(text, tuple(sorted({k.lower() for k in keys if k})))


@lru_cache(maxsize=200_000)
def _mask(text: str, keys: tuple[str, ...]) -> str:
    # Cached: every refresh rebuilds the tasks frame from mostly the same texts.
    if not _trigger(keys).search(text):
        return text
    quoted_key, bare_key = _key_patterns(keys)
    # Scheme tokens first: "Authorization: Bearer x" would otherwise mask only "Bearer".
    text = _AUTH_SCHEME.sub(lambda m: m["head"] + MASK, text)
    text = quoted_key.sub(_masked_value, text)
    text = bare_key.sub(_masked_value, text)
    text = _URL_CREDENTIALS.sub(lambda m: m["head"] + MASK, text)
    return _CARD.sub(_masked_card, text)


@lru_cache(maxsize=8)
def _trigger(keys: tuple[str, ...]) -> re.Pattern:
    """One cheap search that tells whether any masking rule could apply."""
    words = "|".join(re.escape(k) for k in keys)
    return (
        re.compile(rf"{words}|://|bearer|basic|\d[\d -]{{11,}}\d", re.I)
        if words
        else re.compile(r"://|bearer|basic|\d[\d -]{11,}\d", re.I)
    )


def mask_frame(frame: pd.DataFrame, keys: Iterable[str] = DEFAULT_SENSITIVE_KEYS) -> pd.DataFrame:
    """A copy of a tasks frame with args, kwargs, result, exception and traceback masked."""
    keys = tuple(sorted({k.lower() for k in keys if k}))
    trigger = _trigger(keys).pattern
    out = frame.copy()
    for col in MASKED_COLUMNS:
        if col not in out.columns:
            continue
        # A vectorised search finds the few texts that need the (slower) per-value rules.
        hits = out[col].str.contains(trigger, case=False, regex=True).fillna(False).astype(bool)
        if hits.any():
            out.loc[hits, col] = out.loc[hits, col].map(lambda v: _mask(v, keys))
        if (secrets := SCRUBBER.pattern) is not None:  # the console's own, in whatever form
            found = out[col].str.contains(secrets.pattern, regex=True).fillna(False).astype(bool)
            if found.any():
                out.loc[found, col] = out.loc[found, col].map(SCRUBBER)
    return out


def _masked_value(match: re.Match) -> str:
    value = match["value"]
    if value[:1] in "'\"":
        return f"{match['head']}{value[0]}{MASK}{value[0]}"
    return f"{match['head']}{MASK}"


def _masked_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"{MASK}{digits[-4:]}" if _luhn(digits) else match.group()


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# -- the console's own secrets: known values, removed from every text that leaves ------------


def url_password(url: str) -> str | None:
    """The password in ``url``'s ``user:password@``, with or without a scheme; else None."""
    found = _USERINFO.match(url.strip())
    if not found or ":" not in found["userinfo"]:
        return None
    return found["userinfo"].partition(":")[2] or None


def redact_url(url: str) -> str:
    """``url`` with any user and password removed (host, port, path and query kept)."""
    found = _USERINFO.match(url)
    if found and not found["scheme"]:  # no scheme: urlsplit would not see the credentials
        return url[found.end() :]
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    pattern = _secrets_pattern(frozenset(s for s in secrets if s))
    return pattern.sub(MASK, text) if pattern is not None else text


@lru_cache(maxsize=8)
def _secrets_pattern(secrets: frozenset[str]) -> re.Pattern | None:
    if not secrets:
        return None
    # Longest first: a secret that contains another is removed whole, not around the shorter.
    return re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)))


class Scrubber:
    """Remembers the secrets seen so far and scrubs them from text; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()

    def remember(self, secrets: Iterable[str]) -> None:
        """Add ``secrets`` to what is scrubbed (a console may serve several configurations)."""
        with self._lock:
            self._secrets = self._secrets | {s for s in secrets if s}

    def forget(self) -> None:
        """Scrub nothing again (tests: one test's secrets are not the next one's)."""
        with self._lock:
            self._secrets = frozenset()

    @property
    def pattern(self) -> re.Pattern | None:
        """One regex matching any remembered secret, or None when there is none."""
        return _secrets_pattern(self._secrets)

    def __call__(self, value: object) -> object:
        """``value`` scrubbed when it is text; anything else unchanged."""
        pattern = self.pattern
        if pattern is None or not isinstance(value, str):
            return value
        return pattern.sub(MASK, value)


#: The process's scrubber: ``protect`` fills it, the output boundaries apply it.
SCRUBBER = Scrubber()
_LOG_SCRUBBER_LOCK = threading.Lock()
_log_scrubber_installed = False


def protect(secrets: Iterable[str]) -> None:
    """Scrub ``secrets`` from every text the console shows, exports or logs from now on."""
    SCRUBBER.remember(secrets)
    _install_log_scrubber()


def _install_log_scrubber() -> None:
    """Scrub every log record as it is made, once per process.

    A record factory rather than a ``logging.Filter``: a filter on a logger never sees records
    of its child loggers, and one on handlers misses handlers added later (Streamlit's, pytest's).
    """
    global _log_scrubber_installed
    with _LOG_SCRUBBER_LOCK:
        if _log_scrubber_installed:
            return
        make_record = logging.getLogRecordFactory()

        def scrubbed_record(*args, **kwargs) -> logging.LogRecord:
            return _scrub_record(make_record(*args, **kwargs))

        logging.setLogRecordFactory(scrubbed_record)
        _log_scrubber_installed = True


def _scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    if SCRUBBER.pattern is None:
        return record
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # arguments that don't fit the format: keep both as text
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = SCRUBBER(message), ()
    if record.exc_info and record.exc_info[1] is not None:
        # Formatters print exc_text when it is set: set it, scrubbed, before any handler runs.
        record.exc_text = SCRUBBER(logging.Formatter().formatException(record.exc_info))
    return record

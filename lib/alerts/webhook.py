"""One POST of a notification to ``OPS_ALERT_WEBHOOK``, its outcome in plain words.

The webhook's URL is a secret as a whole (a Slack or Mattermost incoming webhook's path is its
token), and ``requests``' exception texts quote the URL they were sending to. So no text of an
exception ever leaves this module: the outcome is a sentence built here from the exception's
*kind* and the answer's status ("the webhook answered 503 (Service Unavailable)"), then
scrubbed of the secrets once more. The answer's body is never quoted either: a receiver may
echo the URL it was called on.

Invariants: one attempt per call, no retry inside ``requests`` (the outbox is the retry), no
redirect followed (a redirected POST is usually a wrong URL, said so); the payload is sent as
the exact stored text with the change id in ``Idempotency-Key``, so a receiver can drop a
repeat after a claimant died mid-send.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lib.redact import SCRUBBER, scrub, url_password

__all__ = ["new_session", "post_notification", "webhook_secrets"]

#: No retry and no redirect inside the client: a failed attempt is recorded and retried later.
NO_RETRY = Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False)
#: A URL part shorter than this is not scrubbed on its own (``/hook`` would be masked out of
#: every log line that mentions it); a token is longer.
MIN_SECRET_PART = 8


def webhook_secrets(url: str) -> tuple[str, ...]:
    """The webhook's secret forms: the whole URL, its password, its path and query (the
    token of an incoming webhook, which urllib3's debug log prints without the host)."""
    parts = urlsplit(url)
    path_query = parts.path + (f"?{parts.query}" if parts.query else "")
    found = (url, url_password(url) or "", path_query, parts.path, parts.query)
    return tuple(dict.fromkeys(s for s in found if s and (s == url or len(s) >= MIN_SECRET_PART)))


def new_session() -> requests.Session:
    """A session of its own for the deliverer's thread (``requests`` sessions are not shared
    between threads here), with retries and redirects off."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=NO_RETRY, pool_maxsize=1)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post_notification(
    session: requests.Session,
    url: str,
    payload: str,
    key: str,
    timeout: float,
    secrets: Iterable[str] = (),
) -> str | None:
    """POST ``payload`` (JSON text) to ``url``; None when a 2xx answered, else why not, in
    plain words without the URL."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    try:
        answer = session.post(
            url,
            data=payload.encode("utf-8"),
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return _clean(_failure(exc, timeout), secrets)
    answer.close()
    if 200 <= answer.status_code < 300:
        return None
    return _clean(_status(answer.status_code), secrets)


def _status(code: int) -> str:
    try:
        phrase = f" ({HTTPStatus(code).phrase})"
    except ValueError:
        phrase = ""
    if 300 <= code < 400:
        return f"the webhook answered {code}{phrase}, a redirect, not followed: check OPS_ALERT_WEBHOOK"
    return f"the webhook answered {code}{phrase}"


def _failure(exc: requests.RequestException, timeout: float) -> str:
    """The kind of failure; never the exception's text (it holds the URL)."""
    text = str(exc).lower()  # read, never repeated: which kind of failure it was
    if isinstance(exc, requests.ConnectTimeout):
        return f"the webhook did not accept a connection within {timeout:g} s"
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return f"the webhook did not answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the webhook's TLS handshake failed (certificate or protocol)"
    if "name or service not known" in text or "nameresolution" in text or "getaddrinfo" in text:
        return "the webhook's host name did not resolve"
    if "refused" in text:
        return "the webhook refused the connection (nothing listening there?)"
    if isinstance(exc, requests.ConnectionError):
        return "the webhook could not be reached (the connection failed or was cut)"
    return f"the webhook could not be called ({type(exc).__name__})"


def _clean(sentence: str, secrets: Iterable[str]) -> str:
    return str(SCRUBBER(scrub(sentence, secrets)))

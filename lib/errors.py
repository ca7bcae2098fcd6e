"""The console's error tree: every failure a page can meet, as one sentence a person understands.

::

    ConsoleError
    ├── SettingsError            configuration variables that cannot be used
    ├── BrokerError              the broker cannot be reached or read
    ├── BackendError             the result backend cannot be read (progress meta, original args)
    ├── AuditError               the audit log cannot be opened, read or written  (lib/audit.py)
    ├── StoreError               the history store cannot be opened, migrated, read or written
    ├── CannotTell               an alert rule cannot be judged this poll: its reading is
    │                            missing or not this poll's (lib/alerts/readings.py)
    ├── DuplicateOperation       this operation id is already recorded: nothing is sent again
    │                            (lib/audit.py; carries the first click's row)
    ├── ActionRefused            an action is not allowed or not possible; nothing was sent
    │   └── RetryRefused         a task's original call can't be rebuilt exactly
    │                            (lib/original_call.py)
    └── FlowerError              a call to Flower's HTTP API failed
        ├── FlowerUnreachable    connection refused, DNS, or timeout
        ├── FlowerAuthError      401: credentials missing or wrong
        ├── FlowerForbidden      403: Flower's reason text (read-only mode, worker refusal, ...)
        ├── FlowerNotFound       404: unknown task or worker (Flower's own plain-text answer)
        ├── FlowerNoApi          404 with a web page, or on a list: a wrong url_prefix
        ├── FlowerBadRequest     400: Flower rejected a parameter
        ├── FlowerUnavailable    503: Flower cannot reach its broker or result backend
        ├── FlowerServerError    any other 5xx
        └── FlowerBadPayload     a 2xx whose body is not the JSON shape we expect

Classes whose home is another module are defined there, beside what raises them, and drawn here
so the tree stays whole. Outside it on purpose: ``lib/workflows/config._Bad``, a private signal
the config loader raises and catches itself to turn one bad setting into a located problem.

Pages catch ``ConsoleError`` only; ``str(error)`` is what they show. Each ``FlowerError`` keeps
``status``, ``url`` (credentials stripped) and ``body`` (Flower's text, shortened) for the audit
log and for tests.
"""

from __future__ import annotations

__all__ = [
    "ActionRefused",
    "BackendError",
    "BrokerError",
    "ConsoleError",
    "FlowerAuthError",
    "FlowerBadPayload",
    "FlowerBadRequest",
    "FlowerError",
    "FlowerForbidden",
    "FlowerNoApi",
    "FlowerNotFound",
    "FlowerServerError",
    "FlowerUnavailable",
    "FlowerUnreachable",
    "SettingsError",
    "StoreError",
    "flower_error_for_status",
]

#: Flower's error bodies can be whole HTML pages; a sentence on screen needs only the start.
BODY_LIMIT = 300


class ConsoleError(Exception):
    """Root of every error the console expects and explains."""


class SettingsError(ConsoleError):
    """One or more configuration variables are unusable; the message names each of them."""


class BrokerError(ConsoleError):
    """The broker could not be reached or read."""


class BackendError(ConsoleError):
    """The result backend could not be read (its own client's error, said in words)."""


class StoreError(ConsoleError):
    """The history store (``lib/store``) could not be opened, migrated, read or written."""


class ActionRefused(ConsoleError):
    """The action is not allowed or not possible; nothing was sent. The message says why."""


class FlowerError(ConsoleError):
    """A call to Flower failed. ``summary`` is the class's plain-words explanation."""

    summary = "Flower returned an error"

    def __init__(self, url: str, status: int | None = None, body: str = "", detail: str = ""):
        self.url = url
        self.status = status
        self.body = _shorten(body)
        self.detail = detail
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        where = f" ({self.url})" if self.url else ""
        parts = [f"{self.summary}{where}."]
        if self.detail:
            parts.append(self.detail)
        if self.body:
            parts.append(f"Flower said: {self.body}")
        return " ".join(parts)


class FlowerUnreachable(FlowerError):
    summary = "Flower cannot be reached: it is down, slow, or the address is wrong"


class FlowerAuthError(FlowerError):
    summary = (
        "Flower refused the credentials (HTTP 401): set FLOWER_BASIC_AUTH to a user:password "
        "that Flower's --basic_auth accepts"
    )


class FlowerForbidden(FlowerError):
    summary = "Flower refused the request (HTTP 403)"


class FlowerNotFound(FlowerError):
    summary = (
        "Flower does not know this address (HTTP 404): the task or worker is unknown, "
        "or FLOWER_URL lacks Flower's url_prefix"
    )


class FlowerNoApi(FlowerError):
    summary = "No Flower API at this URL — check the url_prefix in FLOWER_URL"


class FlowerBadRequest(FlowerError):
    summary = "Flower rejected the request's parameters (HTTP 400)"


class FlowerUnavailable(FlowerError):
    summary = "Flower is up but cannot reach its broker or result backend (HTTP 503)"


class FlowerServerError(FlowerError):
    summary = "Flower failed with a server error"


class FlowerBadPayload(FlowerError):
    summary = "Flower answered with data the console cannot read"


_BY_STATUS: dict[int, type[FlowerError]] = {
    400: FlowerBadRequest,
    401: FlowerAuthError,
    403: FlowerForbidden,
    404: FlowerNotFound,
    503: FlowerUnavailable,
}


def flower_error_for_status(status: int, url: str, body: str, listing: bool = False) -> FlowerError:
    """The error for a non-2xx answer from Flower.

    A 404 means "no Flower API here" when its body is a web page (Flower's API answers its own
    404s in plain text: ``Unknown task 'x'``; a wrong url_prefix gets Flower's or a proxy's
    HTML "page not found") or when ``listing``: a read without a subject, such as
    ``/api/tasks``, that Flower always has.
    """
    if status == 404 and (listing or _is_web_page(body)):
        return FlowerNoApi(url, status=status, body="" if _is_web_page(body) else body)
    cls = _BY_STATUS.get(status, FlowerServerError)
    detail = f"HTTP {status}." if cls is FlowerServerError else ""
    return cls(url, status=status, body=body, detail=detail)


def _is_web_page(body: str) -> bool:
    return (body or "").lstrip()[:1] == "<"


def _shorten(body: str) -> str:
    text = " ".join((body or "").split())
    if len(text) > BODY_LIMIT:
        return text[: BODY_LIMIT - 1] + "…"
    return text

"""A typed, thread-safe client for Flower 2.x's HTTP API (see shared/reference/flower-api.md).

One ``FlowerClient`` serves every browser session: each thread gets its own ``requests.Session``
(Sessions are not thread-safe). GETs are retried by urllib3 on connection failures and 502/504;
POSTs go through a session with no retries at all, because a control command sent twice is two
commands. ``_request`` is the single boundary where ``requests`` errors become ``FlowerError``s.

Method names follow Flower's nouns: ``list_workers``, ``list_tasks``, ``task_info``, ...
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lib.errors import (
    FlowerAuthError,
    FlowerBadPayload,
    FlowerUnreachable,
    flower_error_for_status,
)
from lib.redact import redact_url
from lib.settings import Settings

__all__ = ["UNDECODED", "FlowerClient", "RawAnswer", "TransferStats"]

log = logging.getLogger(__name__)

#: The key the client adds to an object of Flower's answer whose text it had to repair (bytes
#: that are not UTF-8, lone surrogates): the names of those fields, so frames can say so.
UNDECODED = "_undecoded"
#: A JSON escaped backslash, a surrogate pair, or a lone surrogate (the one group that is set).
#: Escaped backslashes are matched first so ``\\ud800`` (a backslash, then text) is left alone.
SURROGATE_ESCAPE = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
#: Cheap test first: most answers hold no surrogate escape at all.
SURROGATE_HINT = re.compile(r"\\u[dD][89a-fA-F]")
REPLACEMENT = "\ufffd"

#: GETs are idempotent, so a refused connection or a gateway hiccup is worth two more tries.
GET_RETRY = Retry(
    total=2,
    connect=1,
    read=0,  # a slow Flower stays slow; retrying a read timeout only doubles the wait
    status=2,
    backoff_factor=0.2,
    status_forcelist=(502, 504),
    allowed_methods=frozenset({"GET"}),
    raise_on_status=False,
)
#: Never retry a POST: Flower's control calls are not idempotent (grow the pool twice...).
NO_RETRY = Retry(total=0, connect=0, read=0, status=0, redirect=0, raise_on_status=False)


@dataclass(frozen=True)
class RawAnswer:
    """An answer as Flower gave it, error statuses included: the doctor explains 401s and
    404s from their bodies (``text`` shortened to ``RAW_LIMIT`` characters)."""

    status: int
    text: str


#: Enough of a raw answer to tell Flower's own pages and messages from anything else.
RAW_LIMIT = 4000


@dataclass
class TransferStats:
    """What the client moved over the wire: the sync's incremental refresh is judged by it."""

    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0


class FlowerClient:
    """Flower's REST API. ``base_url`` includes any ``--url_prefix``; ``auth`` is basic auth."""

    def __init__(
        self,
        base_url: str,
        auth: tuple[str, str] | None = None,
        timeout: float = 10.0,
        adapter: HTTPAdapter | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.display_url = redact_url(self.base_url)
        self.auth = auth
        self.timeout = timeout
        self.stats = TransferStats()
        self._adapter = adapter  # a test seam: a fake transport mounted in place of HTTP
        self._local = threading.local()
        self._stats_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> FlowerClient:
        return cls(settings.flower_url, settings.flower_auth, settings.flower_timeout)

    # -- reads -------------------------------------------------------------------------------

    def healthcheck(self) -> bool:
        """True when Flower's web server answers ``OK`` (it does not check the broker)."""
        return self._request("GET", "/healthcheck", expect=str, listing=True).strip() == "OK"

    def list_workers(self, refresh: bool = False, workername: str | None = None) -> dict:
        """Inspect-cache info per worker: ``{hostname: {stats, active_queues, conf, ...}}``.

        ``refresh=True`` makes Flower inspect the workers first; without it a worker that
        started after Flower is missing (reference §2).
        """
        params = {"refresh": 1} if refresh else {}
        if workername:
            params["workername"] = workername
        listing = not workername  # one worker's 404 means Flower has not inspected it
        return self._request("GET", "/api/workers", params=params, listing=listing)

    def worker_status(self) -> dict[str, bool]:
        """Liveness per worker from heartbeats: ``{hostname: online}``."""
        return self._request("GET", "/api/workers", params={"status": 1}, listing=True)

    def worker_summaries(self) -> list[dict]:
        """Flower's dashboard rows: heartbeats, processed/active counts, loadavg per worker."""
        body = self._request("GET", "/workers", params={"json": 1}, listing=True)
        rows = body.get("data")
        if not isinstance(rows, list):
            raise FlowerBadPayload(self._url("/workers"), detail="'data' is not a list.")
        return [row for row in rows if isinstance(row, dict)]

    def list_tasks(self, limit: int, offset: int = 0, **filters: Any) -> list[dict]:
        """Tasks newest event first, each with its ``uuid``.

        ``filters``: Flower's ``state``, ``taskname``, ``workername``, ``sort_by``,
        ``received_start``, ``received_end``, ``search``. ``limit`` is always sent because
        without it Flower returns every task in memory.
        """
        params = {"limit": int(limit), "offset": int(offset)}
        params.update({k: v for k, v in filters.items() if v not in (None, "")})
        body = self._request("GET", "/api/tasks", params=params, listing=True)
        return [_with_uuid(uuid, task) for uuid, task in body.items() if isinstance(task, dict)]

    def task_info(self, task_id: str) -> dict:
        """One task's full record (404 → ``FlowerNotFound`` when Flower never saw it)."""
        return self._request("GET", f"/api/task/info/{task_id}", expect=dict)

    def task_result(self, task_id: str) -> dict:
        """The result backend's view: ``{"task-id", "state", "result"[, "traceback"]}``."""
        return self._request("GET", f"/api/task/result/{task_id}", expect=dict)

    def task_types(self) -> list[str]:
        """Every task name Flower has seen, sorted."""
        body = self._request("GET", "/api/task/types", listing=True)
        names = body.get("task-types", [])
        return [n for n in names if isinstance(n, str)]

    def queue_lengths(self) -> list[dict]:
        """Waiting messages per queue as Flower reads them: ``[{"name", "messages", ...}]``."""
        body = self._request("GET", "/api/queues/length", expect=dict)
        queues = body.get("active_queues", [])
        if not isinstance(queues, list):
            raise FlowerBadPayload(self._url("/api/queues/length"), detail="not a list.")
        return [q for q in queues if isinstance(q, dict) and "name" in q]

    def task_count(self) -> int | None:
        """How many tasks Flower holds (its datatable is the only source of a total)."""
        body = self._request("GET", "/tasks/datatable", params=_one_row("desc"), listing=True)
        total = body.get("recordsTotal")
        return total if isinstance(total, int) else None

    def oldest_task(self) -> dict | None:
        """The task whose latest event is the oldest Flower holds (None: it holds none)."""
        body = self._request("GET", "/tasks/datatable", params=_one_row("asc"), listing=True)
        rows = body.get("data")
        first = rows[0] if isinstance(rows, list) and rows else None
        return first if isinstance(first, dict) else None

    def answer(self, path: str, **params: Any) -> RawAnswer:
        """A GET answered as it came, whatever its status; only an unreachable Flower raises."""
        return self._request("GET", path, params=params, expect=RawAnswer)

    # -- control: called by lib/actions (the desk) only, which audits every call -------------

    def revoke(self, task_id: str, terminate: bool = False, signal: str = "SIGTERM") -> str:
        """Revoke a task; ``terminate`` also kills it if running. Flower always says 200."""
        data = {"terminate": "true" if terminate else "false", "signal": signal}
        return self._post(f"/api/task/revoke/{task_id}", data=data)

    def send_task(self, name: str, args: list, kwargs: dict, queue: str | None = None) -> str:
        """Publish a new task by name (no task code needed in Flower); return its id."""
        body: dict[str, Any] = {"args": list(args), "kwargs": dict(kwargs)}
        if queue:
            body["queue"] = queue
        answer = self._request("POST", f"/api/task/send-task/{name}", json_body=body)
        task_id = answer.get("task-id")
        if not isinstance(task_id, str):
            raise FlowerBadPayload(self._url("/api/task/send-task"), detail="No task-id came back.")
        return task_id

    def pool_grow(self, worker: str, n: int = 1) -> str:
        return self._post(f"/api/worker/pool/grow/{worker}", data={"n": int(n)})

    def pool_shrink(self, worker: str, n: int = 1) -> str:
        return self._post(f"/api/worker/pool/shrink/{worker}", data={"n": int(n)})

    def pool_autoscale(self, worker: str, minimum: int, maximum: int) -> str:
        data = {"min": int(minimum), "max": int(maximum)}
        return self._post(f"/api/worker/pool/autoscale/{worker}", data=data)

    def pool_restart(self, worker: str) -> str:
        return self._post(f"/api/worker/pool/restart/{worker}")

    def add_consumer(self, worker: str, queue: str) -> str:
        return self._post(f"/api/worker/queue/add-consumer/{worker}", data={"queue": queue})

    def cancel_consumer(self, worker: str, queue: str) -> str:
        return self._post(f"/api/worker/queue/cancel-consumer/{worker}", data={"queue": queue})

    def shutdown(self, worker: str) -> str:
        return self._post(f"/api/worker/shutdown/{worker}")

    def rate_limit(self, task_name: str, worker: str, rate: str) -> str:
        data = {"workername": worker, "ratelimit": rate}
        return self._post(f"/api/task/rate-limit/{task_name}", data=data)

    def time_limit(
        self, task_name: str, worker: str, soft: float | None, hard: float | None
    ) -> str:
        data: dict[str, Any] = {"workername": worker}
        data.update({k: v for k, v in (("soft", soft), ("hard", hard)) if v is not None})
        return self._post(f"/api/task/timeout/{task_name}", data=data)

    def _post(self, path: str, data: Mapping[str, Any] | None = None) -> str:
        answer = self._request("POST", path, data=data or {})
        return str(answer.get("message", "")) if isinstance(answer, dict) else ""

    # -- the boundary ------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        expect: type = dict,
        listing: bool = False,
    ) -> Any:
        """Send one request; return the decoded body or raise a ``FlowerError``.

        ``listing``: a read without a subject (all tasks, all workers), whose 404 can only
        mean there is no Flower API at this address.
        """
        url = self._url(path)
        session = self._session(post=method != "GET")
        started = time.monotonic()
        try:
            response = session.request(
                method,
                url,
                params=params,
                data=data,
                json=json_body,
                auth=self.auth,
                timeout=(min(self.timeout, 5.0), self.timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise FlowerUnreachable(self._url(path), detail=self._reason(exc)) from exc
        self._count(response, time.monotonic() - started)
        log.debug(
            "%s %s -> %s in %.3fs",
            method,
            url,
            response.status_code,
            response.elapsed.total_seconds(),
        )
        return self._decode(response, self._url(path), expect, listing)

    def _decode(
        self, response: requests.Response, url: str, expect: type, listing: bool = False
    ) -> Any:
        status = response.status_code
        if expect is RawAnswer:
            return RawAnswer(status, response.text[:RAW_LIMIT])
        if 300 <= status < 400:
            raise FlowerAuthError(
                url,
                status=status,
                detail="Flower redirected to its login page: it uses OAuth, which only works "
                "with a browser cookie. Give Flower --basic_auth for the console.",
            )
        if status >= 400:
            raise flower_error_for_status(status, url, response.text, listing)
        if expect is str:
            return response.text
        text, repaired = _json_text(response.content)
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise FlowerBadPayload(url, status=status, body=response.text[:200]) from exc
        if not isinstance(body, expect):
            raise FlowerBadPayload(url, status=status, detail=f"Expected a JSON {expect.__name__}.")
        if repaired:
            log.warning("%s: text that is not UTF-8 replaced with U+FFFD", url)
            _mark_undecoded(body)
        return body

    def _reason(self, exc: requests.RequestException) -> str:
        text = str(exc)
        # urllib3 reports a read timeout, once its retries are spent, as a ConnectionError.
        if isinstance(exc, requests.Timeout) or "timed out" in text:
            return f"No answer within {self.timeout:g} s (FLOWER_TIMEOUT)."
        return _plain_reason(text)

    def _url(self, path: str) -> str:
        return f"{self.display_url}{path}" if path.startswith("/") else path

    def _session(self, post: bool) -> requests.Session:
        sessions = getattr(self._local, "sessions", None)
        if sessions is None:
            sessions = self._local.sessions = (self._new_session(GET_RETRY), None)
        if not post:
            return sessions[0]
        if sessions[1] is None:
            sessions = self._local.sessions = (sessions[0], self._new_session(NO_RETRY))
        return sessions[1]

    def _new_session(self, retry: Retry) -> requests.Session:
        session = requests.Session()
        adapter = self._adapter or HTTPAdapter(max_retries=retry, pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _count(self, response: requests.Response, seconds: float) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.bytes += len(response.content)
            self.stats.seconds += seconds


def _json_text(content: bytes) -> tuple[str, bool]:
    """The body as text and whether some of it could not be decoded (now U+FFFD).

    Bytes that are not UTF-8 and JSON-escaped lone surrogates (``"\\ud800"``: valid JSON, but
    no text encoding can carry one, so every table and page would fail on it) are replaced:
    the rest of the answer stays readable.
    """
    encoding = json.detect_encoding(content)  # UTF-8 from Flower; as json.loads(bytes) reads it
    try:
        text = content.decode(encoding)
        repaired = False
    except UnicodeDecodeError:
        text, repaired = content.decode(encoding, errors="replace"), True
    if not SURROGATE_HINT.search(text):
        return text, repaired
    lone = False

    def mend(match: re.Match) -> str:
        nonlocal lone
        if match.group(1) is None:
            return match.group(0)
        lone = True
        return "\\ufffd"

    text = SURROGATE_ESCAPE.sub(mend, text)
    return text, repaired or lone


def _mark_undecoded(value: Any) -> None:
    """Note on every object of ``value`` which of its text fields hold a repaired character."""
    if isinstance(value, list):
        for item in value:
            _mark_undecoded(item)
    if not isinstance(value, dict):
        return
    marked = [k for k, v in value.items() if isinstance(v, str) and REPLACEMENT in v]
    for item in value.values():
        _mark_undecoded(item)
    if marked:
        value[UNDECODED] = marked


def _one_row(direction: str) -> dict[str, Any]:
    """Flower's datatable asked for one task, ordered by its latest event's time."""
    return {
        "draw": 1,
        "start": 0,
        "length": 1,
        "order[0][column]": 0,
        "order[0][dir]": direction,
        "columns[0][data]": "timestamp",
    }


def _with_uuid(uuid: str, task: dict) -> dict:
    if task.get("uuid") != uuid:
        task = {**task, "uuid": uuid}
    return task


def _plain_reason(text: str) -> str:
    if "Connection refused" in text or "NewConnectionError" in text:
        return "The connection was refused: nothing listens at that address."
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "The host name could not be resolved."
    if "SSL" in text:
        return "The TLS handshake failed."
    return "The connection failed."

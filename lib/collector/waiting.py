"""``WaitingReader``: the collector's per-worker inspect of what waits on each worker.

Flower 2.2's ``/api/workers?refresh=1`` without ``workername`` skips ``scheduled``,
``reserved``, ``active`` and ``revoked`` (reference flower-api.md §4); with ``workername=W`` it
inspects that worker with all of them. An inspect is a broadcast the workers answer, not free,
so a round runs at most every ``WAITING_EVERY_SECONDS`` (or the poll interval if longer), and
at once after ``expire()`` (an action was sent).

Invariants:

- Each online worker is inspected on its own, up to ``PARALLEL`` at a time (the Flower client's
  connection pool), and a request starts only while the round's budget of one
  ``FLOWER_TIMEOUT`` lasts: a slow worker never holds the others up, and the round ends within
  the budget plus one request's timeout. A worker left unread (it failed, or the budget ran
  out) keeps its last good lists with the reason in ``error``, and goes first next round.
- Kept per worker: ids, names, queues (the routing key), ETAs, priorities and start times,
  never arguments (secrets-prone); each list is capped at ``MAX_LISTED`` with its full count.
- Workers not online in the round are dropped: their reserved and scheduled tasks went back to
  the broker (or were lost with them).
- The result is JSON-able as it is: the snapshot and the store hold the same mapping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import pandas as pd

from lib.errors import ConsoleError
from lib.flower import FlowerClient
from lib.redact import SCRUBBER
from lib.settings import Settings

__all__ = [
    "KINDS",
    "MAX_LISTED",
    "PARALLEL",
    "WAITING_EVERY_SECONDS",
    "WaitingReader",
    "waiting_every",
    "waiting_key",
    "worker_record",
]

#: An inspect broadcast per worker costs the workers a reply each; twice a minute is plenty
#: for tasks that wait minutes (ETAs), and reserved lists churn faster than any poll anyway.
WAITING_EVERY_SECONDS = 30.0
#: The Flower client's connection pool holds 4 connections (lib.flower): no more at a time.
PARALLEL = 4
#: Per worker and kind: a worker can hold thousands of ETA tasks and 50,000 revoked ids.
MAX_LISTED = 500
#: The inspect keys read per worker.
KINDS = ("scheduled", "reserved", "active", "revoked")


def waiting_every(settings: Settings) -> float:
    """Seconds between rounds: ``WAITING_EVERY_SECONDS``, or the poll interval if longer."""
    return max(WAITING_EVERY_SECONDS, settings.poll_seconds)


def waiting_key(cluster: str) -> str:
    """Where the latest round is kept in the store (``Store.keep``), per cluster."""
    return f"waiting/{cluster}"


class WaitingReader:
    """Reads scheduled, reserved, active and revoked tasks per online worker, on its interval."""

    def __init__(
        self,
        client: FlowerClient,
        every: float,
        budget: float,
        clock: Callable[[], float] = time.time,
        stopping: Callable[[], bool] = lambda: False,
    ):
        self.client, self.every, self.budget = client, every, budget
        self.clock, self.stopping = clock, stopping
        self._last: float | None = None
        self.latest: dict | None = None  # the latest round's mapping (``lib.frames.waiting``)

    def expire(self) -> None:
        """Read at the next chance, not at the next interval (an action changed the lists)."""
        self._last = None

    def due(self) -> bool:
        return self._last is None or self.clock() - self._last >= self.every

    def read_due(self, workers: pd.DataFrame | None) -> dict | None:
        """A round over the online workers of ``workers`` (a workers frame) when one is due;
        None when not due or the workers were never read."""
        if workers is None or not self.due():
            return None
        return self.read([str(w) for w in workers.loc[workers["online"].fillna(False), "worker"]])

    def read(self, online: list[str]) -> dict:
        """One round over ``online`` workers: the new mapping (also kept as ``latest``)."""
        self._last = self.clock()
        before = (self.latest or {}).get("workers") or {}
        # The least recently read first: a worker the budget left out last round goes first.
        order = sorted(online, key=lambda w: (before.get(w) or {}).get("read_at") or 0.0)
        got = self._inspect_all(order)
        workers = {w: self._record(w, got.get(w), before.get(w)) for w in online}
        self.latest = {"read_at": self.clock(), "workers": workers}
        return self.latest

    def _inspect_all(self, workers: list[str]) -> dict[str, Mapping | str]:
        """Each worker's inspect info, or why there is none (see the invariants)."""
        deadline = time.monotonic() + self.budget
        answers: dict[str, Mapping | str] = {}
        pending = list(workers)
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="inspect") as pool:
            while pending or running:
                while pending and len(running) < PARALLEL and not self._over(deadline):
                    worker = pending.pop(0)
                    running[pool.submit(self._inspect, worker)] = worker
                if not running:
                    break
                done, _ = wait(running, timeout=None, return_when=FIRST_COMPLETED)
                for future in done:
                    answers[running.pop(future)] = future.result()
        for worker in pending:
            answers[worker] = "not inspected this round: the others took the time (FLOWER_TIMEOUT)"
        return answers

    def _over(self, deadline: float) -> bool:
        return self.stopping() or time.monotonic() >= deadline

    def _inspect(self, worker: str) -> Mapping | str:
        try:
            info = self.client.list_workers(refresh=True, workername=worker)
        except ConsoleError as exc:
            return SCRUBBER(str(exc))
        found = info.get(worker) if isinstance(info, Mapping) else None
        return found if isinstance(found, Mapping) else "Flower's inspect did not include it"

    def _record(self, worker: str, got: Mapping | str | None, before: Mapping | None) -> dict:
        if isinstance(got, Mapping):
            return worker_record(got, self.clock(), before)
        kept = dict(before or worker_record({}, None))
        kept["error"] = got or "not inspected"
        return kept


def worker_record(info: Mapping, read_at: float | None, before: Mapping | None = None) -> dict:
    """A worker's kept record from Flower's inspect ``info`` (pure). A kind the worker did not
    answer keeps ``before``'s list and is named in ``error``."""
    record: dict = {"read_at": read_at, "error": "", "counts": {}}
    missing = [kind for kind in KINDS if not isinstance(info.get(kind), list)]
    for kind in KINDS:
        if kind in missing:
            record[kind] = list((before or {}).get(kind) or [])
            record["counts"][kind] = ((before or {}).get("counts") or {}).get(kind, 0)
            continue
        entries = info[kind]
        record["counts"][kind] = len(entries)
        record[kind] = [_entry(kind, e) for e in entries[:MAX_LISTED]]
    if missing and info:
        record["error"] = f"did not answer the inspect of {', '.join(missing)}"
    return record


def _entry(kind: str, entry: object) -> dict | str:
    """Only what pages show of one inspect entry; a revoked entry is its id."""
    if kind == "revoked":
        return str(entry)
    if not isinstance(entry, Mapping):
        return {"id": None, "name": None, "queue": None}
    if kind == "scheduled":
        request = entry.get("request") if isinstance(entry.get("request"), Mapping) else {}
        return {
            **_request(request),
            "eta": _plain(entry.get("eta")),
            "priority": entry.get("priority"),
        }
    shown = _request(entry)
    if kind == "active":
        shown["time_start"] = entry.get("time_start")
    return shown


def _request(request: Mapping) -> dict:
    delivery = request.get("delivery_info")
    queue = delivery.get("routing_key") if isinstance(delivery, Mapping) else None
    return {
        "id": _plain(request.get("id")),
        "name": _plain(request.get("name")),
        "queue": _plain(queue),
    }


def _plain(value: object) -> str | None:
    return None if value is None else str(value)

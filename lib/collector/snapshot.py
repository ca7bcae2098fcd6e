"""``CollectorSnapshot``: the latest readings a collector's poll made, kept in memory for pages.

The console (``lib.monitor``) reads workers, queue depths, task types and training jobs'
progress meta from here instead of asking Flower or the result backend inside a page's run. A snapshot is immutable and replaced whole at the end
of each poll, so a reader in another thread sees one poll's outcome.

Invariants: ``version`` is the number of polls finished (it changes every poll, so whatever is
built from a snapshot is built once per poll); a reading that failed in a poll keeps the last
good value of an earlier poll (its ``*_at`` says when it was read); None means never read.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lib.frames.worker_facts import WorkerFacts

__all__ = ["CollectorSnapshot"]


@dataclass(frozen=True)
class CollectorSnapshot:
    """What the pages show besides tasks (which they read from the store). Times are epoch s."""

    version: int = 0
    tasks_note: str = ""  # what was odd in the tasks Flower holds (``frames.OddValues``)
    workers: pd.DataFrame | None = None  # ``lib.frames.workers_frame``
    workers_note: str = ""
    workers_at: float | None = None
    depths: dict[str, int | None] | None = None  # waiting messages per queue
    depths_note: str = ""
    depths_at: float | None = None
    #: consumers per queue when sampled rather than read from the workers (a store's samples)
    consumers: dict[str, int | None] | None = None
    task_types: tuple[str, ...] | None = None
    #: each worker's inspect facts (``lib.collector.facts``); None: not read yet
    worker_facts: dict[str, WorkerFacts] | None = None
    #: result-backend records of training jobs by task id (``lib.collector.progress``); None
    #: when this collector does not read them (no result backend, or no training view)
    metas: dict[str, dict] | None = None
    metas_error: str | None = None  # why some records may be old or absent
    metas_skipped: int = 0
    metas_at: float | None = None
    #: scheduled, reserved, active and revoked per worker (``lib.collector.waiting``)
    waiting: dict | None = None
    #: what is wrong with the alert rules: the rule book's problems, the rules not evaluated
    alerts_note: str = ""

"""``TrainingProgress``: the collector's read of running training jobs' progress meta.

Only the result backend holds a running task's progress meta (a custom state such as PROGRESS
with ``progress``/``loss``/``accuracy``); Flower never sees it. Each poll the collector reads it
for the in-flight tasks the training views of ``OPS_WORKFLOWS_FILE`` take (their rules, or a
name detected as training before; ``lib.workflows.training_candidates``) and keeps the records
in its snapshot, so the Workflows page shows them without reading the backend itself, and
samples the running jobs' progress, loss and accuracy into the store (``progress_samples``).

Invariants (most from ``lib.workflows.MetaCache``, which does the reading):

- At most ``MAX_META_READS`` reads per poll, one per task per poll interval; a failed read
  stops the poll's reads (a down backend costs one timeout, never longer than the broker
  probe's, so ``Collector.stop`` keeps its bound) and the last known records stay, with the error.
- A job's last progress record is kept after the backend replaced it with the outcome (a
  failure's exception), as the training view needs.
- The in-flight tasks are the stored rows whose Flower state is not final: read from the store,
  so a restarted collector reads the jobs that started before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from lib.frames import tasks_frame
from lib.store import Store
from lib.store.engine import reading
from lib.store.rows import payload_of
from lib.store.samples import PROGRESS_FIGURES
from lib.store.schema import TASKS
from lib.workflows import KnownNames, MetaCache, training_candidates, training_names
from lib.workflows.config import View, load_workflows
from lib.workflows.lifecycle import FINAL
from lib.workflows.literals import progress_meta

__all__ = ["ProgressReading", "TrainingProgress"]


@dataclass(frozen=True)
class ProgressReading:
    """One poll's result-backend records of training jobs, by task id (with each job's last
    progress record), and why some may be old or absent."""

    metas: dict[str, dict] = field(default_factory=dict)
    error: str | None = None
    skipped: int = 0  # candidates over the per-poll limit, not read this time
    #: running jobs' figures read this poll (uuid, name, progress, loss, accuracy), to sample
    samples: list[dict] = field(default_factory=list)


class TrainingProgress:
    """Reads the progress meta of running training jobs once per poll (see the invariants)."""

    def __init__(
        self,
        fetch: Callable[[str], Mapping | None],
        workflows_file: Path | None,
        ttl: float,
        clock: Callable[[], float] = time.time,
    ):
        self.metas = MetaCache(fetch, ttl, clock=clock)
        self.workflows_file = workflows_file
        self._names: dict[str, KnownNames] = {}

    def read(self, store: Store) -> ProgressReading | None:
        """This poll's records; None when no training view is configured (nothing to read)."""
        views = [v for v in load_workflows(self.workflows_file).views if v.kind == "training"]
        if not views:
            return None
        running = in_flight(store)
        wanted = self._candidates(running, views)
        got = self.metas.read(wanted)
        records = {**self.metas.known(), **got.metas} | self.metas.progress()
        for view in views:
            self._known(view).add(training_names(running, view, records))
        fresh = {} if got.error else got.metas  # after a failed read some are last poll's
        samples = _figures(running, views, self._known, fresh)
        return ProgressReading(records, got.error, got.skipped, samples)

    def _candidates(self, running: pd.DataFrame, views: list[View]) -> list[str]:
        wanted: dict[str, None] = {}
        for view in views:
            wanted.update(
                dict.fromkeys(training_candidates(running, view, self._known(view).names))
            )
        return list(wanted)

    def _known(self, view: View) -> KnownNames:
        return self._names.setdefault(view.key, KnownNames())


def _figures(
    running: pd.DataFrame,
    views: list[View],
    known: Callable[[View], KnownNames],
    metas: Mapping[str, Mapping],
) -> list[dict]:
    """Each running training job's figures from its progress meta, by the keys of the first
    view that takes it; jobs without a progress meta are left out."""
    figures: dict[str, dict] = {}
    for view in views:
        taken = running[view.mask(running) | running["name"].isin(list(known(view).names))]
        for uuid, name in zip(taken["uuid"], taken["name"], strict=True):
            meta = progress_meta(metas.get(uuid))
            if meta is None or uuid in figures:
                continue
            keys = (view.progress_key, view.loss_key, view.accuracy_key)
            values = dict(zip(PROGRESS_FIGURES, (meta.get(k) for k in keys), strict=True))
            figures[uuid] = {"uuid": uuid, "name": name, **values}
    return list(figures.values())


def in_flight(store: Store) -> pd.DataFrame:
    """The stored tasks whose Flower state is not final, as a tasks frame."""
    query = select(TASKS).where(TASKS.c.flower_state.notin_(sorted(FINAL)))
    with reading(store.engine) as conn:
        rows = conn.execute(query).mappings().all()
    return tasks_frame([payload_of(row) for row in rows])

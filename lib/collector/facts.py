"""``WorkerFactsKeeper``: each poll's inspect facts of the workers (``lib.frames.worker_facts``),
for the collector's snapshot and, kept in the store, for a console reading it from there.

Invariants: the facts are built from the worker reader's inspect cache, every text scrubbed of
the console's secrets before it is kept or handed out; they are written to the store only when
they changed (Flower's inspect is refreshed once a minute, so about one small write a minute),
under ``worker_facts/<cluster>``, as one JSON object replaced whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lib.frames.worker_facts import WorkerFacts, facts_by_worker
from lib.store import Store

__all__ = ["WorkerFactsKeeper", "kept_worker_facts"]


def _key(cluster: str) -> str:
    return f"worker_facts/{cluster}"


class WorkerFactsKeeper:
    """Reads the workers' facts from inspect info; keeps them in ``store`` when changed."""

    def __init__(self, store: Store, cluster: str, secrets: Iterable[str] = ()):
        self.store, self.cluster, self.secrets = store, cluster, tuple(secrets)
        self._kept: dict | None = None

    def read(self, info: Mapping) -> dict[str, WorkerFacts]:
        """The facts of every worker in ``info`` (Flower's inspect cache), scrubbed."""
        return facts_by_worker(info, self.secrets)

    def keep(self, facts: Mapping[str, WorkerFacts], now: float) -> None:
        """Keep ``facts`` in the store, unless they are what was last kept."""
        value = {"workers": {name: one.to_kept() for name, one in facts.items()}}
        if value != self._kept:
            self.store.keep(_key(self.cluster), value, now)
            self._kept = value


def kept_worker_facts(store: Store, cluster: str) -> dict[str, WorkerFacts] | None:
    """The facts a collector kept for ``cluster``; None when it never kept any."""
    kept = store.kept(_key(cluster))
    if kept is None or not isinstance(kept.get("workers"), Mapping):
        return None
    read = {name: WorkerFacts.from_kept(one) for name, one in kept["workers"].items()}
    return {name: one for name, one in read.items() if one is not None}

"""``LabelCap``: bounded label values for Prometheus series (task names, queues, exception types).

Prometheus keeps one time series per label set, so a label fed from the cluster (a task name, a
queue, an exception type) must not grow without bound. A cap admits values in the order they are
first offered, up to ``limit``; any later value reads as ``OTHER``, and its figures are summed
there.

Invariants: an admitted value keeps its own label for the cap's life (one collector run), and a
value once refused stays ``OTHER`` (so a counter never moves between series); a missing value
(None or empty) reads as ``UNKNOWN`` and is admitted like any other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

__all__ = ["DEFAULT_LIMIT", "OTHER", "UNKNOWN", "LabelCap"]

#: Values per label: 200 task names × a few states keeps a scrape in the low thousands of series.
DEFAULT_LIMIT = 200
#: Where the values beyond the cap are summed.
OTHER = "other"
#: A task without a name, a task without a queue, a failure whose type cannot be read.
UNKNOWN = "unknown"


class LabelCap:
    """At most ``limit`` distinct label values, first come first served; the rest ``OTHER``."""

    def __init__(self, limit: int = DEFAULT_LIMIT):
        if limit < 1:
            raise ValueError(f"a label cap admits at least one value, not {limit}")
        self.limit = limit
        self._admitted: set[str] = set()
        self._lock = threading.Lock()

    def admit(self, values: Iterable[str | None]) -> None:
        """Offer ``values`` in order (busiest first gives the busiest their own labels)."""
        for value in values:
            self.label(value)

    def label(self, value: str | None) -> str:
        """The label ``value`` is exported under (admitting it while there is room)."""
        value = value or UNKNOWN
        with self._lock:
            if value in self._admitted:
                return value
            if len(self._admitted) < self.limit:
                self._admitted.add(value)
                return value
        return OTHER

    def __len__(self) -> int:
        return len(self._admitted)

"""Values built once per version and shared by every session: the monitor's cache.

``Built.once(name, version, build)`` returns what ``build()`` gave for ``name`` at
``version``, building it the first time it is asked; ``Built.once_for(key, ...)`` the same
for ranges, keeping the last ``kept`` of them. One build runs at a time (the store is read by
one builder; a second session asking for the same value waits for it rather than building it
again). While another session builds, a value built before (a version old) is returned at once
instead of a wait: a page shows it with its time and gets the new one at its next rerun.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

__all__ = ["Built"]

T = TypeVar("T")
_NONE = object()


class Built:
    """Built values by name (one each) and by range key (the last ``kept``)."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self.builds = 0  # values built, for tests and benches
        self._lock = threading.RLock()  # a build may ask for another value (reentrant)
        self._named: dict[str, tuple[Hashable, object]] = {}
        self._ranges: OrderedDict[Hashable, object] = OrderedDict()  # (version, key) → value
        self._last: OrderedDict[Hashable, object] = OrderedDict()  # key → its latest value

    def once(self, name: str, version: Hashable, build: Callable[[], T]) -> T:
        """``build()`` once per ``version`` of ``name``."""
        held = self._named.get(name)
        if held is not None and held[0] == version:
            return held[1]  # type: ignore[return-value]
        if not self._lock.acquire(blocking=held is None):
            return held[1]  # type: ignore[index,return-value]
        try:
            held = self._named.get(name)
            if held is None or held[0] != version:
                self.builds += 1
                held = self._named[name] = (version, build())
            return held[1]  # type: ignore[return-value]
        finally:
            self._lock.release()

    def once_for(self, key: Hashable, version: tuple, build: Callable[[], T]) -> T:
        """``build()`` once per ``version`` of ``key``; an older version of the same kind
        (``version[0]``) is dropped when a newer one is built: it is never read again."""
        versioned = (version, key)
        if not self._lock.acquire(blocking=False):
            held = self._ranges.get(versioned, self._last.get(key, _NONE))
            if held is not _NONE:
                return held  # type: ignore[return-value]
            self._lock.acquire()
        try:
            if versioned in self._ranges:
                self._ranges.move_to_end(versioned)
                return self._ranges[versioned]  # type: ignore[return-value]
            self.builds += 1
            value = build()
            stale = [k for k in self._ranges if k[0][0] == version[0] and k[0] != version]
            for old in stale:
                del self._ranges[old]
            self._ranges[versioned] = self._last[key] = value
            self._last.move_to_end(key)
            for kept in (self._ranges, self._last):
                while len(kept) > self.kept:
                    kept.popitem(last=False)
            return value
        finally:
            self._lock.release()

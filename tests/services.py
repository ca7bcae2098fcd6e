"""What every throwaway test service shares: started on entry, stopped on exit or failed start.

Invariant: a service whose ``start`` fails is stopped before the error propagates, so a node
half-booted (its process, its helper daemons, its temporary directory) never outlives the test
session; ``stop`` must therefore be safe on a service that never fully started.
"""

from __future__ import annotations

from typing import Self

__all__ = ["Throwaway"]


class Throwaway:
    """A context manager around ``start()`` / ``stop()`` (defined by each service)."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

"""What ``./ops collect`` prints of each poll: one line, at most every ``--every`` seconds.

Invariants: a line is printed at once whenever the health changes between working and failing,
else at most once per ``every`` seconds; every line is scrubbed of the configured secrets; with
several clusters each line starts with its cluster's name in brackets.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lib.collector.health import CollectorHealth, health_sentence
from lib.collector.loop import PollReport
from lib.redact import SCRUBBER

__all__ = ["PollPrinter", "poll_line"]


def poll_line(report: PollReport, health: CollectorHealth) -> str:
    """One poll in one line: what it did, then the health sentence at the poll's end."""
    done = f"{report.mode} sync, {report.fetched} read" if report.mode else "no sync"
    counts = f"{done}, {report.written} written, {report.samples} samples"
    if report.pruned:
        counts += f", {report.pruned} pruned"
    end = report.started + report.seconds
    return f"{counts} in {report.seconds:.1f} s — {health_sentence(health, end)}"


class PollPrinter:
    """A collector's ``on_poll``: prints ``poll_line`` through ``out`` when it is due."""

    def __init__(self, every: float, out: Callable[[str], None], prefix: str = ""):
        self.every, self.out, self.prefix = every, out, prefix
        self._last: float | None = None
        self._failing = False

    def __call__(self, report: PollReport, health: CollectorHealth) -> None:
        now = time.monotonic()
        changed = self._failing != bool(report.problems)
        if changed or self._last is None or now - self._last >= self.every:
            self.out(self.prefix + str(SCRUBBER(poll_line(report, health))))
            self._last, self._failing = now, bool(report.problems)

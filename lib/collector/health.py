"""The collector's health: a small immutable snapshot of how its polls went, and its sentence.

``CollectorHealth`` changes only by ``after_poll`` (a new snapshot each poll), so a reader in
another thread always sees one whole poll's outcome. ``health_sentence`` is pure: the snapshot
and ``now`` in, one sentence out, the kind the console's banner and ``./ops collect`` show:
"Flower has not answered for 43 s (timeout 10 s); the store holds data up to 09:11:48 UTC".

Invariants: ``last_error`` is plain words with every configured secret scrubbed (the caller
scrubs before ``after_poll``); ``failing_since`` is the start of the first failed poll of the
current streak and None when the last poll worked; ``data_until`` is when Flower's tasks last
reached the store (it survives a restart through the kept state); ``catching_up`` is set only
while a full load of Flower's tasks runs (tasks read so far; ``catching_up_of`` is Flower's own
estimate of its total, or None; ``catching_up_at`` when its latest page was written) and every
poll's end clears it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

__all__ = [
    "FLOWER",
    "NO_ANSWER",
    "CollectorHealth",
    "PollProblem",
    "catch_up_sentence",
    "health_sentence",
]

#: Who a problem came from, as the sentence names it.
FLOWER = "Flower"
#: A problem's kind when the source did not answer at all (refused, timed out).
NO_ANSWER = "no answer"


@dataclass(frozen=True)
class PollProblem:
    """What went wrong in one poll: its source (``FLOWER``, "the broker", "the history store"),
    whether the source did not answer at all, and the error in plain words (scrubbed)."""

    source: str
    text: str
    no_answer: bool = False


@dataclass(frozen=True)
class CollectorHealth:
    """How the collector of one cluster is doing. Times are epoch seconds."""

    cluster: str = "default"
    timeout: float = 10.0  # FLOWER_TIMEOUT, for the sentence
    poll_seconds: float = 10.0
    last_attempt: float | None = None
    last_success: float | None = None  # the end of the last poll where every reading worked
    data_until: float | None = None  # when Flower's tasks last reached the store
    last_error: str | None = None
    source: str | None = None  # who the last error came from
    no_answer: bool = False  # the source did not answer at all
    failing_since: float | None = None
    consecutive_failures: int = 0
    tasks_written: int = 0  # task rows changed since this collector started
    polls: int = 0
    catching_up: int | None = None  # tasks a full load running now has read so far
    catching_up_of: int | None = None  # Flower's estimate of how many it holds
    catching_up_at: float | None = None  # when its latest page reached the store
    metrics_note: str | None = None  # why this process serves no /metrics (lib.metrics)

    @property
    def flower_failing(self) -> bool:
        """Whether the last poll's trouble was Flower's (then what it holds is not news)."""
        return self.last_error is not None and self.source == FLOWER

    def loading(self, done: int, total: int | None, at: float) -> CollectorHealth:
        """The snapshot while a full load runs: ``done`` tasks read of about ``total``, the
        latest page written to the store at ``at`` (``data_until`` waits for the poll's end)."""
        return replace(self, catching_up=done, catching_up_of=total, catching_up_at=at)

    def after_poll(
        self,
        started: float,
        ended: float,
        problems: tuple[PollProblem, ...],
        written: int,
        synced: bool,
    ) -> CollectorHealth:
        """The snapshot after a poll that ran from ``started`` to ``ended``; ``synced`` says
        Flower's tasks reached the store in it."""
        common = {
            "last_attempt": started,
            "data_until": ended if synced else self.data_until,
            "tasks_written": self.tasks_written + written,
            "polls": self.polls + 1,
            "catching_up": None,
            "catching_up_of": None,
            "catching_up_at": None,
        }
        if not problems:
            return replace(
                self,
                **common,
                last_success=ended,
                last_error=None,
                source=None,
                no_answer=False,
                failing_since=None,
                consecutive_failures=0,
            )
        first = problems[0]  # the poll's first problem is the one that explains the rest
        return replace(
            self,
            **common,
            last_error=" ".join(p.text for p in problems),
            source=first.source,
            no_answer=first.no_answer,
            failing_since=self.failing_since if self.failing_since is not None else started,
            consecutive_failures=self.consecutive_failures + 1,
        )

    def to_kept(self) -> dict:
        """What a restarted collector takes back (``resumed``): when data last came in."""
        return {"data_until": self.data_until, "last_success": self.last_success}

    @classmethod
    def resumed(cls, kept: dict | None, **current) -> CollectorHealth:
        """A fresh snapshot that remembers when data last came in (``to_kept``); ``current``
        sets the rest (cluster, timeout, poll_seconds). The old run's errors are not taken
        back: a streak of failures is this run's to count."""
        kept = kept or {}
        times = {k: kept.get(k) for k in ("data_until", "last_success")}
        valid = {
            k: float(v)
            for k, v in times.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        return cls(**valid, **current)


def health_sentence(health: CollectorHealth, now: float, tz: tzinfo = UTC) -> str:
    """One sentence on the collector's state at ``now``, times shown in ``tz`` (named)."""
    held = _held(health, now, tz)
    if health.last_attempt is None:
        return f"The collector has not polled Flower yet; {held}."
    if health.last_error is None:
        ago = _duration(max(0.0, now - (health.last_success or health.last_attempt)))
        return f"Collecting every {health.poll_seconds:g} s; the last poll ended {ago} ago; {held}."
    since = _duration(max(0.0, now - (health.failing_since or health.last_attempt)))
    source = health.source or "The collector"
    subject = source[0].upper() + source[1:]
    if health.no_answer and health.source == FLOWER:
        # The banner's sentence: short; ``last_error`` keeps the detail (refused or timed out).
        return f"Flower has not answered for {since} (timeout {health.timeout:g} s); {held}."
    if health.no_answer:
        return f"{subject} has not answered for {since}; {held}. {health.last_error}"
    return f"{subject} has failed for {since}; {held}. {health.last_error}"


def catch_up_sentence(health: CollectorHealth) -> str:
    """ "Catching up: 12,000 of ~30,000 new tasks." while a full load runs, else ""."""
    done, total = health.catching_up, health.catching_up_of
    if done is None:
        return ""
    if total is None or total < done:  # Flower's count is an estimate: never show less
        return f"Catching up: {done:,} new tasks read so far."
    return f"Catching up: {done:,} of ~{total:,} new tasks."


def _held(health: CollectorHealth, now: float, tz: tzinfo) -> str:
    if health.data_until is None:
        return "the store holds no data from Flower yet"
    return f"the store holds data up to {_moment(health.data_until, now, tz)}"


def _moment(at: float, now: float, tz: tzinfo) -> str:
    """A time of day, with its date when it is not today's (in ``tz``), and ``tz``'s name."""
    moment, today = datetime.fromtimestamp(at, tz), datetime.fromtimestamp(now, tz)
    shown = moment.strftime("%H:%M:%S" if moment.date() == today.date() else "%Y-%m-%d %H:%M:%S")
    return f"{shown} {moment.tzname()}"


def _duration(seconds: float) -> str:
    """Seconds as people say them: 43 s, 5 min 3 s, 2 h 5 min, 3 d 4 h."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"

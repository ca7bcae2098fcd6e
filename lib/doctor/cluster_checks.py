"""The doctor's checks of what Flower sees of the cluster: task events, task-sent events,
result_extended, the workers' clocks, and how much history Flower holds.

Evidence beats configuration: a worker's inspected ``conf`` lists only settings its app changed
(a missing key is Celery's default, off), and ``-E`` or Flower's ``--enable_events`` turn
events on without touching it. So events count as arriving when Flower counted task events
from a worker; a worker is blind when it ran tasks (inspect's ``total``) since Flower saw it
come online (``worker-online``: Flower was listening the whole time) and Flower counted no task
event from it. Only when no worker gives evidence does the configuration decide.
"""

from __future__ import annotations

from lib.doctor.evidence import RECENT_TASKS, Evidence
from lib.doctor.findings import Status, Verdict

__all__ = [
    "check_clock_skew",
    "check_events",
    "check_history",
    "check_result_extended",
    "check_sent_events",
]

#: Worker clocks this far from the console's skew task times and runtimes visibly (issue 15).
SKEW_WARN_SECONDS = 5.0
SKEW_FAIL_SECONDS = 60.0
#: Celery's default heartbeat interval, when Flower's row does not say.
DEFAULT_FREQ = 2.0
#: Flower's default --max_tasks (2.x): the tasks it keeps in memory, newest first.
DEFAULT_MAX_TASKS = 100_000
#: A Flower window shorter than this loses tasks whenever the collector is down that long.
SHORT_HISTORY_SECONDS = 3600.0
#: The shortest span of Flower's tasks whose rate is extrapolated into a WARN.
MIN_RATE_SPAN_SECONDS = 600.0
#: Units for a rough span: (seconds in one, name, decimals shown), largest first.
SPANS = ((86400, "days", 1), (3600, "h", 1), (60, "min", 0), (1, "s", 0))
NO_WORKER = "Not checked: no worker is online."
EVENTS_FIX = (
    "start workers with -E (or worker_send_task_events=True), or leave Flower's "
    "--enable_events on (its default), which turns events on every few seconds"
)


def check_events(evidence: Evidence) -> Verdict:
    """Task events from the workers reach Flower."""
    online = evidence.online()
    if not online:
        return Status.WARN, NO_WORKER
    rows, info = evidence.summaries(), evidence.workers()
    seen, blind = [], []
    for host in online:
        row, total = rows.get(host) or {}, _executed(info.get(host) or {})
        if _task_events(row) > 0:
            seen.append(host)
        elif total > 0 and row.get("worker-online", 0):
            blind.append((host, total))
    if blind:
        names = ", ".join(f"{host} ran {n}" for host, n in blind)
        return Status.WARN, (
            f"No task event reached Flower from workers that ran tasks since Flower saw them "
            f"start ({names}): Flower and the console miss those tasks. Fix: {EVENTS_FIX}."
        )
    if seen:
        return (
            Status.PASS,
            f"Flower receives task events from {len(seen)} of {len(online)} workers.",
        )
    return _events_by_configuration(evidence, online)


def _events_by_configuration(evidence: Evidence, online: list[str]) -> Verdict:
    confs = evidence.confs()
    if len(confs) == len(online) and all(c.get("worker_send_task_events") for c in confs.values()):
        return Status.PASS, (
            "The workers' app sets worker_send_task_events=True; no task has run since Flower "
            "started to confirm events arrive."
        )
    return Status.WARN, (
        "No task has run since Flower started, so events cannot be confirmed, and the workers' "
        f"app does not set worker_send_task_events. To be sure, {EVENTS_FIX}."
    )


def _executed(info: dict) -> int:
    total = (info.get("stats") or {}).get("total") or {}
    return sum(n for n in total.values() if isinstance(n, int)) if isinstance(total, dict) else 0


def _task_events(row: dict) -> int:
    """Task events Flower counted from this worker (task-sent comes from producers)."""
    return sum(
        n
        for kind, n in row.items()
        if kind.startswith("task-") and kind != "task-sent" and isinstance(n, int)
    )


def check_sent_events(evidence: Evidence) -> Verdict:
    """Producers send task-sent events, so queued tasks are visible as PENDING."""
    tasks = evidence.recent_tasks()
    fix = (
        "queued tasks are not visible as PENDING until a worker receives them. Set "
        "task_send_sent_event=True in the Celery app that sends tasks"
    )
    if any(task.get("sent") for task in tasks):
        return Status.PASS, "Tasks arrive with their task-sent event: queued tasks show as PENDING."
    if tasks:
        return Status.WARN, (
            f"None of Flower's {min(len(tasks), RECENT_TASKS)} newest tasks had a task-sent "
            f"event: {fix}."
        )
    confs = evidence.confs()
    if confs and all(c.get("task_send_sent_event") for c in confs.values()):
        return Status.PASS, (
            "The workers' app sets task_send_sent_event=True (producers sharing its "
            "configuration show queued tasks as PENDING)."
        )
    return Status.WARN, f"The workers' app does not set task_send_sent_event: {fix}."


def check_result_extended(evidence: Evidence) -> Verdict:
    """Workers store the task's name, args and kwargs with its result (``result_extended``)."""
    online = evidence.online()
    if not online:
        return Status.WARN, NO_WORKER
    confs = evidence.confs()
    if not confs:
        return Status.WARN, "The workers did not answer inspect conf, so this is unknown."
    off = sorted(host for host, conf in confs.items() if not conf.get("result_extended"))
    if off:
        return Status.WARN, (
            f"result_extended is off on {', '.join(off)}: Retry cannot use a task's original "
            "arguments from the result backend. Set result_extended=True in the workers' app."
        )
    return Status.PASS, "result_extended is on: Retry can send a task's original arguments."


def check_clock_skew(evidence: Evidence) -> Verdict:
    """The online workers' heartbeat clocks agree with the console's."""
    now = evidence.clock()
    rows = evidence.summaries()
    skews = {host: _skew(rows.get(host) or {}, now) for host in evidence.online()}
    known = {host: s for host, s in skews.items() if s is not None}
    if not known:
        return Status.WARN, NO_WORKER if not skews else "No heartbeat times to compare."
    host, skew = max(known.items(), key=lambda item: abs(item[1]))
    way = "ahead of" if skew > 0 else "behind"
    said = f"{host}'s clock is about {abs(skew):.0f} s {way} the console's"
    fix = "task times and runtimes are off by that much; sync the clocks (NTP, chrony)"
    if abs(skew) > SKEW_FAIL_SECONDS:
        return Status.FAIL, f"{said}: {fix}."
    if abs(skew) > SKEW_WARN_SECONDS:
        return Status.WARN, f"{said}: {fix}."
    return Status.PASS, (
        f"The workers' clocks agree with the console's within {SKEW_WARN_SECONDS:g} s "
        f"(largest: {host}, {abs(skew):.1f} s)."
    )


def _skew(row: dict, now: float) -> float | None:
    """Seconds the worker's clock is ahead (+) or behind (-), heartbeat lag allowed for.

    A heartbeat leaves every ``freq`` seconds, so the newest can be up to about two intervals
    old with the clocks in agreement: only a lag beyond that counts as the worker's clock behind.
    """
    beats = [b for b in row.get("heartbeats") or [] if isinstance(b, int | float)]
    if not beats:
        return None
    offset = max(beats) - now
    if offset >= 0:
        return offset
    freq = row.get("freq") if isinstance(row.get("freq"), int | float) else DEFAULT_FREQ
    return min(0.0, offset + 2 * freq)


def check_history(evidence: Evidence) -> Verdict:
    """How long Flower keeps tasks at the current rate (its oldest task's age and count)."""
    client = evidence.client
    count, oldest = client.task_count(), client.oldest_task()
    stamp = (oldest or {}).get("timestamp")
    if not count or not isinstance(stamp, int | float):
        return Status.PASS, (
            "Flower holds no tasks yet; it keeps the newest --max_tasks (100,000 by default) "
            "in memory and forgets them when it restarts."
        )
    age = max(evidence.clock() - stamp, 1.0)
    held = f"Flower holds {count:,} tasks, the oldest {_about(age)} old"
    if count >= DEFAULT_MAX_TASKS:
        window, said = age, f"{held}: it is full, so Flower keeps about {_about(age)} of tasks"
    else:
        window = DEFAULT_MAX_TASKS * age / count
        rate = count / age * 60
        said = (
            f"{held} (about {rate:,.1f} a minute): at that rate its default --max_tasks=100,000 "
            f"keeps about {_about(window)} of tasks"
        )
    # A rate measured over a few minutes (a burst, a test run) says little about the window.
    measured = count >= DEFAULT_MAX_TASKS or age >= MIN_RATE_SPAN_SECONDS
    if measured and window < SHORT_HISTORY_SECONDS:
        return Status.WARN, (
            f"{said}; a collector stopped longer than that loses tasks. Raise Flower's "
            "--max_tasks (about 4 KB of memory per task)."
        )
    return Status.PASS, f"{said} (the console's store keeps them longer)."


def _about(seconds: float) -> str:
    """A span roughly, in the largest unit it fills one and a half of: 45 s, 12 min, 3.1 h."""
    for size, unit, digits in SPANS:
        if seconds >= 1.5 * size or size == 1:
            return f"{seconds / size:.{digits}f} {unit}"
    raise AssertionError("SPANS ends with seconds")

"""Orphaned and stuck tasks (contract.md, Definitions): the pure definitions, edge by edge."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from lib import frames
from lib.frames import flags
from lib.store.histogram import bucket_of
from tests.factories import task_payload

NOW = 1_800_000_000.0
MIN = 60.0


def tasks(*payloads: dict) -> pd.DataFrame:
    return frames.tasks_frame(list(payloads))


def running(uuid: str, started: float, state: str = "STARTED", **kw) -> dict:
    """A task on w1@host, started at ``started`` (received 1 s before) and not finished."""
    base = task_payload(uuid, state, at=started + 1.0)
    base.update(started=started, received=started - 1.0, sent=started - 2.0, **kw)
    return base


def waiting(uuid: str, received: float, **kw) -> dict:
    """A RECEIVED task on w1@host, received at ``received``."""
    base = running(uuid, received, "RECEIVED", **kw)
    base.update(started=None, received=received)
    return base


def workers(*rows: tuple[str, bool, float | None, float | None]) -> pd.DataFrame:
    """A workers frame from (name, online, last heartbeat, uptime at the inspect) rows."""
    summaries = [
        {"hostname": n, "status": on, "heartbeats": [] if b is None else [b]}
        for n, on, b, _ in rows
    ]
    # Flower stamps each inspect reply; here it came a minute ago, as a cached one would.
    info = {n: {"stats": {"uptime": u}, "timestamp": NOW - MIN} for n, _, _, u in rows if u}
    status = {n: on for n, on, _, _ in rows}
    return frames.workers_frame(summaries, info, status)


def p99_of(name: str, seconds: float, samples: int) -> pd.DataFrame:
    """Runtime histograms with ``samples`` runs of ``name``, all lasting ``seconds``."""
    return pd.DataFrame({"subject": [name], "bucket": [bucket_of(seconds)], "tasks": [samples]})


# -- orphaned ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "online", "uptime", "flagged", "cause"),
    [
        pytest.param("STARTED", False, 3600.0, True, "offline", id="started-worker-offline"),
        pytest.param("PROGRESS", False, 3600.0, True, "offline", id="custom-state-offline"),
        pytest.param("STARTED", True, 3600.0, False, None, id="worker-up-since-before"),
        pytest.param("STARTED", True, 60.0, True, "restarted", id="restart-same-name"),
        # Inspected a minute ago with 9.5 min up: up since 10.5 min ago, before the task (now −
        # uptime would say 9.5 min ago, after it: a false restart).
        pytest.param("STARTED", True, 570.0, False, None, id="stale-inspect-same-process"),
        pytest.param("PROGRESS", True, 60.0, True, "restarted", id="custom-state-restart"),
        pytest.param("STARTED", True, None, False, None, id="uptime-unknown"),
        pytest.param("RECEIVED", False, 3600.0, False, None, id="received-is-not-running"),
        pytest.param("SUCCESS", False, 3600.0, False, None, id="finished"),
    ],
)
def test_orphaned(state, online, uptime, flagged, cause):
    task = running("t1", NOW - 10 * MIN, state)
    found = flags.orphaned_frame(tasks(task), workers(("w1@host", online, NOW - 5 * MIN, uptime)))
    assert found["uuid"].tolist() == (["t1"] if flagged else [])
    if flagged:
        assert found["cause"].iloc[0] == cause
        assert found["flag"].iloc[0] == "orphaned"


def test_orphaned_says_when_the_worker_went_offline_or_came_back():
    beat = NOW - 5 * MIN
    offline = flags.orphaned_frame(
        tasks(running("t1", NOW - 10 * MIN)), workers(("w1@host", False, beat, 3600.0))
    )
    assert offline["since"].iloc[0] == pd.Timestamp(beat, unit="s", tz="UTC")
    restarted = flags.orphaned_frame(
        tasks(running("t1", NOW - 10 * MIN)), workers(("w1@host", True, NOW, 120.0))
    )
    inspected = NOW - MIN  # the reply's time, not the page's
    assert restarted["since"].iloc[0] == pd.Timestamp(inspected - 120, unit="s", tz="UTC")


def test_a_revoked_progress_task_is_not_running_so_not_orphaned():
    task = running("t1", NOW - 10 * MIN, "PROGRESS", revoked=NOW - 9 * MIN)
    found = flags.orphaned_frame(tasks(task), workers(("w1@host", False, NOW, 1.0)))
    assert found.empty


def test_a_worker_flower_does_not_list_or_no_workers_read_flags_nothing():
    task = tasks(running("t1", NOW - 10 * MIN, worker="w9@gone"))
    assert flags.orphaned_frame(task, workers(("w1@host", False, NOW, 1.0))).empty
    assert flags.orphaned_frame(task, None).empty


def test_orphaned_sentence_names_worker_and_time_in_the_zone():
    found = flags.orphaned_frame(
        tasks(running("t1", NOW - 10 * MIN)),
        workers(("w1@host", False, NOW - 5 * MIN, 3600.0)),
    )
    said = flags.flag_sentence(flags.flag_of(found, "t1"), UTC)
    at = datetime.fromtimestamp(NOW - 5 * MIN, UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert said == f"orphaned: worker w1@host went offline at {at}"


# -- stuck -------------------------------------------------------------------------------------


def test_p99_per_name_from_histograms():
    histograms = pd.concat([p99_of("a", 10.0, 30), p99_of("a", 100.0, 1), p99_of("b", 1.0, 5)])
    p99 = flags.runtime_p99_frame(histograms).set_index("name")
    assert p99.loc["a", "samples"] == 31 and p99.loc["b", "samples"] == 5
    assert 10.0 < p99.loc["a", "p99"] < 100.0 * 1.05  # interpolated towards the slow run
    assert flags.runtime_p99_frame(histograms.iloc[0:0]).empty


@pytest.mark.parametrize(
    ("state", "running_min", "p99_s", "samples", "stuck"),
    [
        pytest.param("STARTED", 31, 600.0, 20, True, id="over-3x-p99"),
        pytest.param("STARTED", 29, 600.0, 20, False, id="under-3x-p99"),
        pytest.param("RECEIVED", 31, 600.0, 20, True, id="received-counts"),
        pytest.param("STARTED", 31, 600.0, 19, False, id="under-20-samples"),
        pytest.param("STARTED", 4, 1.0, 500, False, id="under-5-minutes"),
        pytest.param("STARTED", 6, 1.0, 500, True, id="over-5-minutes-fast-task"),
        pytest.param("PROGRESS", 31, 600.0, 20, False, id="custom-state-not-stuck"),
        pytest.param("SUCCESS", 31, 600.0, 20, False, id="finished"),
    ],
)
def test_stuck(state, running_min, p99_s, samples, stuck):
    at = NOW - running_min * MIN
    task = waiting("t1", at) if state == "RECEIVED" else running("t1", at, state)
    p99 = flags.runtime_p99_frame(p99_of("demo.add", p99_s, samples))
    found = flags.stuck_frame(tasks(task), p99, NOW)
    assert found["uuid"].tolist() == (["t1"] if stuck else [])


def test_a_future_eta_is_never_stuck_and_a_past_one_starts_the_clock():
    p99 = flags.runtime_p99_frame(p99_of("demo.add", 60.0, 100))  # 3× p99 < 5 min: 5 min counts
    received = NOW - 60 * MIN
    future = waiting("f", received, eta=_iso(NOW + 60))
    past_recent = waiting("p", received, eta=_iso(NOW - 2 * MIN))
    past_long = waiting("l", received, eta=_iso(NOW - 10 * MIN))
    found = flags.stuck_frame(tasks(future, past_recent, past_long), p99, NOW)
    assert found["uuid"].tolist() == ["l"]
    assert found["running_for"].iloc[0] == pytest.approx(10 * MIN)


def test_stuck_sentence_says_running_time_and_threshold():
    p99 = flags.runtime_p99_frame(p99_of("demo.add", 180.0, 50))
    found = flags.stuck_frame(tasks(running("t1", NOW - 42 * MIN)), p99, NOW)
    flag = flags.flag_of(found, "t1")
    minutes = int(flags.STUCK_TIMES * flag["p99"] // 60)  # the bucket's estimate: ≈ 9 min
    assert minutes in (8, 9, 10)
    assert flags.flag_sentence(flag, UTC) == f"stuck: running 42 min, 3× p99 is {minutes} min"


# -- together ----------------------------------------------------------------------------------


def test_one_flag_per_task_orphaned_first_and_counts_and_column():
    p99 = flags.runtime_p99_frame(p99_of("demo.add", 1.0, 100))
    held = tasks(
        running("both", NOW - 60 * MIN),
        running("stuck", NOW - 60 * MIN, worker="w2@host"),
        running("fine", NOW - 1 * MIN, worker="w2@host"),
    )
    found = flags.flags_frame(
        held,
        workers(("w1@host", False, NOW, 3600.0), ("w2@host", True, NOW, 7200.0)),
        p99,
        NOW,
    )
    assert dict(zip(found["uuid"], found["flag"], strict=True)) == {
        "both": "orphaned",
        "stuck": "stuck",
    }
    assert flags.flag_counts(found) == {"orphaned": 1, "stuck": 1}
    assert flags.flag_column(held["uuid"], found).tolist() == ["orphaned", "stuck", ""]
    none = flags.flags_frame(held.iloc[0:0], None, p99, NOW)
    assert flags.flag_counts(none) == {"orphaned": 0, "stuck": 0}
    assert flags.flag_column(held["uuid"], none).tolist() == ["", "", ""], "no flag anywhere"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()

"""The Overview's "needs attention" strip: each rule on the inputs that trip it and on the
near misses that must not, and the deep link each item carries (contract.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from lib import frames
from lib.frames import attention, over_time
from lib.store.pauses import QueuePause
from tests.recorded import recorded

NOW = datetime(2026, 11, 22, 12, 0, 30, tzinfo=UTC)


def _samples(depths: dict[str, list[int | None]]) -> pd.DataFrame:
    rows = [
        {"at": pd.Timestamp(NOW) - pd.Timedelta(seconds=10 * (len(ds) - i)), "queue": q, "messages": d}
        for q, ds in depths.items()
        for i, d in enumerate(ds)
    ]  # fmt: skip
    return pd.DataFrame(rows).astype({"messages": "Int64"})


def _pulse(recent: tuple[int, int], before: tuple[int, int]) -> pd.DataFrame:
    """A pulse with ``before`` = (processed, failed) in each minute before the spike window
    and ``recent`` in all of it (in its last minute)."""
    frame = over_time.pulse_frame(pd.DataFrame(columns=["at", "state", "tasks"]), NOW)
    rest, quiet = len(frame) - attention.SPIKE_MINUTES, attention.SPIKE_MINUTES - 1
    frame["processed"] = [before[0]] * rest + [0] * quiet + [recent[0]]
    frame["failed"] = [before[1]] * rest + [0] * quiet + [recent[1]]
    return frame


def test_all_is_well_is_an_empty_strip():
    workers = frames.workers_frame(
        recorded("workers_ui")["data"], recorded("workers"), recorded("workers_status")
    )
    calm = _samples({"mail": [3, 3, 2, 4]})
    assert attention.needs_attention(workers, calm, _pulse((10, 1), (10, 1))) == []
    assert attention.needs_attention(None, None, None) == []


def test_an_offline_worker_links_to_its_worker():
    workers = frames.workers_frame(
        recorded("workers_ui")["data"], recorded("workers"), {"w1@vm": True, "w2@vm": False}
    )
    (item,) = attention.offline_workers(workers)
    assert (item.kind, item.subject) == ("Worker offline", "w2@vm")
    assert (item.page, item.query) == ("screens/workers.py", {"worker": "w2@vm"})


@pytest.mark.parametrize(
    ("depths", "growing"),
    [
        ([1, 2, 3, 4], True),
        ([9, 1, 2, 3, 4], True),  # only the last four samples count
        ([1, 2, 2, 3], False),  # a flat step is not growth
        ([2, 3, 4], False),  # too few samples to say
        ([1, None, 3, 4], False),  # the broker did not say once: unknown, not growth
        ([4, 3, 2, 1], False),
    ],
    ids=["rising", "last-four", "flat-step", "too-few", "gap", "draining"],
)
def test_a_queue_grows_when_each_of_its_last_samples_rose(depths, growing):
    items = attention.growing_queues(_samples({"mail": depths, "other": [5, 5, 5, 5]}))
    assert [i.subject for i in items] == (["mail"] if growing else [])
    if growing:
        assert items[0].query == {"queue": "mail"} and items[0].page == "screens/queues.py"
        assert "1 → 2 → 3 → 4" in items[0].sentence


@pytest.mark.parametrize(
    ("recent", "before", "spike"),
    [
        ((10, 5), (10, 0), True),  # 50 % against 0 %
        ((10, 5), (10, 3), False),  # 50 % against 30 %: not twice
        ((100, 5), (10, 0), False),  # 5 % against 0 %: not 10 points above
        ((8, 4), (10, 0), False),  # 50 % against 0 %, but 4 failures are too few to say
        ((100, 12), (100, 5), False),  # 12 % against 5 %: twice, but not 10 points above
        ((100, 20), (100, 5), True),
    ],
    ids=["from-zero", "not-twice", "low-rate", "few", "not-ten-points", "twice-and-ten"],
)
def test_a_failure_spike_is_a_recent_rate_well_above_the_rest_of_the_hour(recent, before, spike):
    items = attention.failure_spikes(_pulse(recent, before))
    assert len(items) == int(spike)
    if spike:
        assert items[0].page == "screens/errors.py" and items[0].query == {}
        assert f"in the last {attention.SPIKE_MINUTES} minutes" in items[0].sentence


def test_a_paused_growing_queue_stays_and_says_it_is_paused():
    pauses = {"mail": QueuePause("mail", NOW.timestamp() - 3600, "olga")}
    samples = _samples({"mail": [1, 2, 3, 4], "other": [1, 2, 3, 4]})
    items = attention.needs_attention(None, samples, None, pauses)
    said = {i.subject: i.sentence for i in items}
    assert said["mail"].endswith(
        "It is paused (since 2026-11-22 11:00 UTC by olga): its messages wait until Resume."
    )
    assert "paused" not in said["other"]

"""Label caps: first come first served up to the cap, the rest in ``other``, stable for the run."""

from __future__ import annotations

import pytest

from lib.metrics.labels import OTHER, UNKNOWN, LabelCap


def test_values_beyond_the_cap_read_as_other_and_admitted_ones_keep_their_label():
    cap = LabelCap(limit=2)
    cap.admit(["busy", "second"])
    assert [cap.label(v) for v in ("busy", "second", "third")] == ["busy", "second", OTHER]
    assert cap.label("third") == OTHER, "refused once, refused for the run"
    assert cap.label("busy") == "busy" and len(cap) == 2


def test_a_missing_value_is_unknown_and_takes_a_place_like_any_other():
    cap = LabelCap(limit=1)
    assert cap.label(None) == UNKNOWN and cap.label("") == UNKNOWN
    assert cap.label("late") == OTHER


def test_a_cap_admits_at_least_one_value():
    with pytest.raises(ValueError, match="at least one"):
        LabelCap(limit=0)

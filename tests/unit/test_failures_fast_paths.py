"""lib/failures' shortcuts give exactly the answers of the plain computations they skip."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lib import failures, frames, trends

RULES = failures.load_rules()
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp()

#: Pieces that trip the shortcuts: placeholders' material, ASCII's information separators,
#: other whitespace, and non-ASCII characters.
PIECES = [
    *"abcdefxyzABCDEFXKks019 .:-/\\'\"[]()<>_@,;~\t\n",
    *"\x1c\x1d\x1e\x1f\x0b\x85\xa0\u2028\u212a\u017f\u0130\u0131é٣",
    "  ", "0x1f", "0X2A", "deadbeef12", "1a2b3c4d", "cafe", "db:5432", "10.0.0.1:80", "[::1]:5", "[ab]",
    "'q'", '"dq"', "it's", "http://a.b/c?x=1", "/etc/x", "C:\\x", "~/y", "12.5",
    "f47ac10b-58cc-4372-a567-0e02b2c3d479", "timed out", "Error 111", "not found", "OOM",
    "signal 9 (SIGKILL)", "kay", "Kay", "start", "end", "foo", "CASE", "zz",
]  # fmt: skip
TEXT = (
    st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join)
    | st.lists(st.sampled_from(PIECES), max_size=20).map("".join)
    | st.text(max_size=40)
)


# -- signature -------------------------------------------------------------------------------

#: The characters one of which each placeholder's regex runs on (the documented behaviour).
NEEDS = {"<url>": ":", "<str>": "'\"", "<uuid>": "-", "<hex>": "0123456789", "<path>": "/\\",
         "<host>": ".:", "<n>": "0123456789"}  # fmt: skip


def plain_signature(message: str) -> str:
    for placeholder, pattern, _ in failures._PLACEHOLDERS:
        if any(c in message for c in NEEDS[placeholder]):
            message = pattern.sub(placeholder, message)
    message = failures._SPACE.sub(" ", message).strip()
    cut = failures.MAX_SIGNATURE
    return message if len(message) <= cut else message[: cut - 1] + "…"


@settings(max_examples=1000, deadline=None)
@given(TEXT)
@example("id 1a2b3c4d at 0x1F from 10.0.0.1:80, [ab:1] or db:5432 via http://x.y/z")
@example("tab\there, separator\x1chere,\xa0nbsp")
def test_signature_equals_the_plain_substitutions(message):
    assert failures.signature(message) == plain_signature(message)


def test_what_the_shortcuts_rest_on_holds_for_every_character():
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    # signature: every whitespace character but the space is unprintable
    assert [c for c in re.findall(r"\s", everything) if c.isprintable()] == [" "]
    # the <hex> hints: under re.I, [0-9a-f] and x match ASCII characters only
    assert "".join(re.findall("[0-9a-f]", everything, re.I)) == "0123456789ABCDEFabcdef"
    assert re.findall("x", everything, re.I) == ["X", "x"]


# -- groups ----------------------------------------------------------------------------------


def plain_listing(values: pd.Series) -> str:
    seen = sorted(set(values.fillna(trends.UNKNOWN).astype(str)))
    more = f", +{len(seen) - failures.LIST_LIMIT} more" if len(seen) > failures.LIST_LIMIT else ""
    return ", ".join(seen[: failures.LIST_LIMIT]) + more


def test_group_listings_equal_plain_python():
    kinds = ["ValueError('bad row 1')", "KeyError('k')", "LookupError('record 7 not found')"]
    tasks = frames.tasks_frame(
        [
            {
                "uuid": f"t{i}",
                "state": "FAILURE",
                "failed": T0 - i,
                "name": f"app.task{i % 13}" if i % 7 else None,
                "routing_key": f"q{i % 3}",
                "worker": f"w{i % 11}@host" if i % 5 else None,
                "exception": kinds[i % 3],
            }
            for i in range(90)
        ]
    )
    found = failures.failures_frame(tasks, RULES)
    groups = failures.error_groups_frame(found).set_index("group_id")
    assert len(groups) == 3
    for column, listing in (("name", "task_names"), ("queue", "queues"), ("worker", "workers")):
        expected = {gid: plain_listing(values) for gid, values in found.groupby("group_id")[column]}
        assert groups[listing].to_dict() == expected
    assert groups["task_names"].str.endswith("more").all()

"""Failure parsing, categories, signatures and groups, against answers worked out by hand."""

from __future__ import annotations

import uuid as uuidlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib import failures, frames, trends
from lib.errors import SettingsError
from tests.recorded import recorded_tasks, special

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp()
RULES = failures.load_rules()
KILLED_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/x/billiard/pool.py", line 1367, in mark_as_worker_lost\n'
    "    raise WorkerLostError(\n"
    "billiard.exceptions.WorkerLostError: Worker exited prematurely: signal 9 (SIGKILL) Job: 3.\n"
)


def failure(uuid: str, exception: str | None, at: float = T0 - 60, **kw) -> dict:
    """A FAILURE task as /api/tasks lists it."""
    base = {
        "uuid": uuid,
        "name": "demo.flaky",
        "state": "FAILURE",
        "received": at - 2,
        "started": at - 1,
        "failed": at,
        "timestamp": at,
        "worker": "w1@host",
        "routing_key": "default",
        "exception": exception,
        "traceback": f"Traceback (most recent call last):\n{exception}\n" if exception else None,
    }
    base.update(kw)
    return base


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception", "traceback", "expected"),
    [
        ('ValueError("invalid email address: \'bob@\'")', None, ("ValueError", "invalid email address: 'bob@'")),
        ("SoftTimeLimitExceeded()", None, ("SoftTimeLimitExceeded", "")),
        ("KeyError('customer_1234')", None, ("KeyError", "customer_1234")),
        ("LookupError('record 1234 not found')", None, ("LookupError", "record 1234 not found")),
        ("ExceptionWithTraceback()", KILLED_TRACEBACK, ("WorkerLostError", "Worker exited prematurely: signal 9 (SIGKILL) Job: 3.")),
        (None, "Traceback ...\nredis.exceptions.ConnectionError: Error 111.\n", ("ConnectionError", "Error 111.")),
        ("celery.exceptions.TimeLimitExceeded(30.0,)", None, ("TimeLimitExceeded", "30.0,")),
        ("OSError(2, 'No such file or directory')", None, ("OSError", "2, 'No such file or directory'")),
        ("ValueError('it\\'s \\u00e9')", None, ("ValueError", "it's é")),
        ("Worker crashed", None, ("", "Worker crashed")),
        ("RuntimeError: boom", None, ("RuntimeError", "boom")),
        (None, None, ("", "")),
    ],
    ids=[
        "value-error",
        "no-args",
        "key-error-unquoted",
        "lookup",
        "pool-killed-uses-traceback",
        "missing-exception-uses-traceback",
        "qualified-type-loses-module",
        "several-args-kept-raw",
        "escapes-decoded",
        "not-a-repr",
        "type-colon-message",
        "nothing",
    ],
)  # fmt: skip
def test_parse_exception(exception, traceback, expected):
    assert failures.parse_exception(exception, traceback) == expected


# -- categories ------------------------------------------------------------------------------

CATEGORIES = {
    "soft-time-limit": ("SoftTimeLimitExceeded()", "timeout"),
    "timeout-error": ("TimeoutError('request to https://x/1 timed out after 30s')", "timeout"),
    "timed-out-message": ("RuntimeError('read timed out')", "timeout"),
    "cuda-oom": ("OutOfMemoryError('CUDA out of memory. Tried to allocate 2 GiB')", "memory"),
    "memory-error": ("MemoryError()", "memory"),
    "oom-message": ("RuntimeError('Cannot allocate memory')", "memory"),
    "refused": ("ConnectionRefusedError('Error 111 connecting to db:5432.')", "connection"),
    "operational": ("OperationalError('could not connect to server')", "connection"),
    "dns": ("gaierror(-2, 'Name or service not known')", "connection"),
    "permission": ("PermissionError(13, 'Permission denied')", "permission/auth"),
    "http-403": ("HTTPError('403 Client Error: Forbidden for url')", "permission/auth"),
    "value": ("ValueError(\"invalid email address: 'bob@'\")", "validation/value"),
    "validation": ("ValidationError('amount must be positive')", "validation/value"),
    "lookup": ("LookupError('record 1234 not found')", "not found/lookup"),
    "key": ("KeyError('customer_1234')", "not found/lookup"),
    "does-not-exist": ("DoesNotExist('Order matching query does not exist.')", "not found/lookup"),
    "zero-division": ("ZeroDivisionError('division by zero')", "other"),
    "type-error": ("TypeError(\"f() missing 1 required positional argument: 'x'\")", "other"),
    "empty": ("", "other"),
}


@pytest.mark.parametrize(("exception", "category"), list(CATEGORIES.values()), ids=list(CATEGORIES))
def test_default_categories(exception, category):
    assert failures.categorize(*failures.parse_exception(exception), RULES) == category


def test_killed_pool_process_is_memory():
    parsed = failures.parse_exception("ExceptionWithTraceback()", KILLED_TRACEBACK)
    assert failures.categorize(*parsed, RULES) == "memory"


def test_rules_are_ordered_first_match_wins():
    # a refused connection whose message says "timed out" is a timeout: timeout comes first
    parsed = failures.parse_exception("ConnectionError('connect timed out')")
    assert failures.categorize(*parsed, RULES) == "timeout"
    assert [r.name for r in RULES] == [
        "timeout",
        "memory",
        "connection",
        "permission/auth",
        "validation/value",
        "not found/lookup",
    ]


RECORDED = {
    "failure_timeout": "timeout",
    "failure_soft_timeout": "timeout",
    "failure_connection": "connection",
    "failure_oom": "memory",
    "failure_oom_killed": "memory",
    "failure_validation": "validation/value",
    "failure_missing": "not found/lookup",
    "failure_key": "not found/lookup",
    "failure_validation_email": "validation/value",
    "training_oom": "memory",
    "etl_failed_transform": "validation/value",
}


@pytest.fixture(scope="module")
def recorded_failures() -> pd.DataFrame:
    return failures.failures_frame(frames.tasks_frame(recorded_tasks()), RULES).set_index("uuid")


@pytest.mark.parametrize(("case", "category"), list(RECORDED.items()), ids=list(RECORDED))
def test_recorded_real_failures_get_their_category(recorded_failures, case, category):
    assert recorded_failures.loc[special(case), "category"] == category


def test_recorded_counts_per_category_by_hand(recorded_failures):
    # tests/fixtures/flower/tasks.json holds 15 failures: 2 soft time limits + 1 TimeoutError;
    # 3 OutOfMemoryError + 1 SIGKILL; 3 refused connections (2 of them demo.retry_once);
    # 2 invalid emails + 1 invalid ETL row; 1 LookupError + 1 KeyError.
    got = failures.category_frame(recorded_failures)
    assert dict(zip(got["category"], got["failures"], strict=True)) == {
        "memory": 4,
        "connection": 3,
        "timeout": 3,
        "validation/value": 3,
        "not found/lookup": 2,
    }
    assert got["share"].tolist() == pytest.approx([400 / 15, 20.0, 20.0, 20.0, 200 / 15])


# -- user rules ------------------------------------------------------------------------------


def test_user_rules_come_first_and_replace_defaults_by_name(tmp_path):
    mine = tmp_path / "rules.toml"
    mine.write_text(
        "[[category]]\n"
        'name = "payment declined"\n'
        'types = ["CardError"]\n'
        "messages = ['card (was )?declined']\n"
        "[[category]]\n"
        'name = "timeout"\n'
        'types = ["SlowError"]\n'
    )
    rules = failures.load_rules(mine)
    names = [r.name for r in rules]
    assert names[:2] == ["payment declined", "timeout"]
    assert names.count("timeout") == 1
    assert failures.categorize("ValueError", "Your card was declined", rules) == "payment declined"
    assert failures.categorize("stripe.CardError", "", rules) == "other", "types have no module"
    assert failures.categorize("CardError", "", rules) == "payment declined"
    assert failures.categorize("SlowError", "", rules) == "timeout"
    assert failures.categorize("SoftTimeLimitExceeded", "", rules) == "other", "default replaced"


BAD_RULES = {
    "not-toml": ("[[category]\nname=", "not valid TOML"),
    "no-categories": ('title = "x"\n', "no [[category]]"),
    "no-name": ("[[category]]\ntypes = ['X']\n", "needs a name"),
    "empty-rule": ("[[category]]\nname = 'x'\n", "neither types nor messages"),
    "bad-regex": ("[[category]]\nname = 'x'\nmessages = ['(unclosed']\n", "bad pattern"),
    "typo-key": ("[[category]]\nname = 'x'\nmessage = ['a']\n", "unknown keys"),
    "types-not-list": ("[[category]]\nname = 'x'\ntypes = 'X'\n", "list of strings"),
}


@pytest.mark.parametrize(("text", "says"), list(BAD_RULES.values()), ids=list(BAD_RULES))
def test_bad_user_rules_raise_one_clear_error(tmp_path, text, says):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"rules\.toml") as raised:
        failures.load_rules(path)
    assert says in str(raised.value)


def test_missing_rules_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="cannot be read"):
        failures.load_rules(tmp_path / "nope.toml")


# -- signatures ------------------------------------------------------------------------------

SAME = {
    "host-and-port": (
        "Error 111 connecting to db:5432. Connection refused.",
        "Error 111 connecting to db2:5433. Connection refused.",
    ),
    "ipv4": ("cannot reach 10.0.0.12:6379", "cannot reach 192.168.1.5"),
    "numbers": ("record 1234 not found", "record 98 not found"),
    "floats": ("allocate 19.00 GiB of 15.78", "allocate 3.50 GiB of 80"),
    "uuid": (
        "task 3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b lost",
        "task 00000000-0000-0000-0000-000000000000 lost",
    ),
    "hex": ("object at 0x7f3a2b1c4d50 freed", "object at 0xdeadbeef freed"),
    "sha": ("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 bad", "commit a1b2c3d4e5f6 bad"),
    "quoted": ("invalid email address: 'bob@'", 'invalid email address: "alice@x"'),
    "path": ("cannot open /var/data/2026/in.csv", "cannot open /tmp/x"),
    "windows-path": (r"cannot open C:\data\in.csv", r"cannot open D:\tmp\x.txt"),
    "url": (
        "request to https://api.partner.example/v2/orders/1234 timed out",
        "request to http://localhost:8080/health timed out",
    ),
    "whitespace": ("a  b\n c", "a b c"),
}
DIFFERENT = {
    "words": ("record not found", "customer not found"),
    "placeholder-kinds": ("at db:5432", "at /var/db"),
    "ratio-is-not-a-path": ("epoch 3/4", "epoch /tmp"),
    "apostrophe-is-not-a-quote": ("can't reach 'a'", "can't reach b"),
}


@pytest.mark.parametrize(("one", "other"), list(SAME.values()), ids=list(SAME))
def test_near_identical_messages_share_a_signature(one, other):
    assert failures.signature(one) == failures.signature(other)


@pytest.mark.parametrize(("one", "other"), list(DIFFERENT.values()), ids=list(DIFFERENT))
def test_different_messages_keep_different_signatures(one, other):
    assert failures.signature(one) != failures.signature(other)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Error 111 connecting to db:5432. Connection refused.", "Error <n> connecting to <host>. Connection refused."),
        ("invalid row in pipeline pl-fixture02: column 'amount' is not a number", "invalid row in pipeline pl-fixture<n>: column <str> is not a number"),
        ("Worker exited prematurely: signal 9 (SIGKILL) Job: 24.", "Worker exited prematurely: signal <n> (SIGKILL) Job: <n>."),
        ("customer_1234", "customer_<n>"),
        ("", ""),
    ],
    ids=["connection", "etl-row", "sigkill", "key", "empty"],
)  # fmt: skip
def test_signature_placeholders(message, expected):
    assert failures.signature(message) == expected


def test_long_signatures_are_cut():
    sig = failures.signature("word " * 200)
    assert len(sig) == failures.MAX_SIGNATURE and sig.endswith("…")


WORDS = ["record", "not", "found", "connecting", "to", "failed", "Error", "row", "in", "job", "x"]


@st.composite
def templated(draw) -> tuple[list, list]:
    """A message as tokens; the variable ones are drawn twice (a renumbering)."""
    kinds = st.sampled_from(["word", "int", "float", "uuid", "host", "ip", "quoted", "id"])
    tokens = draw(st.lists(kinds, min_size=1, max_size=12))

    def variable(kind: str) -> str:
        number = draw(st.integers(0, 10**9))
        if kind == "int":
            return str(number)
        if kind == "float":
            return f"{number / 100:.2f}"
        if kind == "uuid":
            return str(uuidlib.UUID(int=draw(st.integers(0, 2**128 - 1))))
        if kind == "host":
            return f"{draw(st.sampled_from(['db', 'cache', 'db2']))}:{draw(st.integers(1, 65535))}"
        if kind == "ip":
            return ".".join(str(draw(st.integers(0, 255))) for _ in range(4))
        if kind == "quoted":
            return repr(draw(st.text("abc@.- ", max_size=8)))
        return f"customer_{number}"

    words = [draw(st.sampled_from(WORDS)) for _ in tokens]
    first = [w if k == "word" else variable(k) for k, w in zip(tokens, words, strict=True)]
    second = [w if k == "word" else variable(k) for k, w in zip(tokens, words, strict=True)]
    return first, second


@settings(max_examples=300, deadline=None)
@given(templated(), st.sampled_from([" ", ", ", ": ", " (", ") "]))
def test_signatures_are_stable_under_renumbering(pair, joiner):
    first, second = pair
    assert failures.signature(joiner.join(first)) == failures.signature(joiner.join(second))


# -- frames ----------------------------------------------------------------------------------

HAND = [
    failure("c1", "ConnectionRefusedError('Error 111 connecting to db:5432.')", at=T0 - 300),
    failure("c2", "ConnectionRefusedError('Error 111 connecting to db2:5433.')", at=T0 - 200,
            name="demo.extract", routing_key="etl", worker="w2@host"),
    failure("c3", "ConnectionRefusedError('Error 111 connecting to cache:6380.')", at=T0 - 100,
            name=None),
    failure("v1", "ValueError('invalid row 7')", at=T0 - 250),
    failure("k1", "ExceptionWithTraceback()", at=T0 - 50, traceback=KILLED_TRACEBACK),
    failure("n1", None, at=T0 - 40, traceback=None),
    {"uuid": "ok", "state": "SUCCESS", "succeeded": T0 - 30, "runtime": 1.0},
    {"uuid": "retry", "state": "RETRY", "exception": "ValueError('x')", "timestamp": T0 - 20},
]  # fmt: skip


@pytest.fixture
def hand() -> pd.DataFrame:
    tasks = frames.tasks_frame(HAND)
    return failures.failures_frame(trends.window_frame(tasks, NOW - timedelta(hours=1), NOW), RULES)


def test_one_row_per_failure_only(hand):
    assert sorted(hand["uuid"]) == ["c1", "c2", "c3", "k1", "n1", "v1"]
    assert list(hand.columns) == failures.FAILURE_COLUMNS
    no_exception = hand.set_index("uuid").loc["n1"]
    assert (no_exception["exception_type"], no_exception["category"]) == ("", "other")


def test_error_groups_by_hand(hand):
    groups = failures.error_groups_frame(hand)
    assert groups["count"].tolist() == [3, 1, 1, 1]
    assert groups["count"].sum() == len(hand)
    top = groups.iloc[0]
    assert (top["category"], top["exception_type"]) == ("connection", "ConnectionRefusedError")
    assert top["signature"] == "Error <n> connecting to <host>."
    assert top["share"] == pytest.approx(50.0)
    assert top["first_seen"] == pd.Timestamp(T0 - 300, unit="s", tz="UTC")
    assert top["last_seen"] == pd.Timestamp(T0 - 100, unit="s", tz="UTC")
    assert top["task_names"] == "(unknown), demo.extract, demo.flaky"
    assert top["queues"] == "default, etl"
    assert top["workers"] == "w1@host, w2@host"
    assert top["sample_task"] == "c3", "the newest failure of the group"
    assert top["sample_message"] == "Error 111 connecting to cache:6380."
    assert top["group_id"] == failures.group_id(
        "connection", "ConnectionRefusedError", top["signature"]
    )
    # ties on count: newest last_seen first
    assert groups["sample_task"].tolist()[1:] == ["n1", "k1", "v1"]


def test_group_ids_are_the_same_in_any_window_and_for_the_tasks_page():
    tasks = frames.tasks_frame(HAND)
    wide = failures.failures_frame(tasks, RULES).set_index("uuid")["group_id"]
    narrow = trends.window_frame(tasks, NOW - timedelta(seconds=150), NOW)
    assert failures.failures_frame(narrow, RULES).set_index("uuid")["group_id"].to_dict() == {
        u: wide[u] for u in ("c3", "k1", "n1")
    }
    ids = failures.task_group_ids(tasks, RULES)
    assert ids.index.equals(tasks.index)
    by_uuid = dict(zip(tasks["uuid"], ids, strict=True))
    assert pd.isna(by_uuid["ok"]) and pd.isna(by_uuid["retry"])
    assert by_uuid["c1"] == by_uuid["c2"] == by_uuid["c3"] != by_uuid["v1"]
    chosen = tasks[(ids == by_uuid["c1"]).fillna(False)]
    assert sorted(chosen["uuid"]) == ["c1", "c2", "c3"]


def test_in_error_group_keeps_only_that_groups_failures():
    tasks = frames.tasks_frame(HAND)
    ids = dict(zip(tasks["uuid"], failures.task_group_ids(tasks, RULES), strict=True))
    chosen = failures.in_error_group(tasks, RULES, ids["c1"])
    assert sorted(chosen["uuid"]) == ["c1", "c2", "c3"]
    assert list(chosen.columns) == list(tasks.columns)
    assert failures.in_error_group(tasks, RULES, "no-such-group").empty
    assert failures.in_error_group(frames.tasks_frame([]), RULES, ids["c1"]).empty


def test_category_frames_by_hand(hand):
    cats = failures.category_frame(hand)
    assert dict(zip(cats["category"], cats["failures"], strict=True)) == {
        "connection": 3,
        "memory": 1,
        "other": 1,
        "validation/value": 1,
    }
    size = pd.Timedelta("5min")
    trend = failures.category_trend_frame(hand, NOW - timedelta(minutes=10), NOW, size)
    nonzero = {(b, c): n for b, c, n in trend.itertuples(index=False) if n}
    five = pd.Timestamp(T0 - 300, unit="s", tz="UTC")  # 11:55 bucket: everything at ≥ 11:55
    assert nonzero == {(five, "connection"): 3, (five, "validation/value"): 1, (five, "memory"): 1,
                       (five, "other"): 1}  # fmt: skip
    assert len(trend) == 2 * 4


def test_no_failures_gives_empty_frames():
    tasks = frames.tasks_frame([{"uuid": "ok", "state": "SUCCESS", "succeeded": T0 - 1}])
    none = failures.failures_frame(tasks, RULES)
    assert none.empty and list(none.columns) == failures.FAILURE_COLUMNS
    groups = failures.error_groups_frame(none)
    assert groups.empty and "group_id" in groups.columns
    assert failures.category_frame(none).empty
    assert failures.category_trend_frame(
        none, NOW - timedelta(hours=1), NOW, pd.Timedelta("1min")
    ).empty
    assert failures.task_group_ids(frames.tasks_frame([]), RULES).empty


def test_recorded_groups_equal_plain_python(recorded_failures):
    raw = [t for t in recorded_tasks() if t["state"] == "FAILURE"]
    expected = Counter()
    for t in raw:
        kind, message = failures.parse_exception(t["exception"], t["traceback"])
        expected[(kind, failures.signature(message))] += 1
    groups = failures.error_groups_frame(recorded_failures.reset_index())
    got = {
        (k, s): n
        for k, s, n in groups[["exception_type", "signature", "count"]].itertuples(index=False)
    }
    assert got == dict(expected)
    # the three refused connections (db:5432 twice, cache:6380) are one group
    assert (
        expected[("ConnectionRefusedError", "Error <n> connecting to <host>. Connection refused.")]
        == 3
    )

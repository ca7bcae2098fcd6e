"""Failures: each failed task's exception, category and signature; failures grouped by signature.

Flower's ``exception`` is the repr of what the task raised: ``ValueError("invalid email
address: 'bob@'")``. Its type is the text before the first ``(`` (without a module), its message
the repr's argument (unquoted when it is one string literal). A pool process killed outright
leaves only ``ExceptionWithTraceback()``; then, as when ``exception`` is empty, type and
message come from the traceback's last line (``billiard.exceptions.WorkerLostError: Worker
exited prematurely: signal 9 (SIGKILL) Job: 3.``).

Category: the first rule that matches (``load_rules``: the user's file first, then
``error_categories.toml``, whose comments document the format), else ``other``.

Signature: the message with its variable parts replaced, in this order: URLs ``<url>``,
quoted strings ``<str>``, uuids ``<uuid>``, hex ids (``0x…``, or 8+ hex digits mixing digits
and letters) ``<hex>``, absolute paths ``<path>``, hosts (IPv4, ``[IPv6]``, ``name:port``)
``<host>``, numbers ``<n>``; whitespace collapsed, cut at ``MAX_SIGNATURE`` characters. So
"Error 111 connecting to db:5432." and "Error 111 connecting to db2:5433." are one signature.

Invariants: one row per FAILURE task in ``failures_frame``; a group is (category, exception
type, signature) and its ``group_id`` depends on nothing else, so the same failure gets the
same id in any range, session or process; group counts sum to the failures counted; shares
are percents of those failures. Exception text is untrusted: nothing here renders it. It
arrives masked (the store masks exception and traceback text before writing it), so
messages, signatures and samples never carry a credential the failure put in its message.
"""

from __future__ import annotations

import ast
import hashlib
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from lib import trends
from lib.errors import SettingsError

__all__ = [
    "DEFAULT_RULES_FILE",
    "OTHER",
    "Rule",
    "categorize",
    "category_frame",
    "category_trend_frame",
    "error_groups_frame",
    "failures_frame",
    "group_id",
    "in_error_group",
    "load_rules",
    "parse_exception",
    "rules_or_defaults",
    "signature",
    "task_group_ids",
]

#: The documented default rules, shipped next to this module.
DEFAULT_RULES_FILE = Path(__file__).with_name("error_categories.toml")
#: The category of a failure no rule matches.
OTHER = "other"
#: Long enough to tell messages apart, short enough for a table cell.
MAX_SIGNATURE = 200
#: Exceptions that only wrap the real one: the traceback's last line names what happened.
WRAPPERS = frozenset({"ExceptionWithTraceback"})
#: literal_eval on a huge repr is slow and can recurse deeply; such a message stays raw.
MAX_LITERAL = 10_000
LIST_LIMIT = 10  # names/queues/workers listed per group before "+N more"

_REPR = re.compile(r"\s*([A-Za-z_][\w.]*)\((.*)\)\s*", re.S)
_LINE = re.compile(r"([A-Za-z_][\w.]*)(?::\s?(.*))?", re.S)
_DIGITS = frozenset("0123456789")
#: A <hex> match has "0x" or this. ``re.I`` is spelled out: under ``re.I`` ``[0-9a-f]`` matches
#: only these ASCII characters, and a case-sensitive class lets ``re`` skip ahead fast.
_HEX_RUN = re.compile(r"[0-9a-fA-F]{8}")
#: Text every <host> match contains: an IPv4 or name:port has "." or ":" then a digit; IPv6 "[".
_HOST_HINT = re.compile(r"[.:\[](?:(?<=\[)|\d)")
#: (placeholder, pattern, a cheap test false where the pattern cannot match or must be skipped):
#: the test spares most messages most of the regexes.
_PLACEHOLDERS = tuple(
    (placeholder, re.compile(pattern, re.I), could_match)
    for placeholder, pattern, could_match in (
        (
            "<url>",
            r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>.,;:)\]]",
            lambda m: "://" in m,
        ),
        (
            "<str>",
            r"(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)\"[^\"\n]*\"(?!\w)",
            lambda m: "'" in m or '"' in m,
        ),
        (
            "<uuid>",
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            lambda m: "-" in m,
        ),
        (
            "<hex>",
            r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b",
            lambda m: (
                not _DIGITS.isdisjoint(m)
                and ("0x" in m or "0X" in m or _HEX_RUN.search(m) is not None)
            ),
        ),
        (
            "<path>",
            r"(?<![\w/<>.-])(?:[a-z]:\\|~?/)[^\s'\"<>:,;()]+",
            lambda m: "/" in m or "\\" in m,
        ),
        (
            "<host>",
            r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b|\[[0-9a-f:]+\](?::\d{1,5})?"
            r"|\b[a-z][\w.-]*:\d{1,5}\b",
            lambda m: ("." in m or ":" in m) and _HOST_HINT.search(m) is not None,
        ),
        ("<n>", r"\d+(?:\.\d+)?", lambda m: not _DIGITS.isdisjoint(m)),
    )
)
_SPACE = re.compile(r"\s+")
FAILURE_COLUMNS = [
    "uuid",
    "name",
    "queue",
    "worker",
    "at",
    "exception_type",
    "message",
    "signature",
    "category",
    "group_id",
]

GROUP_COLUMNS = [
    "category",
    "exception_type",
    "signature",
    "count",
    "share",
    "first_seen",
    "last_seen",
    "task_names",
    "queues",
    "workers",
    "sample_task",
    "sample_message",
    "group_id",
]


@dataclass(frozen=True)
class Rule:
    """One category: matched by exception class name or by a message pattern."""

    name: str
    types: frozenset[str]
    messages: re.Pattern | None  # the rule's patterns as one case-insensitive alternation

    def matches(self, exception_type: str, message: str) -> bool:
        if exception_type in self.types:
            return True
        return self.messages is not None and self.messages.search(message) is not None


def load_rules(extra: Path | None = None) -> tuple[Rule, ...]:
    """The category rules in matching order: ``extra``'s (``OPS_ERROR_RULES_FILE``) first.

    A rule in ``extra`` named like a default replaces it. Raises ``SettingsError`` naming the
    file and the problem when a file cannot be read or a rule is malformed.
    """
    defaults = _rules_from(DEFAULT_RULES_FILE)
    if extra is None:
        return defaults
    own = _rules_from(Path(extra))
    mine = {rule.name for rule in own}
    return own + tuple(rule for rule in defaults if rule.name not in mine)


def rules_or_defaults(extra: Path | None) -> tuple[tuple[Rule, ...], SettingsError | None]:
    """``load_rules(extra)``; when ``extra`` cannot be used, the defaults and why not."""
    try:
        return load_rules(extra), None
    except SettingsError as exc:
        return load_rules(), exc


def _rules_from(path: Path) -> tuple[Rule, ...]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"Error rules file {path} cannot be read: {exc.strerror}.") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"Error rules file {path} is not valid TOML: {exc}.") from exc
    tables = data.get("category")
    if not isinstance(tables, list) or not tables:
        raise SettingsError(f"Error rules file {path} has no [[category]] tables.")
    return tuple(_rule(path, i, table) for i, table in enumerate(tables, 1))


def _rule(path: Path, number: int, table: object) -> Rule:
    where = f"Error rules file {path}, category #{number}"
    if not isinstance(table, dict):
        raise SettingsError(f"{where} is not a table.")
    unknown = set(table) - {"name", "types", "messages"}
    if unknown:
        raise SettingsError(f"{where} has unknown keys {sorted(unknown)} (name, types, messages).")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SettingsError(f"{where} needs a name.")
    types, messages = table.get("types", []), table.get("messages", [])
    for key, values in (("types", types), ("messages", messages)):
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise SettingsError(f"{where} ({name!r}): {key} must be a list of strings.")
    if not types and not messages:
        raise SettingsError(f"{where} ({name!r}) has neither types nor messages.")
    for pattern in messages:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SettingsError(f"{where} ({name!r}): bad pattern {pattern!r}: {exc}.") from exc
    joined = re.compile("|".join(f"(?:{p})" for p in messages), re.I) if messages else None
    return Rule(name.strip(), frozenset(t.rsplit(".", 1)[-1] for t in types), joined)


def parse_exception(exception: str | None, traceback: str | None = None) -> tuple[str, str]:
    """``(type, message)`` of a failure from Flower's ``exception`` repr and ``traceback``.

    The type has no module; ``("", text)`` when neither looks like an exception.
    """
    text = (exception or "").strip()
    found = _REPR.fullmatch(text)
    kind = _short(found.group(1)) if found else ""
    if found and kind not in WRAPPERS:
        return kind, _unrepr(found.group(2))
    last = (traceback or "").rstrip().rsplit("\n", 1)[-1].strip()
    line = _LINE.fullmatch(last) if last else None
    if line:
        return _short(line.group(1)), (line.group(2) or "").strip()
    if found:
        return kind, _unrepr(found.group(2))
    line = _LINE.fullmatch(text) if ":" in text else None
    if line:
        return _short(line.group(1)), (line.group(2) or "").strip()
    return "", text


def _short(qualified: str) -> str:
    return qualified[qualified.rfind(".") + 1 :]


def _unrepr(args: str) -> str:
    args = args.strip()
    if not args or len(args) > MAX_LITERAL or args[0] not in "'\"bBrRuU":
        return args
    quote = args[0]
    if len(args) > 1 and args[-1] == quote and "\\" not in args and quote not in args[1:-1]:
        return args[1:-1]  # a plain one-string repr: no need to parse it
    try:
        value = ast.literal_eval(args)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return args  # e.g. several arguments, or an object repr: keep the text as Flower gave it
    return value if isinstance(value, str) else args


def signature(message: str) -> str:
    """The message with its variable parts replaced by placeholders (see the module docstring)."""
    for placeholder, pattern, could_match in _PLACEHOLDERS:
        if could_match(message):
            message = pattern.sub(placeholder, message)
    # Every whitespace character but the space is unprintable: without those and without a
    # double space there is nothing to collapse.
    if "  " in message or not message.isprintable():
        message = _SPACE.sub(" ", message)
    message = message.strip()
    return message if len(message) <= MAX_SIGNATURE else message[: MAX_SIGNATURE - 1] + "…"


def categorize(exception_type: str, message: str, rules: Iterable[Rule]) -> str:
    """The name of the first rule matching the failure, else ``"other"``."""
    for rule in rules:
        if rule.matches(exception_type, message):
            return rule.name
    return OTHER


def group_id(category: str, exception_type: str, sig: str) -> str:
    """A short stable id for a group: the first 12 hex digits of sha1(category|type|signature)."""
    return hashlib.sha1(f"{category}|{exception_type}|{sig}".encode()).hexdigest()[:12]


def failures_frame(tasks: pd.DataFrame, rules: Iterable[Rule]) -> pd.DataFrame:
    """One row per FAILURE task of ``tasks`` (a tasks frame or a ``trends.window_frame``).

    Columns: uuid, name, queue, worker, at (UTC; the window's ``at``, else the failure time of
    ``trends.placed_at``), exception_type, message, signature, category, group_id. The index
    is ``tasks``' index.
    """
    is_failure = (tasks["state"] == "FAILURE").fillna(False).to_numpy(bool)
    at = tasks.loc[is_failure, "at"] if "at" in tasks else trends.placed_at(tasks[is_failure])
    out = tasks.loc[is_failure, ["uuid", "name", "queue", "worker"]]
    out["at"] = at
    exception = tasks["exception"][is_failure].fillna("")
    wrapped = ((exception == "") | exception.str.startswith(tuple(WRAPPERS))).to_numpy(bool)
    # Only a wrapped exception needs its traceback: the other, long, ones are never copied.
    traceback = tasks["traceback"].iloc[np.flatnonzero(is_failure)[wrapped]]
    last_line = np.full(len(out), "", dtype=object)
    last_line[wrapped] = traceback.str.rstrip().str.rsplit("\n", n=1).str[-1].fillna("")
    # Parse and classify each distinct (exception, last line) once: the same reprs repeat a lot.
    exception_codes, exceptions = pd.factorize(exception)
    line_codes, lines = pd.factorize(last_line)
    pairs, codes = np.unique(exception_codes * len(lines) + line_codes, return_inverse=True)
    exception_of, line_of = np.divmod(pairs, len(lines))
    keys = list(
        zip(exceptions.take(exception_of).tolist(), lines.take(line_of).tolist(), strict=True)
    )
    for name, values in _describe(keys, tuple(rules)).items():
        out[name] = pd.array(values, dtype="string").take(codes)
    return out[FAILURE_COLUMNS]


def _describe(keys: list[tuple[str, str]], rules: tuple[Rule, ...]) -> dict[str, list[str]]:
    """exception_type, message, signature, category and group_id of each (exception, last line)."""
    parsed = [parse_exception(*key) for key in keys]
    signatures = [signature(message) for _, message in parsed]
    categories = [categorize(exc_type, message, rules) for exc_type, message in parsed]
    groups = [(c, t, s) for c, (t, _), s in zip(categories, parsed, signatures, strict=True)]
    # Thousands of distinct messages fall into a few groups: hash each group once.
    ids = {group: group_id(*group) for group in set(groups)}
    return {
        "exception_type": [exc_type for exc_type, _ in parsed],
        "message": [message for _, message in parsed],
        "signature": signatures,
        "category": categories,
        "group_id": [ids[group] for group in groups],
    }


def task_group_ids(tasks: pd.DataFrame, rules: Iterable[Rule]) -> pd.Series:
    """Each task's error ``group_id``, aligned with ``tasks``' index; NA for non-failures.

    This is the Tasks page's ``?error_group=`` filter: ``tasks[task_group_ids(...) == gid]``.
    """
    ids = failures_frame(tasks, rules)["group_id"]
    return ids.reindex(tasks.index).astype("string").rename("error_group")


def in_error_group(tasks: pd.DataFrame, rules: Iterable[Rule], group_id: str) -> pd.DataFrame:
    """The rows of ``tasks`` that failed into error group ``group_id`` (``?error_group=``)."""
    matches = task_group_ids(tasks, rules) == group_id
    return tasks[matches.fillna(False).astype(bool)]


def error_groups_frame(failures: pd.DataFrame) -> pd.DataFrame:
    """Failures grouped by (category, exception type, signature), most frequent first.

    Columns: category, exception_type, signature, count, share (percent of ``failures``),
    first_seen, last_seen, task_names, queues, workers (sorted, comma-separated, ``(unknown)``
    for missing, at most 10 then "+N more"), sample_task (uuid of the group's latest failure),
    sample_message (its message, as masked in ``tasks``), group_id.
    """
    if failures.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=_EMPTY_DTYPES.get(c, "string")) for c in GROUP_COLUMNS}
        )
    used = ["group_id", "category", "exception_type", "signature", "at", "uuid", "message"]
    ordered = failures[used].sort_values("at", kind="stable", na_position="first")
    grouped = ordered.groupby("group_id", sort=False)
    count = grouped.size().astype("int64")
    # In the groups' order: Series on one index make a frame without aligning them.
    latest = grouped.tail(1).set_index("group_id").reindex(count.index)
    group_codes, group_ids = pd.factorize(failures["group_id"])
    listings = {
        column: _listings(group_codes, group_ids.tolist(), failures[column], count.index)
        for column in ("name", "queue", "worker")
    }
    out = pd.DataFrame(
        {
            "category": grouped["category"].first(),
            "exception_type": grouped["exception_type"].first(),
            "signature": grouped["signature"].first(),
            "count": count,
            "first_seen": grouped["at"].min(),
            "last_seen": grouped["at"].max(),
            "task_names": listings["name"],
            "queues": listings["queue"],
            "workers": listings["worker"],
            "sample_task": latest["uuid"],
            "sample_message": latest["message"],
        }
    )
    out["share"] = 100.0 * out["count"] / len(failures)
    out = out.rename_axis("group_id").reset_index()
    out = out.sort_values(
        ["count", "last_seen", "group_id"], ascending=[False, False, True], kind="stable"
    )
    return out.reset_index(drop=True)[GROUP_COLUMNS]


_EMPTY_DTYPES = {
    "count": "int64",
    "share": "float64",
    "first_seen": trends.UTC_TIME,
    "last_seen": trends.UTC_TIME,
}


def _listings(
    group_codes: np.ndarray, group_ids: list[str], values: pd.Series, groups: pd.Index
) -> pd.Series:
    """Each group's distinct ``values``, sorted and comma-separated, indexed by ``groups``.

    ``group_codes``/``group_ids`` are the failures' group ids factorized (-1 for none).
    """
    value_codes, distinct = pd.factorize(values.fillna(trends.UNKNOWN).astype(str))
    # A group has a few names, queues and workers but thousands of rows: walk distinct pairs.
    pairs = np.unique((group_codes * len(distinct) + value_codes)[group_codes >= 0])
    pair_groups, pair_values = np.divmod(pairs, len(distinct))
    distinct = distinct.tolist()
    seen: dict[str, list[str]] = defaultdict(list)
    for group, value in zip(pair_groups.tolist(), pair_values.tolist(), strict=True):
        seen[group_ids[group]].append(distinct[value])
    return pd.Series([_listing(seen[gid]) for gid in groups], index=groups, dtype="string")


def _listing(values: list[str]) -> str:
    seen = sorted(values)
    more = f", +{len(seen) - LIST_LIMIT} more" if len(seen) > LIST_LIMIT else ""
    return ", ".join(seen[:LIST_LIMIT]) + more


def category_frame(failures: pd.DataFrame) -> pd.DataFrame:
    """Failures per category, most first. Columns: category, failures, share (percent)."""
    counts = _category_counts(failures)
    out = pd.DataFrame({"category": counts.index, "failures": counts.to_numpy("int64")})
    out["share"] = 100.0 * out["failures"] / max(len(failures), 1)
    return out


def _category_counts(failures: pd.DataFrame) -> pd.Series:
    """Failures per category, most first, then by name."""
    counts = failures["category"].astype(str).value_counts().sort_index()
    return counts.sort_values(ascending=False, kind="stable")


def category_trend_frame(
    failures: pd.DataFrame, start: datetime, end: datetime, size: timedelta
) -> pd.DataFrame:
    """Failures per bucket and category. Columns: bucket (UTC start), category, failures.

    Every bucket of the range × every category seen (zeros included); empty without failures.
    Only failures whose ``at`` lies in ``[start, end)`` count.
    """
    kept = ((failures["at"] >= start) & (failures["at"] < end)).fillna(False)
    inside = failures.loc[kept, ["at", "category"]]
    categories = list(_category_counts(inside).index)
    counts = trends.bucket_counts(inside["at"], inside["category"], categories, start, end, size)
    return counts.rename(columns={"label": "category", "count": "failures"})

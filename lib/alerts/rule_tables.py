"""One rule table of the rule book's TOML (``[rules.<name>]``) → a ``Rule``, or why it cannot be.

The keys and their meaning are documented in ``default_alerts.toml``. Durations are ``"30s"``,
``"5m"``, ``"1h"``, ``"2d"``, sums of those (``"1h30m"``) or a number of seconds; a kind's own
keys (``KIND_OPTIONS``) go into ``Rule.options``, durations among them as seconds.

Invariants: pure (a table in, a ``Rule`` or a ``BadRule`` out); a ``BadRule``'s message is one
sentence without the file's name (the loader adds it) naming the key and what is accepted; no
value is ever guessed: a table with any problem makes no rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import time
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lib.alerts.model import KINDS, SEVERITIES, Match, Mute, Rule

__all__ = [
    "COMMON_KEYS",
    "DAYS",
    "KIND_OPTIONS",
    "NAME_PATTERN",
    "BadRule",
    "parse_duration",
    "rule_of",
]

#: Rule names become alert keys (``rule/subject``) and URL text: no slash, no spaces.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COMMON_KEYS = (
    "kind",
    "severity",
    "threshold",
    "for",
    "window",
    "min_count",
    "cooldown",
    "enabled",
    "description",
    "match",
    "mute",
)
#: What each of a kind's own keys holds: a duration (kept as seconds), a whole number, a
#: number, a name of the rule book (text), or one of a few words.
KIND_OPTIONS: Mapping[str, Mapping[str, str | tuple[str, ...]]] = {
    "worker_offline": {"forget_after": "duration"},
    "queue_depth": {"cause_rule": "text"},
    "queue_growing": {},
    "failure_rate": {"per": ("task", "overall")},
    "runtime_regression": {
        "min_samples": "whole",
        "baseline_from": "duration",
        "baseline_to": "duration",
    },
    "events_stopped": {},
    "orphaned_tasks": {"cause_rule": "text"},
    "missed_runs": {"min_runs": "whole", "tolerance": "number", "misses": "whole"},
    "new_error": {"history": "duration"},
}
#: The kinds that say nothing without these keys.
REQUIRED = {
    "queue_depth": ("threshold",),
    "queue_growing": ("window",),
    "failure_rate": ("threshold", "window"),
    "runtime_regression": ("threshold", "window"),
    "events_stopped": ("window",),
    "new_error": ("window",),
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class BadRule(ValueError):
    """Why a rule table makes no rule (one sentence, the file's name left to the loader)."""


def parse_duration(value: object, key: str) -> float:
    """Seconds from ``"30s"``, ``"5m"``, ``"1h30m"``, ``"2d"`` or a number ≥ 0."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    text = value.strip().lower() if isinstance(value, str) else ""
    parts = _DURATION.findall(text)
    if text and "".join(n + u for n, u in parts) == text:
        return float(sum(float(n) * _UNITS[u] for n, u in parts))
    raise BadRule(
        f'`{key}` = {value!r} is not a duration (write "30s", "5m", "1h", "2d", '
        '"1h30m" or a number of seconds)'
    )


def rule_of(name: str, table: Mapping[str, Any]) -> Rule | None:
    """The rule a table describes; None when it is turned off (``enabled = false``)."""
    if not NAME_PATTERN.match(name):
        raise BadRule("a rule name may hold only letters, digits, `_`, `-` and `.`")
    kind = table.get("kind")
    if kind not in KINDS:
        raise BadRule(f"`kind` = {kind!r} is not a kind of rule (one of {', '.join(KINDS)})")
    own = KIND_OPTIONS[kind]
    unknown = sorted(set(table) - set(COMMON_KEYS) - set(own))
    if unknown:
        known = ", ".join([*COMMON_KEYS, *own])
        raise BadRule(f"unknown key {', '.join(map(repr, unknown))} for kind {kind} ({known})")
    missing = [key for key in REQUIRED.get(kind, ()) if key not in table]
    if missing:
        raise BadRule(f"a {kind} rule needs {' and '.join(f'`{k}`' for k in missing)}")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise BadRule(f"`enabled` = {enabled!r} is not true or false")
    rule = _built(name, kind, table)
    return rule if enabled else None


def _built(name: str, kind: str, table: Mapping[str, Any]) -> Rule:
    severity = table.get("severity")
    if severity not in SEVERITIES:
        raise BadRule(f"`severity` = {severity!r} is not one of {', '.join(SEVERITIES)}")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise BadRule("`description` is not text")
    optional = _optional(table)
    cooldown = optional("cooldown", parse_duration)
    options = {
        key: _option(key, table[key], wanted)
        for key, wanted in KIND_OPTIONS[kind].items()
        if key in table
    }
    return Rule(
        name=name,
        kind=kind,
        severity=severity,
        threshold=optional("threshold", _number),
        for_seconds=optional("for", parse_duration) or 0.0,
        window_seconds=optional("window", _positive_duration),
        min_count=optional("min_count", _whole),
        match=_match(table.get("match", {})),
        mutes=_mutes(table.get("mute", [])),
        cooldown_seconds=Rule.cooldown_seconds if cooldown is None else cooldown,
        options=MappingProxyType(options),
        description=description,
    )


def _optional(table: Mapping[str, Any]) -> Callable[[str, Callable[[object, str], Any]], Any]:
    def read(key: str, parse: Callable[[object, str], Any]) -> Any:
        return parse(table[key], key) if key in table else None

    return read


def _number(value: object, key: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise BadRule(f"`{key}` = {value!r} is not a number ≥ 0")


def _whole(value: object, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise BadRule(f"`{key}` = {value!r} is not a whole number ≥ 0")


def _positive_duration(value: object, key: str) -> float:
    seconds = parse_duration(value, key)
    if seconds <= 0:
        raise BadRule(f"`{key}` must be longer than 0 s")
    return seconds


def _text(value: object, key: str) -> str:
    if isinstance(value, str):
        return value
    raise BadRule(f"`{key}` = {value!r} is not text")


def _option(key: str, value: object, wanted: str | tuple[str, ...]) -> object:
    if isinstance(wanted, tuple):
        if value not in wanted:
            raise BadRule(f"`{key}` = {value!r} is not one of {', '.join(map(repr, wanted))}")
        return value
    parse = {"duration": parse_duration, "whole": _whole, "number": _number, "text": _text}
    return parse[wanted](value, key)


def _match(value: object) -> Match:
    if not isinstance(value, Mapping):
        raise BadRule('`match` is not a table like { queue = ["default"] }')
    unknown = sorted(set(value) - {"queue", "task", "worker"})
    if unknown:
        raise BadRule(f"`match` has {', '.join(map(repr, unknown))}: only queue, task, worker")
    return Match(**{dimension: _patterns(dimension, found) for dimension, found in value.items()})


def _patterns(dimension: str, value: object) -> tuple[str, ...]:
    found = [value] if isinstance(value, str) else value
    if not isinstance(found, list) or not all(isinstance(p, str) and p.strip() for p in found):
        raise BadRule(
            f"`match.{dimension}` = {value!r} is not a pattern or a list of patterns "
            '(non-empty text such as "default" or "mail*")'
        )
    return tuple(found)


def _mutes(value: object) -> tuple[Mute, ...]:
    if isinstance(value, Mapping):  # one window written as a table rather than [[...mute]]
        value = [value]
    if not isinstance(value, list) or not all(isinstance(m, Mapping) for m in value):
        raise BadRule("`mute` is not a list of windows ([[rules.<name>.mute]] tables)")
    return tuple(_mute(window) for window in value)


def _mute(window: Mapping[str, Any]) -> Mute:
    unknown = sorted(set(window) - {"start", "end", "days", "timezone"})
    if unknown:
        raise BadRule(
            f"a mute window has {', '.join(map(repr, unknown))}: only start, end, days, timezone"
        )
    start, end = _clock(window.get("start"), "start"), _clock(window.get("end"), "end")
    if start == end:
        raise BadRule("a mute window's `start` and `end` are the same time (an empty window)")
    days = window.get("days", [])
    if not isinstance(days, list) or any(d not in DAYS for d in days):
        raise BadRule(f"a mute window's `days` = {days!r} is not a list of {', '.join(DAYS)}")
    zone = window.get("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise BadRule(
            f'a mute window\'s `timezone` = {zone!r} is not a known timezone (e.g. "Europe/Berlin")'
        ) from None
    return Mute(start=start, end=end, days=tuple(days), timezone=zone)


def _clock(value: object, key: str) -> time:
    found = _CLOCK.match(value) if isinstance(value, str) else None
    if found is None:
        raise BadRule(f'a mute window\'s `{key}` = {value!r} is not a time of day like "22:00"')
    return time(int(found.group(1)), int(found.group(2)))

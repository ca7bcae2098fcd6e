"""The rule book: the built-in default rules, tuned or replaced by ``OPS_ALERTS_FILE``.

The defaults live in ``default_alerts.toml`` beside this module, whose comments document the
format. A user's file tunes them: a table named like a default changes only the keys it gives
(one giving another ``kind`` replaces that rule whole), ``enabled = false`` turns one off, a new
name adds a rule; ``replace_defaults = true`` at its top keeps only the file's rules.

Invariants: loading never raises for a bad file — each problem is one sentence naming the file
and the rule, the rule with a problem is left out and the rest stay in force; a file that cannot
be read or parsed leaves the defaults in force (one problem says why); the defaults and a user's
rules go through the same parser (``rule_tables.rule_of``), so the default file is checked as
strictly as any. A rule that may name its cause (``cause_rule``: a dead worker explains its
queue's backlog and its orphaned tasks) gets the name of the ``worker_offline`` rule in force,
or ``""`` (no cause) when none is: an alert must never wait on a cause that can never fire.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lib.alerts.model import Rule
from lib.alerts.rule_tables import BadRule, rule_of

__all__ = ["DEFAULT_ALERTS_FILE", "RuleBook", "load_rule_book"]

DEFAULT_ALERTS_FILE = Path(__file__).with_name("default_alerts.toml")
DEFAULTS = "built-in defaults"
#: The kinds whose alerts may be filed under a worker's offline alert.
CAUSED_KINDS = ("queue_depth", "orphaned_tasks")


@dataclass(frozen=True)
class RuleBook:
    """The rules in force, where they came from (plain words: "built-in defaults", "built-in
    defaults tuned by /etc/ops/alerts.toml"), and what was wrong with the file (plain words,
    one per problem; a rule with a problem is left out, the rest stay in force)."""

    rules: tuple[Rule, ...] = ()
    source: str = DEFAULTS
    problems: tuple[str, ...] = ()


def load_rule_book(path: Path | None) -> RuleBook:
    """The rules in force: the defaults, tuned or replaced by the TOML file at ``path``."""
    defaults = _tables(tomllib.loads(DEFAULT_ALERTS_FILE.read_text(encoding="utf-8")))
    if path is None:
        return _book(defaults, DEFAULTS, [], path)
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return _book(
            defaults,
            f"{DEFAULTS} ({path} could not be read)",
            [
                f"The alerts file {path} could not be read ({why}); the built-in defaults are in force."
            ],
            path,
        )
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return _book(
            defaults,
            f"{DEFAULTS} ({path} is not valid TOML)",
            [
                f"The alerts file {path} is not valid TOML ({exc}); the built-in defaults are in force."
            ],
            path,
        )
    problems: list[str] = []
    mine = _user_tables(document, path, problems)
    replacing = document.get("replace_defaults", False) is True
    if replacing:
        return _book(mine, f"{path} (replacing the built-in defaults)", problems, path)
    return _book(_tuned(defaults, mine), f"{DEFAULTS} tuned by {path}", problems, path)


def _tables(document: Mapping[str, Any]) -> dict[str, Any]:
    rules = document.get("rules", {})
    return dict(rules) if isinstance(rules, Mapping) else {}


def _user_tables(document: Mapping[str, Any], path: Path, problems: list[str]) -> dict[str, Any]:
    """The file's rule tables; what is wrong at its top level is added to ``problems``."""
    unknown = sorted(set(document) - {"rules", "replace_defaults"})
    if unknown:
        problems.append(
            f"The alerts file {path} has {', '.join(map(repr, unknown))} at its top level, which "
            "means nothing (only `replace_defaults` and [rules.<name>] tables); ignored."
        )
    if not isinstance(document.get("replace_defaults", False), bool):
        problems.append(
            f"The alerts file {path}: `replace_defaults` is not true or false; the file tunes "
            "the built-in defaults."
        )
    rules = document.get("rules", {})
    if not isinstance(rules, Mapping):
        problems.append(f"The alerts file {path}: `rules` is not a table of [rules.<name>] tables.")
        return {}
    tables = {}
    for name, table in rules.items():
        if isinstance(table, Mapping):
            tables[name] = table
        else:
            problems.append(
                f"The alerts file {path}, rule {name}: not a [rules.{name}] table; left out."
            )
    return tables


def _tuned(defaults: dict[str, Any], mine: dict[str, Any]) -> dict[str, Any]:
    """The defaults with the file's tables laid over: a default's keys, then the file's."""
    tuned = dict(defaults)
    for name, table in mine.items():
        base = defaults.get(name, {})
        same_kind = "kind" not in table or table["kind"] == base.get("kind")
        tuned[name] = {**base, **table} if base and same_kind else dict(table)
    return tuned


def _book(tables: dict[str, Any], source: str, problems: list[str], path: Path | None) -> RuleBook:
    rules, where = [], path or DEFAULT_ALERTS_FILE
    for name, table in tables.items():
        try:
            rule = rule_of(name, table)
        except BadRule as exc:
            problems.append(f"The alerts file {where}, rule {name}: {exc}; this rule is left out.")
            continue
        if rule is not None:
            rules.append(rule)
    return RuleBook(tuple(_with_causes(rules)), source, tuple(problems))


def _with_causes(rules: list[Rule]) -> list[Rule]:
    """Each caused rule names the worker_offline rule in force (unless it names one itself)."""
    offline = next((r.name for r in rules if r.kind == "worker_offline"), "")
    names = {r.name for r in rules}
    out = []
    for rule in rules:
        cause = rule.options.get("cause_rule", offline)
        if rule.kind in CAUSED_KINDS and cause not in names:
            cause = ""  # a cause that is not in force could never fire
        if rule.kind in CAUSED_KINDS:
            rule = replace(rule, options=MappingProxyType({**rule.options, "cause_rule": cause}))
        out.append(rule)
    return out

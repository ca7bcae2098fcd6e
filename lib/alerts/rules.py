"""The rule book: the built-in default rules, tuned or replaced by ``OPS_ALERTS_FILE``.

STUB (the API only) — the RULES-A piece replaces this module's body; keep the names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lib.alerts.model import Rule

__all__ = ["RuleBook", "load_rule_book"]


@dataclass(frozen=True)
class RuleBook:
    """The rules in force, where they came from (plain words: "built-in defaults", "built-in
    defaults tuned by /etc/ops/alerts.toml"), and what was wrong with the file (plain words,
    one per problem; a rule with a problem is left out, the rest stay in force)."""

    rules: tuple[Rule, ...] = ()
    source: str = "built-in defaults"
    problems: tuple[str, ...] = ()


def load_rule_book(path: Path | None) -> RuleBook:
    """The rules in force: the defaults, tuned or replaced by the TOML file at ``path``."""
    return RuleBook()

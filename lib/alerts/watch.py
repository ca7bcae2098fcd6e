"""``AlertWatcher``: the collector's alert step — evaluate the rule book, advance the states,
write them with their outbox rows.

One ``watch`` per poll: every rule in force is evaluated against the poll's snapshot and health
(``lib.alerts.evaluate``), then ``lib.store.alerts.AlertLedger.advance`` moves the states and
writes rows, changes and queued notifications in one transaction. What the page needs to say
about the rules (the rule book's problems, the rules that could not be evaluated this poll)
becomes one sentence, ``WatchReport.note``, kept in the store too under ``note_key(cluster)``
(for a console reading the store: ``OPS_COLLECTOR=external``).

Invariants: nothing is kept between polls but the evaluators' scratch ``memory`` (empty after a
restart: the states themselves live in the store, so a new watcher continues them); the
webhook URL never reaches this module; payload text is scrubbed of every configured secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lib.alerts.evaluate import Evaluation, evaluate
from lib.alerts.model import AlertContext
from lib.alerts.payload import payload_json
from lib.alerts.rules import RuleBook, load_rule_book
from lib.alerts.states import Notification
from lib.failures import Rule as ErrorRule
from lib.failures import rules_or_defaults
from lib.settings import Settings
from lib.store import Store
from lib.store.alerts import AlertLedger

if TYPE_CHECKING:  # the collector imports this module
    from lib.collector.health import CollectorHealth
    from lib.collector.snapshot import CollectorSnapshot

__all__ = ["AlertWatcher", "WatchReport", "kept_note", "note_key", "note_of"]


@dataclass(frozen=True)
class WatchReport:
    """What one watch did: rules evaluated, conditions found, changes and notifications
    written, the rules it could not evaluate (name → why) and the page's note."""

    rules: int
    conditions: int
    changes: int
    notifications: int
    unknown: dict[str, str] = field(default_factory=dict)
    note: str = ""


def note_key(cluster: str) -> str:
    """The kept-state key of the cluster's alerts note."""
    return f"alerts/{cluster}"


def note_of(book: RuleBook, unknown: dict[str, str]) -> str:
    """One sentence (or none) on what is wrong with the rules: the file's problems first."""
    problems = "; ".join(p.rstrip(".") for p in book.problems)
    parts = [f"The alert rules ({book.source}) have problems: {problems}."]
    parts = parts if book.problems else []
    if unknown:
        why = "; ".join(f"{name}: {reason.rstrip('.')}" for name, reason in sorted(unknown.items()))
        parts.append(f"Not evaluated this poll (their alerts stay as they were): {why}.")
    return " ".join(parts)


def kept_note(store: Store, cluster: str) -> str:
    """The note the cluster's collector kept (``""`` when none)."""
    kept = store.kept(note_key(cluster)) or {}
    note = kept.get("note")
    return note if isinstance(note, str) else ""


class AlertWatcher:
    """Evaluates ``rule_book`` each poll and keeps the alert states of ``cluster`` in ``store``."""

    def __init__(
        self,
        store: Store,
        cluster: str,
        rule_book: RuleBook,
        public_url: str,
        clock: Callable[[], float] = time.time,
        secrets: Iterable[str] = (),
        error_rules: tuple[ErrorRule, ...] = (),
        link_cluster: bool = False,
    ):
        self.store, self.cluster, self.rule_book = store, cluster, rule_book
        #: the console watches several clusters: the webhook's link names this one
        self.link_cluster = link_cluster
        self.public_url, self.clock, self.secrets = public_url, clock, tuple(secrets)
        #: the error categories in force: new_error's groups are the Errors page's groups
        self.error_rules = error_rules
        self.ledger = AlertLedger(store, cluster)
        self.memory: dict[str, dict[str, Any]] = {}
        self._kept: dict | None = None  # the note this watcher last kept (kept again on change)

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, cluster: str, clock: Callable[[], float]
    ) -> AlertWatcher:
        """The watcher of the rule book ``OPS_ALERTS_FILE`` gives (the defaults without it)."""
        book = load_rule_book(settings.alerts_file)
        error_rules, _ = rules_or_defaults(settings.error_rules_file)  # the Errors page says why
        several = settings.clusters_file is not None
        return cls(
            store, cluster, book, settings.public_url, clock, settings.secrets, error_rules, several
        )

    def watch(self, snapshot: CollectorSnapshot, health: CollectorHealth) -> WatchReport:
        """Evaluate, advance and write one poll's alerts; a store failure raises ``StoreError``
        (the poll's problem) and writes nothing."""
        now = self.clock()
        context = AlertContext(
            now, self.cluster, self.store, snapshot, health, self.memory, self.error_rules
        )
        found: Evaluation = evaluate(self.rule_book.rules, context)
        note = note_of(self.rule_book, found.unknown)
        kept = {"note": note, "unknown": found.unknown}
        keep = (note_key(self.cluster), kept) if kept != self._kept else None
        moved = self.ledger.advance(found, self.rule_book.rules, now, self._render, keep)
        self._kept = kept
        return WatchReport(
            rules=len(self.rule_book.rules),
            conditions=len(found.conditions),
            changes=len(moved.changes),
            notifications=len(moved.notifications),
            unknown=dict(found.unknown),
            note=note,
        )

    def _render(self, notification: Notification, change_id: int) -> str:
        return payload_json(
            notification,
            change_id,
            self.cluster,
            self.public_url,
            self.secrets,
            self.link_cluster,
        )

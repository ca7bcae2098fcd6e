"""Odd values: what a frame builder met that Flower does not send, said in plain words.

A value of another type than Flower sends is read as text (or missing where a number or time
belongs), never invented; text the client could not decode carries U+FFFD. ``OddValues``
collects the fields and rows where either happened, for the page to say in one sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["REPLACEMENT", "OddValues"]

#: U+FFFD: the client put it where Flower's text could not be decoded.
REPLACEMENT = "\ufffd"


@dataclass
class OddValues:
    """What a frame builder met that Flower does not send, for the page to say in plain words.

    ``typed``: field → rows whose value had an unexpected type (a list where text was, text
    where a number was): read as text, or left blank where a number or time belongs.
    ``undecoded``: field → rows whose text could not be decoded, shown with U+FFFD.
    """

    noun: str  # what a row is: "task", "worker", "queue"
    typed: dict[str, set] = field(default_factory=dict)
    undecoded: dict[str, set] = field(default_factory=dict)

    def add(self, name: str, rows: Iterable, undecoded: bool = False) -> None:
        rows = set(rows)
        if rows:
            (self.undecoded if undecoded else self.typed).setdefault(name, set()).update(rows)

    def sentence(self) -> str:
        """E.g. "2 workers had fields of an unexpected type (…): loadavg, pid." or ""."""
        parts = []
        if self.typed:
            parts.append(
                f"{self._rows(self.typed)} had fields of an unexpected type (shown as text, "
                f"or blank where a number or time belongs): {', '.join(sorted(self.typed))}."
            )
        if self.undecoded:
            parts.append(
                f"{self._rows(self.undecoded)} had text that could not be decoded "
                f"(shown as {REPLACEMENT}): {', '.join(sorted(self.undecoded))}."
            )
        return " ".join(parts)

    def _rows(self, by_field: dict[str, set]) -> str:
        count = len(set().union(*by_field.values()))
        return f"{count} {self.noun}{'' if count == 1 else 's'}"

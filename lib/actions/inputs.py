"""What an action asks of the operator, declared as data the ui renders generically.

Two places ask: the control form before the button (``ActionSpec.form``: a number of processes,
a queue, a rate) and the confirmation dialog (``ActionSpec.asks``: a signal, the worker's name
typed again, "retry again anyway"). Each input names the parameter it fills; the ui keys its
widget by that name (``<form key>_<param>``, ``dialog_<param>``), so an input shared by two
actions (``n`` for grow and shrink) is one widget. Nothing here imports streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Choice", "Input", "Number", "RetryAgain", "Seconds", "Text", "TypeName"]


@dataclass(frozen=True)
class _Input:
    param: str  # the parameter it fills; the widget's key ends with it
    label: str


@dataclass(frozen=True)
class Number(_Input):
    """A whole number at least ``minimum``, starting at ``default``."""

    minimum: int = 0
    default: int = 1


@dataclass(frozen=True)
class Seconds(_Input):
    """A duration in seconds; 0 means "not set" and fills the parameter with None."""


@dataclass(frozen=True)
class Text(_Input):
    """Free text, stripped of surrounding blanks."""

    placeholder: str = ""


@dataclass(frozen=True)
class Choice(_Input):
    """One of ``options``, the first preselected."""

    options: tuple[str, ...]


@dataclass(frozen=True)
class TypeName(_Input):
    """The target's name typed again to confirm; never shown back in the dialog's table."""


@dataclass(frozen=True)
class RetryAgain(_Input):
    """Tasks acted on before are listed; Confirm waits for this box to be ticked.

    For task actions (it reads the dry run's eligible tasks). The parameter carries the earlier actions' audit ids, so the desk's claim can tell an
    acknowledged repeat from a double click (lib/audit.py ``claim``).
    """


Input = Number | Seconds | Text | Choice | TypeName | RetryAgain

"""The one door through which the console changes the cluster.

Every action is declared once in ``declarations`` (who, on what, checked how, sent how, asking
what); ``desk.ActionDesk.perform`` runs every action through the same audited steps; ``outcomes``
says what happened in the operator's words; ``checks`` holds the parameter and eligibility
rules; ``inputs`` the kinds of question a form or the dialog asks. Pages and the ui import from
here: ``from lib.actions import ACTIONS, ActionDesk, ActionResult, SIGNALS``.
"""

from __future__ import annotations

from lib.actions.checks import SIGNALS, in_flower
from lib.actions.declarations import ACTIONS, CONSUMERS, ActionSpec, control_groups
from lib.actions.desk import ActionDesk
from lib.actions.inputs import Choice, Input, Number, RetryAgain, Seconds, Text, TypeName
from lib.actions.outcomes import ActionResult, Preview

__all__ = [
    "ACTIONS",
    "CONSUMERS",
    "SIGNALS",
    "ActionDesk",
    "ActionResult",
    "ActionSpec",
    "Choice",
    "Input",
    "Number",
    "Preview",
    "RetryAgain",
    "Seconds",
    "Text",
    "TypeName",
    "control_groups",
    "in_flower",
]

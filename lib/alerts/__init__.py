"""Alerts: rules the collector evaluates each poll, their states, notifications and silences.

``model`` holds the shapes every part shares (``Rule``, ``Condition``, ``AlertContext``);
``rules`` reads the rule book (built-in defaults, ``OPS_ALERTS_FILE``); ``evaluate`` turns the
rule book and one poll's readings into conditions (one evaluator per rule kind); the states,
the webhook outbox and the pages build on those.
"""

from lib.alerts.model import (
    KINDS,
    SEVERITIES,
    AlertContext,
    Condition,
    Match,
    Mute,
    Rule,
)

__all__ = ["KINDS", "SEVERITIES", "AlertContext", "Condition", "Match", "Mute", "Rule"]

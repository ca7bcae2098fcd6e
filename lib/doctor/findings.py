"""What one check of the doctor concludes: a status, the check's name, and a sentence with the fix.

A ``Finding`` is the unit ``./ops doctor`` prints and the ``Setup check`` page lists, one line
each: ``PASS|WARN|FAIL <check>: <sentence>``. Invariants: the sentence is one or two plain
sentences a newcomer can act on (a WARN or FAIL says what to change, where); it never holds a
secret (the runner scrubs it before anyone sees it). The run's exit code gates a deploy: 0 all
pass, 1 warnings only, 2 any failure (shared/contract.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

__all__ = [
    "Finding",
    "Status",
    "Verdict",
    "count_line",
    "exit_code",
    "finding_line",
    "findings_frame",
]


class Status(StrEnum):
    """How a check ended; the order is the severity (a FAIL outranks a WARN)."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"


#: What a check function returns: its status and sentence (the runner adds the check's name).
Verdict = tuple[Status, str]

#: The exit code of a run whose worst finding has this status.
EXIT_CODES = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True)
class Finding:
    """One check's conclusion: ``check`` is its name, ``sentence`` what was found and the fix."""

    status: Status
    check: str
    sentence: str


def finding_line(finding: Finding) -> str:
    """The finding as ``./ops doctor`` prints it: ``PASS <check>: <sentence>``."""
    return f"{finding.status.value} {finding.check}: {finding.sentence}"


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when every check passed, 1 with warnings only, 2 with any failure."""
    return max((EXIT_CODES[f.status] for f in findings), default=0)


def count_line(findings: Iterable[Finding]) -> str:
    """``12 checks: 10 passed, 1 warning, 1 failure`` (the page's and the command's last line)."""
    found = list(findings)
    counts = {status: sum(f.status is status for f in found) for status in Status}
    parts = [
        f"{counts[Status.PASS]} passed",
        _plural(counts[Status.WARN], "warning"),
        _plural(counts[Status.FAIL], "failure"),
    ]
    return f"{_plural(len(found), 'check')}: " + ", ".join(parts)


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """The findings as rows, in run order. Columns: ``status``, ``check``, ``sentence``."""
    rows = [(f.status.value, f.check, f.sentence) for f in findings]
    return pd.DataFrame(rows, columns=["status", "check", "sentence"])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"

"""The doctor's run: every check in order, each bounded in time, each finding scrubbed.

Invariants: a run always ends, one finding per check, in ``CHECKS`` order. Each check runs in
its own daemon thread and gets FLOWER_TIMEOUT plus a moment (the client's own timeout fires
first and says which address did not answer); a check still running then is a FAIL "did not
answer within N s" and, if it asks Flower, the later Flower checks are skipped with that reason
instead of each waiting again. A check that raises a ``ConsoleError`` is a FAIL with its
sentence; anything else it raises is a FAIL naming the check, never a traceback. Every sentence
is scrubbed of the configuration's secrets before anyone sees it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lib.doctor import cluster_checks, flower_checks, service_checks
from lib.doctor.evidence import Evidence
from lib.doctor.findings import Finding, Status, Verdict
from lib.errors import ConsoleError, FlowerUnreachable
from lib.flower import FlowerClient
from lib.redact import scrub
from lib.settings import Settings

__all__ = ["CHECKS", "Check", "each_finding", "run_checks"]

log = logging.getLogger(__name__)

#: Added to FLOWER_TIMEOUT for a check's budget, so the client's timeout fires first.
BUDGET_MARGIN = 1.0


@dataclass(frozen=True)
class Check:
    """One line of the doctor: its name, what it examines, whether it needs Flower's API."""

    name: str
    examine: Callable[[Evidence], Verdict]
    asks_flower: bool = True


#: The checks in the order they run and print (issue 15, point 5).
CHECKS: tuple[Check, ...] = (
    Check("Flower reachable", flower_checks.check_reachable),
    Check("Flower auth", flower_checks.check_auth),
    Check("URL prefix", flower_checks.check_url_prefix),
    Check("Workers visible", flower_checks.check_workers),
    Check("Task events", cluster_checks.check_events),
    Check("task_send_sent_event", cluster_checks.check_sent_events),
    Check("result_extended", cluster_checks.check_result_extended),
    Check("Broker", service_checks.check_broker, asks_flower=False),
    Check("Result backend", service_checks.check_backend, asks_flower=False),
    Check("Clock skew", cluster_checks.check_clock_skew),
    Check("Flower history", cluster_checks.check_history),
    Check("Store writable", service_checks.check_store, asks_flower=False),
)


def run_checks(
    settings: Settings,
    client: FlowerClient | None = None,
    checks: tuple[Check, ...] = CHECKS,
) -> list[Finding]:
    """Every check's finding against the configured cluster, in order."""
    return list(each_finding(settings, client, checks))


def each_finding(
    settings: Settings,
    client: FlowerClient | None = None,
    checks: tuple[Check, ...] = CHECKS,
) -> Iterator[Finding]:
    """The findings one at a time, as each check ends (``./ops doctor`` prints them so)."""
    evidence = Evidence(settings, client)
    for check in checks:
        status, sentence = _bounded(check, evidence)
        yield Finding(status, check.name, scrub(sentence, settings.secrets))


def _bounded(check: Check, evidence: Evidence) -> Verdict:
    if check.asks_flower and evidence.blocked:
        return Status.WARN, f"Not checked: {evidence.blocked}"
    budget = evidence.settings.flower_timeout + BUDGET_MARGIN
    verdicts: list[Verdict] = []
    thread = threading.Thread(
        target=lambda: verdicts.append(_examined(check, evidence)),
        name=f"doctor: {check.name}",
        daemon=True,  # a hung service must not keep the process alive after the run
    )
    thread.start()
    thread.join(budget)
    if verdicts:
        return verdicts[0]
    timeout = evidence.settings.flower_timeout
    if check.asks_flower:
        evidence.block(f"Flower did not answer within {timeout:g} s.")
        return Status.FAIL, (
            f"Flower did not answer within {timeout:g} s (FLOWER_TIMEOUT): it is overloaded or "
            "stuck; restart it, or raise FLOWER_TIMEOUT if it is just slow."
        )
    return Status.FAIL, f"No answer within {timeout:g} s (FLOWER_TIMEOUT)."


def _examined(check: Check, evidence: Evidence) -> Verdict:
    try:
        return check.examine(evidence)
    except FlowerUnreachable as exc:
        evidence.block("Flower stopped answering.")
        return Status.FAIL, flower_checks.no_answer(exc, evidence.settings.flower_timeout) + "."
    except ConsoleError as exc:
        return Status.FAIL, str(exc)
    except Exception as exc:  # a defect in one check must not hide the others' findings
        log.exception("doctor check %r failed", check.name)
        return Status.FAIL, f"The check itself failed ({type(exc).__name__}: {exc})."

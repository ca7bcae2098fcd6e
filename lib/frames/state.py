"""Effective state: the one state every table, filter, export and count of a task reads.

A task's effective state is REVOKED when Flower marks it revoked, whatever custom state
outranks it (contract.md, Definitions); SUCCESS and FAILURE keep their outcome. Flower's own
state stays beside it, as the tasks frame's ``flower_state``. Running means STARTED or a custom
state (PROGRESS), read from effective states, so a job terminated mid-PROGRESS is not running.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from celery import states

__all__ = [
    "BUILT_IN_STATES",
    "FINISHED",
    "KEEPS_OUTCOME",
    "effective_state",
    "effective_states",
    "running",
]

#: The outcomes of a finished task: what the processed and error-rate counts read.
FINISHED = ("SUCCESS", "FAILURE")
#: The states a revoke does not override: the worker had already stored this outcome.
KEEPS_OUTCOME = FINISHED


def effective_states(tasks: pd.DataFrame) -> pd.Series:
    """Each task's effective state, from a frame's ``state`` and ``revoked`` columns.

    REVOKED when ``revoked`` is set, unless the state is SUCCESS or FAILURE; otherwise the
    state as it is (missing stays missing). Idempotent: a tasks frame's ``state`` already is
    this. The rule and why: ``effective_state``.
    """
    state = tasks["state"].astype("string")
    revoked = tasks["revoked"].notna().to_numpy(bool) & ~state.isin(KEEPS_OUTCOME).to_numpy(bool)
    return state.mask(revoked, states.REVOKED)


def effective_state(state: object, revoked: object) -> str | None:
    """The effective state of one task: Flower's ``state`` and its ``revoked`` time.

    REVOKED when the task was revoked (``revoked`` is a time: epoch seconds or a datetime),
    whatever custom state outranks it; SUCCESS and FAILURE are kept; any other state, or
    None, as it is.

    Why: in ``celery.states.PRECEDENCE`` every custom state (PROGRESS) ranks above REVOKED,
    so when a job is terminated mid-PROGRESS Flower's merge keeps PROGRESS and only sets
    ``revoked`` (recorded in tests/fixtures/flower as ``revoked_in_progress``). The task is
    not running any more: the contract's effective state says REVOKED. Built-in unfinished
    states (PENDING, RECEIVED, STARTED, RETRY, REJECTED) rank below REVOKED, so Flower already
    says REVOKED for those; mapping them too costs nothing and covers a record merged out of
    order. SUCCESS and FAILURE rank above REVOKED for a reason: they are final, the worker
    stored that outcome in the result backend (which ``AsyncResult.state`` reports) and a
    SUCCESS has a result. Flower sets ``revoked`` on them only when a revoke raced the
    task's end (a terminate arriving as it returned, or a task that caught the signal and
    then returned or raised): it genuinely finished, its outcome is stored, so it keeps that
    outcome and stays in the success and error counts (Celery's own ``AsyncResult`` agrees).
    """
    state = state if isinstance(state, str) else None  # pd.NA has no truth value: no `in`
    if state in KEEPS_OUTCOME or not _is_time(revoked):
        return state
    return states.REVOKED


def _is_time(value: object) -> bool:
    """True for what the tasks frame reads as a time: a datetime or epoch seconds (not NaN)."""
    if isinstance(value, datetime):
        return not pd.isna(value)  # NaT is a datetime too
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    return not np.isnan(float(pd.to_numeric(value, errors="coerce")))


#: Celery's own states; any other one a task reports (PROGRESS) is a custom state of a running task.
BUILT_IN_STATES = states.ALL_STATES | {states.REJECTED, states.IGNORED}


def running(state: pd.Series) -> pd.Series:
    """STARTED or a custom state (contract: running), from effective states."""
    custom = state.notna() & ~state.isin(BUILT_IN_STATES)
    return ((state == states.STARTED) | custom).fillna(False).astype(bool)

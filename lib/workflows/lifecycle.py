"""A task's life as the workflow views see it: effective state, running or finished, roll-ups.

Pure: a tasks frame (``frames.tasks_frame``) or one of its rows in, values out; no I/O.

Definitions and invariants:

* A task's state is its effective state, defined once in ``lib.frames``
  (``frames.effective_states``): REVOKED when its ``revoked`` time is set unless it
  succeeded or failed (Flower keeps a job terminated mid-PROGRESS in ``PROGRESS``: custom
  states outrank REVOKED). A task Flower gives no state is UNKNOWN here.
* Running = started, not finished, not revoked (no state of ``FINAL``). A task finished
  when it succeeded, failed, was revoked or rejected, at the first of those times.
* Error rate = FAILURE ÷ (SUCCESS + FAILURE) over finished tasks, a percent (NaN when
  none finished); success rate is its complement.
* Rolled-up state of several tasks: FAILURE if any task failed, else RUNNING if any runs,
  else PENDING if any waits, else REVOKED if any was revoked or rejected, else SUCCESS.
  Rows that are no task (MISSING, GROUP) and UNKNOWN states are left out; none left:
  UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from celery import states as celery_states

from lib import frames

__all__ = [
    "FINAL",
    "NOT_TASKS",
    "ROLLUP",
    "WAITING",
    "effective_states",
    "error_rates",
    "finished_at",
    "is_running",
    "rollup_by",
    "rollup_state",
    "row_state",
]

#: Finished for good: a task in one of these states runs no more.
FINAL = frozenset(celery_states.READY_STATES | {celery_states.REJECTED})
#: Roll-up precedence: the first of these any task of a workflow is in names the whole.
ROLLUP = ("FAILURE", "RUNNING", "PENDING", "REVOKED", "SUCCESS")
#: Not started yet: a workflow with only these (and finished tasks) is waiting, not running.
WAITING = frozenset({"PENDING", "RECEIVED", "RETRY"})
#: Rows of a tree that are not tasks, or tasks of unknown state: left out of a roll-up.
NOT_TASKS = frozenset({"MISSING", "GROUP", "UNKNOWN"})


def effective_states(frame: pd.DataFrame) -> pd.Series:
    """Each task's effective state (``frames.effective_states``); UNKNOWN when Flower has none."""
    return frames.effective_states(frame).fillna("UNKNOWN")


def is_running(frame: pd.DataFrame, states: pd.Series) -> pd.Series:
    """Started and not finished, by each task's effective state (``states``)."""
    return (~states.isin(FINAL) & frame["started"].notna()).astype(bool)


def finished_at(frame: pd.DataFrame) -> pd.Series:
    """When each task finished: succeeded, else failed, else revoked, else rejected (NaT)."""
    return (
        frame["succeeded"]
        .fillna(frame["failed"])
        .fillna(frame["revoked"])
        .fillna(frame["rejected"])
    )


def error_rates(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per value of column ``by``: succeeded, failed and error_rate (%, NaN when none finished)."""
    ok = (frame["state"] == "SUCCESS").groupby(frame[by]).sum()
    bad = (frame["state"] == "FAILURE").groupby(frame[by]).sum()
    finished = (ok + bad).replace(0, np.nan)
    return pd.DataFrame({"succeeded": ok, "failed": bad, "error_rate": 100 * bad / finished})


def rollup_state(states: Iterable[str]) -> str:
    """The whole workflow's state from its tasks' (the roll-up rule in the module docstring)."""
    states = pd.Series(list(states), dtype="string")
    return str(rollup_by(states, pd.Series(0, index=states.index)).get(0, "UNKNOWN"))


def rollup_by(states: pd.Series, keys: pd.Series) -> pd.Series:
    """``rollup_state`` of each group of ``states`` by ``keys`` (vectorised for many groups)."""
    known = states.astype("string").where(~states.isin(NOT_TASKS))
    finished = known.isin(FINAL)
    flags = pd.DataFrame(
        {
            "FAILURE": known == "FAILURE",
            "RUNNING": known.notna() & ~finished & ~known.isin(WAITING),
            "PENDING": known.isin(WAITING),
            "REVOKED": finished & ~known.isin(["SUCCESS", "FAILURE"]),
            "SUCCESS": known == "SUCCESS",
        }
    )
    anyof = flags.fillna(False).astype(bool).groupby(keys).any()
    picked = np.select([anyof[state] for state in ROLLUP], ROLLUP, "UNKNOWN")
    return pd.Series(picked, index=anyof.index)


def row_state(row: Mapping) -> str:
    """One task's effective state (``frames.effective_state``) from its row; UNKNOWN if none."""
    return frames.effective_state(row.get("state"), row.get("revoked")) or "UNKNOWN"

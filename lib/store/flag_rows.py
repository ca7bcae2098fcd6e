"""The stored tasks that may be flagged orphaned or stuck.

Flags (``lib.frames.flags``) judge every task still RECEIVED, STARTED or in a custom state
however long ago it came, not the newest few: a stuck task is by nature an old one. Those are
few (a cluster's running and prefetched work), read by the state index (migration step 7) in
one ``IN`` over the few unfinished states held, as ``task_query.queue_traffic`` reads.
"""

from __future__ import annotations

import pandas as pd
from celery import states
from sqlalchemy import Connection, select

from lib.frames.state import BUILT_IN_STATES
from lib.store.schema import TASKS
from lib.store.task_frames import tasks_frame_of
from lib.store.task_query import task_values

__all__ = ["flag_candidates"]


def flag_candidates(conn: Connection) -> pd.DataFrame:
    """Every stored task RECEIVED, STARTED or in a custom state (effective state), as a tasks
    frame (``lib.store.task_frames``), newest placement first."""
    held = task_values(conn, ("state",))["state"]
    wanted = [s for s in held if s in (states.RECEIVED, states.STARTED)]
    wanted += [s for s in held if s not in BUILT_IN_STATES]
    query = select(TASKS).where(TASKS.c.state.in_(wanted)).order_by(TASKS.c.placed_at.desc())
    return tasks_frame_of(conn, query)

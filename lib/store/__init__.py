"""The history store: the cluster's past, kept by the console itself (issue 12).

SQLAlchemy Core over SQLite (a file in ``OPS_DATA_DIR`` by default) or, next, PostgreSQL
(``OPS_STORE_URL``). It holds every task's latest record (text masked and capped: no secret at
rest), each task's observed timeline, per-poll samples of queues and workers, and per-minute
rollups with runtime and wait histograms; retention prunes it in short batches. Nothing here
polls: a collector (next) writes, pages read windows and rollups.

By concern, each module with one job; callers hold a ``Store`` (``from lib.store import Store``):

- ``engine``: one engine per URL and process, SQLite pragmas, read/write transactions;
- ``schema``: the tables; ``migrations``: versioned steps and ``schema_version``;
- ``rows``: a Flower payload ↔ a stored row (masking, caps, effective state, placement);
- ``tasks``: upserts by Celery precedence, the timeline, window reads;
- ``task_query``: the Tasks page's filters, order, page and count as SQL;
- ``task_frames``: stored rows → the tasks frame, column by column (every read of tasks);
- ``rollups``: per-minute counts and histograms; ``histogram``: buckets and percentile estimates;
  ``hourly``: the same per hour; ``usage``: per-worker runs, runtime and busy time per minute/hour;
- ``samples``: queue and worker time series; ``retention``: batched pruning;
- ``kept``: small named values kept between runs (a collector's cursor and health);
- ``store``: the ``Store`` facade.
"""

from lib.errors import StoreError
from lib.store.migrations import LATEST
from lib.store.retention import PruneReport
from lib.store.store import Store

__all__ = ["LATEST", "PruneReport", "Store", "StoreError"]

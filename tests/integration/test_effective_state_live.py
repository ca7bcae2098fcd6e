"""A job terminated while reporting PROGRESS, on a real cluster: Flower says PROGRESS, the
console says REVOKED (contract: effective state), through the sync the pages read."""

from __future__ import annotations

import pandas as pd

from lib import frames
from lib.flower import FlowerClient
from lib.sync import TaskSync
from tests.live import flower_tasks, send, wait_until


def test_a_job_terminated_mid_progress_reads_revoked_in_the_tasks_frame(cluster, producer):
    client = FlowerClient(cluster.flower_url, auth=cluster.http_auth(), timeout=10)
    sync = TaskSync(client)
    job = send(
        producer, "demo.train_model", "stopped-net", epochs=400, step_seconds=0.25, queue="ml"
    )

    def raw() -> dict:
        return flower_tasks(cluster).get(job, {})

    wait_until(lambda: raw().get("state") == "PROGRESS", "the job to report progress")
    sync.refresh()

    client.revoke(job, terminate=True)
    wait_until(lambda: raw().get("revoked"), "Flower to record the revoke")
    assert raw()["state"] == "PROGRESS", "Celery ranks the custom state above REVOKED"
    report = sync.refresh()

    assert report.mode == "incremental"  # the revoke moved the job up Flower's list
    row = frames.tasks_frame(sync.snapshot()[1]).set_index("uuid").loc[job]
    assert row["state"] == "REVOKED"
    assert row["flower_state"] == "PROGRESS"
    assert pd.notna(row["revoked"])

"""Helpers for tests against a real cluster: send tasks by name, wait for Flower to see them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from celery import Celery

from lib.settings import Settings

FINAL = {"SUCCESS", "FAILURE", "REVOKED", "REJECTED"}


def producer_app(cluster) -> Celery:
    app = Celery("producer", broker=cluster.broker_url, backend=cluster.backend_url)
    app.conf.update(
        task_send_sent_event=True, result_extended=True, broker_connection_retry_on_startup=True
    )
    return app


def live_settings(cluster, data_dir, **more) -> Settings:
    """A collector's settings for ``cluster``: 1 s polls, a 2 s Flower timeout, its own data
    directory; ``more`` adds or overrides fields."""
    fields = {
        "flower_url": cluster.flower_url,
        "flower_auth": cluster.http_auth(),
        "broker_url": cluster.broker_url,
        "flower_timeout": 2.0,
        "poll_seconds": 1.0,
        "data_dir": data_dir,
    }
    return Settings(**{**fields, **more})


def send(app: Celery, name: str, *args, queue: str = "default", **kwargs) -> str:
    return app.send_task(name, args=list(args), kwargs=kwargs, queue=queue).id


def wait_until(check: Callable[[], object], what: str, timeout: float = 45.0, every: float = 0.25):
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def flower_tasks(cluster) -> dict[str, dict]:
    response = cluster.flower_get("/api/tasks", limit=100_000)
    response.raise_for_status()
    return response.json()


def wait_final(cluster, ids: Iterable[str], timeout: float = 45.0) -> dict[str, dict]:
    """Wait until Flower shows every task in ``ids`` in a final state; return them."""
    wanted = set(ids)

    def seen():
        tasks = flower_tasks(cluster)
        done = {u: t for u, t in tasks.items() if u in wanted and t.get("state") in FINAL}
        return done if len(done) == len(wanted) else None

    return wait_until(seen, f"{len(wanted)} tasks to finish in Flower", timeout)

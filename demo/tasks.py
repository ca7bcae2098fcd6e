"""Sandbox Celery app `demo`: a small, realistic workload mix for the operations console.

It models a company's background jobs spread over four queues:

* ``ml``      - model training with per-epoch progress (``demo.train_model``)
* ``etl``     - extract -> transform -> load pipelines, chained, tagged with ``pipeline_id``
* ``email``   - transactional e-mail (``demo.send_email``)
* ``default`` - reports, a chord fan-out, and utility tasks (``add``, ``echo``, ``sleep``,
  ``flaky``, ``retry_once``)

Every task is fast (0.05-3 s, tunable by arguments) so a test suite stays quick, and the
failures are raised as the exceptions real code raises (timeouts, refused connections, out of
memory, validation errors, missing records) so an error classifier can tell them apart from
the ``exception`` repr alone.

Broker and result backend come from ``CELERY_BROKER_URL`` / ``CELERY_RESULT_BACKEND``.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import zlib
from typing import Any

from celery import Celery, Task, chain, chord
from celery.canvas import Signature
from celery.exceptions import SoftTimeLimitExceeded

QUEUES: tuple[str, ...] = ("default", "ml", "etl", "email")

app = Celery("demo")
app.conf.update(
    broker_url=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    result_backend=os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/1"),
    # Events are what Flower is built from; task-sent makes queued tasks visible as PENDING.
    worker_send_task_events=True,
    task_send_sent_event=True,
    # result_extended stores name/args/kwargs/queue in the backend, which the console uses to
    # re-run a task with its real (untruncated) arguments.
    result_extended=True,
    task_track_started=True,
    worker_pool_restarts=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    enable_utc=True,
    task_default_queue="default",
    task_routes={
        "demo.train_model": {"queue": "ml"},
        "demo.extract": {"queue": "etl"},
        "demo.transform": {"queue": "etl"},
        "demo.load": {"queue": "etl"},
        "demo.send_email": {"queue": "email"},
    },
    # Training jobs are long relative to the rest: without this a busy worker would hoard
    # queued jobs in its prefetch buffer and the queue-length view would always read 0.
    worker_prefetch_multiplier=1,
    # Keep the sandbox's Redis small during long launcher sessions.
    result_expires=6 * 3600,
    broker_connection_retry_on_startup=True,
)


def configure(broker_url: str, backend_url: str) -> Celery:
    """Point this process's `app` at another broker/backend, e.g. a test `Cluster`.

    The env is read at import time, which in pytest happens at collection, before any
    cluster fixture has started. Celery caches the connection pool, the producer pool and
    the backend once used, so those caches are dropped too.
    """
    disconnect()
    app.conf.update(broker_url=broker_url, result_backend=backend_url)
    app.close()  # drops the broker connection pool
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local = threading.local()  # per-thread backend cache
    return app


def disconnect() -> None:
    """Drop this process's result-backend subscriptions before its Redis goes away.

    With a Redis backend every sent task subscribes to its result channel, and each
    AsyncResult unsubscribes when garbage-collected; once the server is gone that prints
    "Retry limit exceeded ... result store" tracebacks, typically at interpreter exit.
    `Cluster.stop()` calls this for the cluster `app` points at.
    """
    consumer = getattr(app._backend, "result_consumer", None)  # None if no backend made yet
    if consumer is not None and hasattr(consumer, "subscribed_to"):
        consumer.subscribed_to.clear()  # later unsubscribes become no-ops
        consumer.stop()


DB_HOSTS: tuple[tuple[str, int], ...] = (
    ("db", 5432),
    ("warehouse-db", 5432),
    ("cache", 6380),
    ("search", 9200),
)


class OutOfMemoryError(RuntimeError):
    """Mirrors ``torch.cuda.OutOfMemoryError``, which is a RuntimeError, not a MemoryError.

    The demo never raises a real ``MemoryError`` from a task: Celery's worker treats one as
    unrecoverable and the whole worker process exits (``celery/worker/request.py``,
    ``on_failure``). Out-of-memory shows up here as this exception, or as the OOM killer
    (kind ``oom_killed``: the pool process dies of SIGKILL -> ``WorkerLostError``).
    """


def _records_for(text: str) -> int:
    """Deterministic pseudo record count so repeated runs of a pipeline look consistent."""
    return 500 + zlib.crc32(text.encode()) % 9500


# --------------------------------------------------------------------------- ML


@app.task(bind=True, name="demo.train_model")
def train_model(
    self: Task,
    model_name: str,
    epochs: int = 5,
    step_seconds: float = 0.3,
    fail_at: int | None = None,
) -> dict[str, Any]:
    """Train a model for ``epochs`` epochs, reporting progress after each one.

    Progress goes to the result backend (``PROGRESS`` state, readable via
    ``/api/task/result``) and, as a custom ``task-progress`` event, to Flower, which then
    shows the task's state as ``PROGRESS`` until it finishes.
    ``fail_at=e`` raises `OutOfMemoryError` (CUDA out of memory) at epoch ``e``.
    """
    rng = random.Random(f"{model_name}:{self.request.id}")
    loss = 2.3 + rng.random()
    accuracy = 0.1
    gpu = f"gpu{rng.randrange(2)}"
    for epoch in range(1, epochs + 1):
        time.sleep(step_seconds)
        if fail_at is not None and epoch >= fail_at:
            raise OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate {rng.randrange(256, 4096)} MiB on {gpu} "
                f"(epoch {epoch}/{epochs}, model {model_name})"
            )
        loss = round(loss * (0.8 + 0.15 * rng.random()), 4)
        accuracy = round(accuracy + (0.97 - accuracy) * (0.15 + 0.2 * rng.random()), 4)
        meta = {
            "progress": round(100 * epoch / epochs, 1),
            "epoch": epoch,
            "loss": loss,
            "accuracy": accuracy,
            "gpu": gpu,
        }
        self.update_state(state="PROGRESS", meta=meta)
        # Not every caller runs inside a worker (e.g. task.apply() in unit tests); only a
        # worker request has a hostname to attribute the event to.
        if self.request.hostname:
            self.send_event("task-progress", **meta)
    return {"model": model_name, "epochs": epochs, "accuracy": accuracy, "loss": loss, "gpu": gpu}


# --------------------------------------------------------------------------- ETL


def _maybe_fail(stage: str, fail_stage: str | None, pipeline_id: str) -> None:
    """Raise the failure typical of each ETL stage when the caller asked that stage to fail."""
    if fail_stage != stage:
        return
    host, port = DB_HOSTS[zlib.crc32(pipeline_id.encode()) % len(DB_HOSTS)]
    if stage == "extract":
        raise ConnectionRefusedError(f"Error 111 connecting to {host}:{port}. Connection refused.")
    if stage == "transform":
        raise ValueError(f"invalid row in pipeline {pipeline_id}: column 'amount' is not a number")
    raise TimeoutError(f"write to {host}:{port} timed out after 30s")


@app.task(name="demo.extract")
def extract(
    source: str,
    pipeline_id: str = "",
    fail_stage: str | None = None,
    seconds: float = 0.2,
) -> dict[str, Any]:
    """Read rows from ``source``; returns a summary the next stage consumes."""
    time.sleep(seconds)
    _maybe_fail("extract", fail_stage, pipeline_id)
    return {"source": source, "pipeline_id": pipeline_id, "records": _records_for(source)}


@app.task(name="demo.transform")
def transform(
    data: dict[str, Any],
    pipeline_id: str = "",
    fail_stage: str | None = None,
    seconds: float = 0.3,
) -> dict[str, Any]:
    """Clean the extracted rows; drops a few percent as invalid."""
    time.sleep(seconds)
    _maybe_fail("transform", fail_stage, pipeline_id)
    records = int(data["records"])
    dropped = records // 40
    return {**data, "records": records - dropped, "dropped": dropped}


@app.task(name="demo.load")
def load(
    data: dict[str, Any],
    pipeline_id: str = "",
    target: str = "warehouse.events",
    fail_stage: str | None = None,
    seconds: float = 0.2,
) -> dict[str, Any]:
    """Write the transformed rows to ``target``."""
    time.sleep(seconds)
    _maybe_fail("load", fail_stage, pipeline_id)
    return {"pipeline_id": pipeline_id, "target": target, "records": data["records"]}


def etl_pipeline(
    pipeline_id: str,
    source: str,
    fail_stage: str | None = None,
    target: str = "warehouse.events",
) -> Signature:
    """Build (not send) the extract -> transform -> load chain for one pipeline run.

    ``fail_stage`` in {"extract", "transform", "load"} makes that stage fail; later stages
    then never run.
    """

    def failing(stage: str) -> dict[str, str]:
        return {"fail_stage": stage} if fail_stage == stage else {}

    return chain(
        extract.s(source, pipeline_id=pipeline_id, **failing("extract")),
        transform.s(pipeline_id=pipeline_id, **failing("transform")),
        load.s(pipeline_id=pipeline_id, target=target, **failing("load")),
    )


# --------------------------------------------------------------------------- e-mail, reports


@app.task(name="demo.send_email")
def send_email(
    to: str, subject: str, template: str = "generic", seconds: float = 0.1
) -> dict[str, Any]:
    """Render ``template`` and hand the message to the SMTP relay."""
    time.sleep(seconds)
    local, _, domain = to.partition("@")
    if not local or "." not in domain:
        raise ValueError(f"invalid email address: {to!r}")
    return {
        "to": to,
        "subject": subject,
        "template": template,
        "message_id": f"<{zlib.crc32(to.encode())}@mail>",
    }


@app.task(name="demo.generate_report")
def generate_report(report_id: int, fmt: str = "pdf", seconds: float = 0.4) -> dict[str, Any]:
    """Render report ``report_id``; ids divisible by 97 do not exist (missing record)."""
    time.sleep(seconds)
    if report_id % 97 == 0:
        raise LookupError(f"record {report_id} not found")
    pages = 1 + report_id % 23
    return {"report_id": report_id, "format": fmt, "pages": pages, "bytes": pages * 48_213}


@app.task(name="demo.summarize_reports")
def summarize_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Chord callback: totals over the fanned-out reports."""
    return {
        "reports": len(reports),
        "pages": sum(r["pages"] for r in reports),
        "bytes": sum(r["bytes"] for r in reports),
    }


def report_fanout(n: int, first_id: int = 1000, fmt: str = "pdf") -> Signature:
    """Build (not send) a chord: ``n`` generate_report tasks, then summarize_reports."""
    header = [generate_report.s(first_id + i, fmt=fmt, seconds=0.1) for i in range(n)]
    return chord(header, summarize_reports.s())


# --------------------------------------------------------------------------- failures, utilities

FAILURE_KINDS: tuple[str, ...] = (
    "timeout",
    "soft_timeout",
    "connection",
    "oom",
    "oom_killed",
    "validation",
    "missing",
    "key",
)


@app.task(name="demo.flaky", soft_time_limit=1.0)
def flaky(kind: str = "connection", seconds: float = 0.1, ref: int = 1234) -> str:
    """Fail in the way named by ``kind`` (one of FAILURE_KINDS); ``ok`` succeeds.

    ``soft_timeout`` keeps working past the task's real 1 s soft time limit, so the worker
    raises ``SoftTimeLimitExceeded`` inside it.
    """
    time.sleep(seconds)
    if kind == "ok":
        return "ok"
    if kind == "timeout":
        raise TimeoutError(
            f"request to https://api.partner.example/v2/orders/{ref} timed out after 30s"
        )
    if kind == "soft_timeout":
        deadline = time.monotonic() + 5.0
        # Sleep in short slices: the soft limit signal interrupts whichever one is running.
        while time.monotonic() < deadline:
            time.sleep(0.05)
        raise RuntimeError("soft time limit did not fire (pool without signal support?)")
    if kind == "connection":
        host, port = DB_HOSTS[ref % len(DB_HOSTS)]
        raise ConnectionRefusedError(f"Error 111 connecting to {host}:{port}. Connection refused.")
    if kind == "oom_killed":
        if flaky.request.hostname:
            # What the kernel's OOM killer does to a pool process; the worker reports
            # WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL) Job: N.').
            os.kill(os.getpid(), signal.SIGKILL)
        kind = "oom"  # not in a worker (eager call): don't kill the caller
    if kind == "oom":
        raise OutOfMemoryError(
            f"CUDA out of memory. Tried to allocate {ref % 64 + 1}.00 GiB "
            "(GPU 0; 15.78 GiB total capacity; 13.02 GiB already allocated)"
        )
    if kind == "validation":
        raise ValueError("invalid email address: 'bob@'")
    if kind == "missing":
        raise LookupError(f"record {ref} not found")
    if kind == "key":
        raise KeyError(f"customer_{ref}")
    raise ValueError(f"unknown failure kind {kind!r}; expected one of {FAILURE_KINDS}")


@app.task(name="demo.sleep")
def sleep(seconds: float = 1.0) -> float:
    """Sleep; the long-running task used for revoke/terminate tests."""
    time.sleep(seconds)
    return seconds


@app.task(name="demo.add")
def add(x: float, y: float) -> float:
    """Add two numbers."""
    return x + y


@app.task(name="demo.echo")
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return the arguments unchanged, so a re-run can be checked for faithful arguments."""
    return {"args": list(args), "kwargs": kwargs}


@app.task(bind=True, name="demo.retry_once")
def retry_once(self: Task, host: str = "db", port: int = 5432) -> None:
    """Hit a refused connection, retry once after 0.2 s, then fail for good.

    The retry re-publishes the same task id; Flower then reports ``parent_id`` equal to the
    task's own ``uuid`` and ``retries == 1``.
    """
    try:
        raise ConnectionRefusedError(f"Error 111 connecting to {host}:{port}. Connection refused.")
    except ConnectionRefusedError as exc:
        # With exc given and retries exhausted, retry() re-raises exc: the final FAILURE then
        # carries the real exception rather than MaxRetriesExceededError.
        raise self.retry(exc=exc, countdown=0.2, max_retries=1) from exc


__all__ = [
    "FAILURE_KINDS",
    "QUEUES",
    "OutOfMemoryError",
    "SoftTimeLimitExceeded",
    "add",
    "app",
    "configure",
    "disconnect",
    "echo",
    "etl_pipeline",
    "extract",
    "flaky",
    "generate_report",
    "load",
    "report_fanout",
    "retry_once",
    "send_email",
    "sleep",
    "summarize_reports",
    "train_model",
    "transform",
]


# --------------------------------------------------------------------------- training, any name


@app.task(bind=True, name="ml.fit_model")
def fit_model(
    self: Task,
    model_name: str,
    steps: int = 8,
    step_seconds: float = 0.5,
    fail_at: int | None = None,
) -> dict[str, Any]:
    """Training under a name nobody chose (no "train" in it): after step s, PROGRESS meta with
    loss 1/(s+1) and accuracy s/(s+1); ``fail_at=s`` raises `OutOfMemoryError` at step s."""
    meta: dict[str, Any] = {}
    for step in range(1, steps + 1):
        time.sleep(step_seconds)
        if fail_at is not None and step >= fail_at:
            raise OutOfMemoryError(f"CUDA out of memory (step {step}/{steps}, model {model_name})")
        meta = {
            "progress": round(100 * step / steps, 1),
            "loss": round(1 / (step + 1), 4),
            "accuracy": round(step / (step + 1), 4),
        }
        self.update_state(state="PROGRESS", meta=meta)
    return {"model": model_name, **meta}


__all__ += ["fit_model"]


@app.task(name="demo.call_service")
def call_service(
    url: str = "https://api.internal/v1", user: str = "svc", password: str = "", token: str = ""
) -> None:
    """Fail as client libraries do: the error message carries the credentials that were used.

    The console must mask them in the exception and traceback it shows (issue 10, point 6).
    """
    scheme, _, rest = url.partition("://")
    raise ConnectionError(f"could not reach {scheme}://{user}:{password}@{rest} (token={token})")


__all__ += ["call_service"]

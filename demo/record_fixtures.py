"""Record real Flower API responses as JSON fixtures for the console's unit tests.

    python -m demo.record_fixtures [--out tests/fixtures/flower]

Starts a throw-away `Cluster`, drives it into the situations the console must handle
(successes, each failure kind, truncated arguments, a self-retrying task, an ETL chain, a
chord, a training job in PROGRESS, a revoked task, a queued PENDING task, and a task Flower
only saw half of), and writes each response body exactly as parsed from Flower
(``json.dump(..., indent=1)``). The uuids of the special cases go to ``specials.json`` and
into the generated ``README.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import redis
import requests
from celery.result import AsyncResult

from demo import tasks
from demo.cluster import REPO_ROOT, Cluster, find_redis_server
from demo.loadgen import SentTask, send_mix

DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "flower"

# A realistic oversized argument: one batch of SKUs to re-price (well past the 1024-char
# argsrepr limit, so Flower shows it truncated with "...").
LONG_ARG = ",".join(f"SKU-{i:05d}" for i in range(120))


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail loudly after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


class Recorder:
    """Holds the cluster, the output directory and the special-case uuids."""

    def __init__(self, cluster: Cluster, out: Path) -> None:
        self.cluster = cluster
        self.out = out
        self.specials: dict[str, str] = {}

    def get(self, path: str, **params: Any) -> Any:
        resp = self.cluster.flower_get(path, **params)
        resp.raise_for_status()
        return resp.json()

    def save(self, name: str, path: str, **params: Any) -> Any:
        body = self.get(path, **params)
        with open(self.out / name, "w") as fh:
            json.dump(body, fh, indent=1)
            fh.write("\n")
        print(f"  wrote {name:28} <- {path} {params or ''}")
        return body

    def post(self, path: str, **form: str) -> Any:
        """POST a control call; Flower reads control parameters from a form body (§1)."""
        resp = requests.post(
            self.cluster.flower_url + path, data=form, auth=self.cluster.http_auth(), timeout=10
        )
        resp.raise_for_status()
        return resp.json()

    def flower_task(self, task_id: str) -> dict[str, Any] | None:
        resp = self.cluster.flower_get(f"/api/task/info/{task_id}")
        return resp.json() if resp.status_code == 200 else None

    def wait_state(self, task_id: str, *states: str, timeout: float = 60.0) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            self.cluster.check_alive()
            task = self.flower_task(task_id)
            return task if task and task["state"] in states else None

        return wait_for(f"{task_id} in {states}", check, timeout)  # type: ignore[no-any-return]


def record(out: Path, workdir: Path) -> dict[str, str]:
    """Start a cluster in ``workdir``, record every fixture into ``out``; returns the specials."""
    out.mkdir(parents=True, exist_ok=True)
    with Cluster(workdir, flower_auth="admin:fixtures") as cluster:
        tasks.configure(cluster.broker_url, cluster.backend_url)
        print(f"cluster up: {cluster.flower_url} workers={cluster.worker_names}")
        return _drive(Recorder(cluster, out))


def _drive(rec: Recorder) -> dict[str, str]:
    cluster, out, sp = rec.cluster, rec.out, rec.specials

    # --- finished work: a random mix plus one of each special case
    mix = send_mix(20, seed=7)
    sp["success_add"] = tasks.add.delay(2, 3).id
    failures = {kind: tasks.flaky.delay(kind, ref=1234).id for kind in tasks.FAILURE_KINDS}
    for kind, task_id in failures.items():
        sp[f"failure_{kind}"] = task_id
    sp["failure_validation_email"] = tasks.send_email.delay("bob@", "Welcome").id
    sp["long_args"] = tasks.echo.delay(LONG_ARG, batch="reprice-2024-06").id
    sp["retried_self_parent"] = tasks.retry_once.delay(host="db", port=5432).id
    etl = tasks.etl_pipeline("pl-fixture01", "s3://raw/events.csv").apply_async()
    sp["etl_load"], sp["etl_transform"], sp["etl_extract"] = (
        etl.id,
        etl.parent.id,
        etl.parent.parent.id,
    )
    etl_fail = tasks.etl_pipeline("pl-fixture02", "s3://raw/orders.parquet", "transform")
    etl_fail_result = etl_fail.apply_async()
    sp["etl_failed_transform"] = etl_fail_result.parent.id
    sp["etl_never_ran_load"] = etl_fail_result.id
    fanout = tasks.report_fanout(3, first_id=2000).apply_async()
    sp["chord_callback"] = fanout.id
    train_fail = tasks.train_model.delay("bert-base", epochs=4, step_seconds=0.1, fail_at=3)
    sp["training_oom"] = train_fail.id

    for key, task_id in sp.items():
        if key != "etl_never_ran_load":
            wait_for(f"{key} to finish", lambda t=task_id: AsyncResult(t).ready(), 90)
    for sent in mix:
        wait_for(f"{sent.kind} {sent.id} to finish", lambda s=sent: _finished(s), 90)
    rec.wait_state(sp["retried_self_parent"], "FAILURE")
    rec.wait_state(sp["chord_callback"], "SUCCESS")

    # --- a revoked task: terminate a running sleep through Flower's API
    victim = tasks.sleep.delay(30).id
    sp["revoked_terminated"] = victim
    rec.wait_state(victim, "STARTED")
    rec.post(f"/api/task/revoke/{victim}", terminate="true")
    rec.wait_state(victim, "REVOKED")

    # --- work in flight: w2 alone serves `ml` with 2 processes and reserves one more message
    # per process; the rest stays queued in Redis (PENDING in Flower, counted by
    # /api/queues/length).
    trainings = [
        tasks.train_model.delay(model, epochs=40, step_seconds=0.5)
        for model in ("resnet50", "vit-small", "xgb-churn", "lstm-forecast", "bert-base", "t5")
    ]
    sp["training_progress"] = trainings[0].id
    sp["revoked_in_progress"] = trainings[1].id
    sp["queued_pending"] = trainings[-1].id
    rec.wait_state(trainings[0].id, "PROGRESS")
    rec.wait_state(trainings[1].id, "PROGRESS")
    # Terminating a task whose last event was the custom `task-progress` leaves Flower's
    # state at PROGRESS (REVOKED ranks below custom states) with `revoked` set.
    rec.post(f"/api/task/revoke/{trainings[1].id}", terminate="true")
    wait_for("revoked timestamp", lambda: (rec.flower_task(trainings[1].id) or {}).get("revoked"))
    # The freed process takes a reserved job; make sure it started and that the last job is
    # still waiting in the queue, not prefetched by the worker.
    rec.wait_state(trainings[2].id, "PROGRESS")
    queued = rec.flower_task(sp["queued_pending"])
    assert queued and queued["state"] == "PENDING", queued
    wait_for(
        "result backend PROGRESS",
        lambda: AsyncResult(sp["training_progress"]).state == "PROGRESS",
    )

    # Small pause so the latest progress events of the running jobs are in.
    time.sleep(1.0)
    rec.save("tasks.json", "/api/tasks", limit=1000)
    rec.save("task_result_progress.json", f"/api/task/result/{sp['training_progress']}")
    rec.save("queues_length.json", "/api/queues/length")
    rec.save("workers.json", "/api/workers", refresh=1)
    rec.save("workers_status.json", "/api/workers", status=1)
    rec.save("workers_ui.json", "/workers", json=1)
    rec.save("task_types.json", "/api/task/types")
    rec.save("task_info.json", f"/api/task/info/{sp['failure_connection']}")
    save_backend_meta(
        out / "backend_meta.json",
        cluster.backend_url,
        {k: sp[k] for k in BACKEND_META_KEYS},
    )

    tasks.app.control.revoke([t.id for t in trainings], terminate=True)
    for t in trainings:
        wait_for(f"{t.id} revoked", lambda t=t: (rec.flower_task(t.id) or {}).get("revoked"))

    # --- a task Flower only half saw: received and started while Flower was down
    cluster.stop_flower()
    midflight = tasks.sleep.delay(6)
    sp["name_none_midflight"] = midflight.id
    wait_for("sleep to start", lambda: midflight.state == "STARTED", 30)
    cluster.start_flower()
    rec.wait_state(midflight.id, "SUCCESS", timeout=30)
    body = rec.save("tasks_name_none.json", "/api/tasks", limit=1000)
    assert body[midflight.id]["name"] is None, body[midflight.id]

    check_specials(json.loads((out / "tasks.json").read_text()), sp)
    (out / "specials.json").write_text(json.dumps(sp, indent=1, sort_keys=True) + "\n")
    write_readme(out, sp, cluster)
    return sp


# Whose raw result-backend record goes to backend_meta.json (not a Flower payload: Flower's
# /api/task/result omits the PROGRESS meta and never shows the result_extended fields).
BACKEND_META_KEYS = ("training_progress", "long_args", "failure_connection", "retried_self_parent")


def save_backend_meta(path: Path, backend_url: str, ids: dict[str, str]) -> None:
    """Write the stored ``celery-task-meta-<uuid>`` records, parsed, keyed by special name."""
    client = redis.Redis.from_url(backend_url)
    try:
        records = {}
        for key, task_id in ids.items():
            raw = client.get(f"celery-task-meta-{task_id}")
            assert raw is not None, f"no backend record for {key} {task_id}"
            records[key] = json.loads(raw)
    finally:
        client.close()
    with open(path, "w") as fh:
        json.dump(records, fh, indent=1)
        fh.write("\n")
    print(f"  wrote {path.name:28} <- redis {backend_url} celery-task-meta-*")


def _finished(sent: SentTask) -> bool:
    """Done, or stopped early: a failed chain step means the later steps never run."""
    return bool(sent.result.ready() or any(AsyncResult(i).failed() for i in sent.ids))


def check_specials(tasks_json: dict[str, Any], sp: dict[str, str]) -> None:
    """Fail the recording if a special case did not come out as the fixtures promise."""
    t = tasks_json
    assert "..." in t[sp["long_args"]]["args"], t[sp["long_args"]]["args"]
    retried = t[sp["retried_self_parent"]]
    assert retried["parent_id"] == retried["uuid"] and retried["retries"] == 1, retried
    assert t[sp["etl_transform"]]["parent_id"] == sp["etl_extract"]
    assert t[sp["etl_load"]]["parent_id"] == sp["etl_transform"]
    assert t[sp["training_progress"]]["state"] == "PROGRESS"
    assert t[sp["revoked_terminated"]]["state"] == "REVOKED"
    stuck = t[sp["revoked_in_progress"]]
    assert stuck["state"] == "PROGRESS" and stuck["revoked"], stuck
    assert t[sp["queued_pending"]]["state"] == "PENDING"
    assert sp["etl_never_ran_load"] not in t
    for kind in tasks.FAILURE_KINDS:
        assert t[sp[f"failure_{kind}"]]["state"] == "FAILURE", kind


DESCRIPTIONS = {
    "success_add": "`demo.add(2, 3)`, SUCCESS, result `'5'`",
    "failure_timeout": "`TimeoutError('... timed out after 30s')`",
    "failure_soft_timeout": "`SoftTimeLimitExceeded()` from a real 1 s soft time limit",
    "failure_connection": "`ConnectionRefusedError('Error 111 connecting to ...')`; also in "
    "`task_info.json`",
    "failure_oom": "`OutOfMemoryError('CUDA out of memory. ...')` (a RuntimeError, like torch's)",
    "failure_oom_killed": "pool process SIGKILLed (as by the OOM killer): Flower's `exception` "
    "is just `ExceptionWithTraceback()`; the real `WorkerLostError: Worker exited prematurely: "
    "signal 9 (SIGKILL) Job: N.` is only the last line of `traceback`",
    "failure_validation": "`ValueError(\"invalid email address: 'bob@'\")`",
    "failure_missing": "`LookupError('record 1234 not found')`",
    "failure_key": "`KeyError('customer_1234')`",
    "failure_validation_email": "`demo.send_email('bob@', ...)` failing validation",
    "long_args": "`demo.echo` with a ~1,200-char argument: `args` truncated, ends in `...`",
    "retried_self_parent": "`demo.retry_once`: retried once then FAILURE, `retries == 1`, "
    "`parent_id == uuid`, own id in `children`",
    "etl_extract": "ETL chain step 1 (root), `pipeline_id='pl-fixture01'` in kwargs",
    "etl_transform": "ETL chain step 2, `parent_id` = extract",
    "etl_load": "ETL chain step 3, `parent_id` = transform",
    "etl_failed_transform": "ETL chain `pl-fixture02` failing in transform (`ValueError`)",
    "etl_never_ran_load": "the load step after that failure: never sent, so absent",
    "chord_callback": "`demo.summarize_reports`, chord callback over 3 `generate_report`",
    "training_oom": "`demo.train_model` failing with `OutOfMemoryError('CUDA out of memory ...')`",
    "revoked_terminated": "`demo.sleep(30)` revoked with `terminate=true` while running",
    "revoked_in_progress": "`demo.train_model` terminated while running: Flower keeps state "
    "`PROGRESS` (custom states outrank REVOKED) but `revoked` is set",
    "training_progress": "running `demo.train_model`, state `PROGRESS` (custom `task-progress` "
    "event); `task_result_progress.json` is its backend view",
    "queued_pending": "`demo.train_model` still in the `ml` queue: PENDING, only `task-sent` "
    "seen, no `worker` key at all",
    "name_none_midflight": "in `tasks_name_none.json` only: `demo.sleep(6)` that started "
    "before Flower did: `name`, `args`, `received` null, state SUCCESS",
}


def write_readme(out: Path, sp: dict[str, str], cluster: Cluster) -> None:
    rows = "\n".join(f"| `{key}` | `{uuid}` | {DESCRIPTIONS[key]} |" for key, uuid in sp.items())
    versions = ", ".join(
        f"{pkg} {version(pkg)}" for pkg in ("flower", "celery", "kombu", "tornado", "redis")
    )
    text = f"""# Recorded Flower responses

Real response bodies from a local cluster (`demo.cluster.Cluster`: Redis broker/backend, workers
`{"`, `".join(cluster.worker_names)}`, Flower with basic auth), recorded by
`python -m demo.record_fixtures` (read it for the exact steps). Each file is
`json.dump(response.json(), indent=1)`, unmodified. Re-recording changes every uuid, timestamp
and pid; `specials.json` maps the special cases below to their uuids.

Versions: {versions} (Python packages), {_redis_server_version()}.

| File | Request | Contents |
|---|---|---|
| `tasks.json` | `GET /api/tasks?limit=1000` | ~60 tasks: a `demo.loadgen` mix plus the cases below; taken while two training jobs run |
| `tasks_name_none.json` | `GET /api/tasks?limit=1000` | after a Flower restart: just the mid-flight task with `name: null` |
| `task_info.json` | `GET /api/task/info/<failure_connection>` | one failed task, with traceback |
| `task_result_progress.json` | `GET /api/task/result/<training_progress>` | `{{"task-id", "state": "PROGRESS"}}` only: Flower adds `result` just for ready tasks, so the progress meta is not there |
| `backend_meta.json` | Redis db 1 `GET celery-task-meta-<uuid>` (not Flower) | raw backend records (`result_extended`: `name`, untruncated `args`, `kwargs`, `queue`, `worker`) for {", ".join(f"`{k}`" for k in BACKEND_META_KEYS)} |
| `workers.json` | `GET /api/workers?refresh=1` | inspect cache of both workers (stats, queues, registered, conf) |
| `workers_status.json` | `GET /api/workers?status=1` | `{{hostname: true}}` |
| `workers_ui.json` | `GET /workers?json=1` | UI worker list: event counters, heartbeats, loadavg |
| `queues_length.json` | `GET /api/queues/length` | `default`, `email`, `etl`, `ml` (with waiting training jobs) |
| `task_types.json` | `GET /api/task/types` | every task name seen |
| `specials.json` | (written by the script) | special case -> uuid |

Special cases (all in `tasks.json` unless noted):

| Key | uuid | What |
|---|---|---|
{rows}
"""
    (out / "README.md").write_text(text)


def _redis_server_version() -> str:
    line = subprocess.run(
        [find_redis_server(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return "redis-server " + line.split("v=")[1].split()[0] if "v=" in line else line.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flower-fixtures-") as tmp:
        specials = record(args.out.resolve(), Path(tmp))
    print(json.dumps(specials, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

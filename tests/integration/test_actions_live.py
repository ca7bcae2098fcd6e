"""Actions against the real cluster: each one checked by what Flower and the workers report."""

from __future__ import annotations

import signal
import uuid

import pytest

from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.broker import ResultBackend
from lib.flower import FlowerClient
from tests.live import flower_tasks, send, wait_final, wait_until

OPERATOR = Actor("olga", "operator")
ADMIN = Actor("ada", "admin")


def state_of(cluster, task_id: str) -> str | None:
    return flower_tasks(cluster).get(task_id, {}).get("state")


def lookup(cluster):
    return lambda task_id: (
        flower_tasks(cluster).get(task_id)
        and {
            **flower_tasks(cluster)[task_id],
            "uuid": task_id,
        }
    )


@pytest.fixture
def desk(cluster, tmp_path):
    client = FlowerClient(cluster.flower_url, auth=cluster.http_auth(), timeout=10)
    backend = ResultBackend(cluster.backend_url)
    return ActionDesk(client, AuditLog(tmp_path / "store.sqlite3"), lookup(cluster), backend)


def op() -> str:
    return uuid.uuid4().hex


def test_revoke_a_task_waiting_behind_a_busy_worker(cluster, producer, desk):
    # w2 is the only consumer of "ml" and runs 2 processes with prefetch 1: fill both.
    busy = [send(producer, "demo.sleep", 4, queue="ml") for _ in range(2)]
    waiting = send(producer, "demo.sleep", 0.1, queue="ml")
    # Queued in the broker (PENDING) or already reserved by the busy worker (RECEIVED): either
    # way it waits, since both of w2's processes sleep.
    wait_until(
        lambda: state_of(cluster, waiting) in ("PENDING", "RECEIVED"), "the third task to wait"
    )
    assert state_of(cluster, waiting) != "STARTED"
    result = desk.perform(OPERATOR, "revoke", [waiting], {}, op())
    assert result.outcome == "sent", result.message
    done = wait_final(cluster, [*busy, waiting])
    assert done[waiting]["state"] == "REVOKED"
    assert done[waiting]["started"] is None, "a revoked task never runs"


def test_terminate_a_running_task_with_the_chosen_signal(cluster, producer, desk):
    running = send(producer, "demo.sleep", 30, queue="default")
    wait_until(lambda: state_of(cluster, running) == "STARTED", "the task to start")
    result = desk.perform(OPERATOR, "terminate", [running], {"signal": "SIGKILL"}, op())
    assert result.outcome == "sent", result.message
    assert wait_final(cluster, [running], timeout=20)[running]["state"] == "REVOKED"
    logs = "".join(p.read_text(errors="replace") for p in cluster.workdir.glob("*.log"))
    assert f"Terminating {running} ({signal.SIGKILL.value})" in logs  # the worker logs the number


def test_retry_a_failed_task_with_identical_arguments_on_the_same_queue(cluster, producer, desk):
    failed = send(producer, "demo.flaky", "validation", seconds=0.05, ref=4242, queue="etl")
    old = wait_final(cluster, [failed])[failed]
    assert old["state"] == "FAILURE"
    result = desk.perform(OPERATOR, "retry", [failed], {}, op())
    assert result.outcome == "sent", result.message
    new_id = result.links[failed]
    assert new_id != failed
    new = wait_final(cluster, [new_id])[new_id]
    assert (new["name"], new["args"], new["kwargs"]) == (old["name"], old["args"], old["kwargs"])
    assert new["routing_key"] == old["routing_key"] == "etl"
    assert desk.audit.retry_links(failed)["retried_as"] == [new_id]


def test_retry_of_truncated_args_is_refused_without_the_backend(cluster, producer, desk):
    long_text = "x" * 1500
    task = send(producer, "demo.echo", long_text, queue="default")
    assert "..." in wait_final(cluster, [task])[task]["args"]  # Celery cut the repr
    before = set(flower_tasks(cluster))
    no_backend = ActionDesk(desk.client, desk.audit, desk.lookup_task, backend=None)
    result = no_backend.perform(OPERATOR, "retry", [task], {}, op())
    assert result.outcome == "refused" and "truncated" in result.message
    assert "result_extended" in result.message
    assert set(flower_tasks(cluster)) == before, "nothing was sent"
    # With result_extended and the backend, the real argument is re-sent whole.
    again = desk.perform(OPERATOR, "retry", [task], {}, op())
    assert again.outcome == "sent", again.message
    new_id = again.links[task]
    wait_final(cluster, [new_id])
    assert producer.AsyncResult(new_id).get(timeout=10)["args"] == [long_text]


def test_bulk_revoke_of_ten_revokes_exactly_those_ten(cluster, producer, desk):
    parked = f"parked_{uuid.uuid4().hex[:8]}"  # no worker consumes it yet
    chosen = [send(producer, "demo.add", i, 1, queue=parked) for i in range(10)]
    others = [send(producer, "demo.add", i, 2, queue=parked) for i in range(5)]
    wait_until(lambda: all(state_of(cluster, t) == "PENDING" for t in chosen + others), "queued")
    result = desk.perform(OPERATOR, "revoke", chosen, {}, op())
    assert result.outcome == "sent" and desk.audit.row(result.audit_id).preview_count == 10
    worker = cluster.worker_names[0]
    added = desk.perform(ADMIN, "add_consumer", [worker], {"queue": parked}, op())
    assert added.outcome == "sent", added.message
    try:
        done = wait_final(cluster, chosen + others)
    finally:
        desk.perform(ADMIN, "cancel_consumer", [worker], {"queue": parked}, op())
    assert {done[t]["state"] for t in chosen} == {"REVOKED"}
    assert {done[t]["state"] for t in others} == {"SUCCESS"}


def test_pool_grow_then_shrink_changes_reported_concurrency(cluster, desk):
    worker = cluster.worker_names[1]  # w2: fixed pool of 2, no autoscale

    def processes() -> int:
        info = desk.client.list_workers(refresh=True, workername=worker)[worker]
        return len(info["stats"]["pool"]["processes"])

    start = processes()
    assert desk.perform(ADMIN, "pool_grow", [worker], {"n": 1}, op()).outcome == "sent"
    wait_until(lambda: processes() == start + 1, "the pool to grow")
    assert desk.perform(ADMIN, "pool_shrink", [worker], {"n": 1}, op()).outcome == "sent"
    wait_until(lambda: processes() == start, "the pool to shrink back")


def test_rate_limit_set_through_the_desk_shows_in_the_worker(cluster, producer, desk):
    worker = cluster.worker_names[1]
    params = {"worker": worker, "rate": "7/m"}
    result = desk.perform(ADMIN, "rate_limit", ["demo.summarize_reports"], params, op())
    assert result.outcome == "sent", result.message
    registered = producer.control.inspect([worker], timeout=3).registered("rate_limit")
    assert "demo.summarize_reports [rate_limit=7/m]" in registered[worker]


def test_autoscale_refusal_reason_is_shown(cluster, desk):
    worker = cluster.worker_names[1]  # w2 runs without --autoscale
    result = desk.perform(ADMIN, "pool_autoscale", [worker], {"min": 1, "max": 3}, op())
    assert result.outcome == "failed"
    assert "Autoscale not enabled" in result.message
    assert desk.audit.row(result.audit_id).http_status == 403


def test_two_sessions_retrying_one_failed_task_at_once_create_one_copy(cluster, producer, desk):
    import threading

    ref = uuid.uuid4().int % 10**9
    failed = send(producer, "demo.flaky", "validation", seconds=0.05, ref=ref, queue="etl")
    assert wait_final(cluster, [failed])[failed]["state"] == "FAILURE"
    both_previewed = threading.Barrier(2)
    local = threading.local()

    def lookup(task_id):  # each session builds its preview, then both claim at the same moment
        task = desk.lookup_task(task_id)
        if not getattr(local, "waited", False):
            local.waited = True
            both_previewed.wait(20)
        return task

    sessions = [
        ActionDesk(desk.client, AuditLog(desk.audit.path), lookup, desk.backend) for _ in range(2)
    ]
    results: list = [None, None]

    def tab(i: int) -> None:
        results[i] = sessions[i].perform(OPERATOR, "retry", [failed], {}, op())

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.outcome for r in results) == ["refused", "sent"]
    sent = next(r for r in results if r.outcome == "sent")
    refused = next(r for r in results if r.outcome == "refused")
    assert "already retried" in refused.message
    assert (
        f"(audit #{sent.audit_id})" in refused.message and "Retry again anyway" in refused.message
    )
    wait_final(cluster, [sent.links[failed]])
    copies = [
        u
        for u, t in flower_tasks(cluster).items()
        if t.get("name") == "demo.flaky" and f"'ref': {ref}" in (t.get("kwargs") or "")
    ]
    assert sorted(copies) == sorted([failed, sent.links[failed]]), "one retry, not two"

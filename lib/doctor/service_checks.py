"""The doctor's checks of the services the console reaches without Flower: the broker, the
result backend, and its own history store.

An unset CELERY_BROKER_URL or CELERY_RESULT_BACKEND is a WARN that names what the console
loses without it; a set one that cannot be read is a FAIL. Each is read the way the console
reads it (``lib.broker``: a queue's depth; the backend: a task's metadata), with a timeout no
longer than FLOWER_TIMEOUT so the run stays bounded. The store is written and the row deleted
in one transaction: the check leaves nothing behind.
"""

from __future__ import annotations

import uuid

from lib.broker import AMQP_SCHEMES, BrokerProbe, ResultBackend
from lib.doctor.evidence import Evidence
from lib.doctor.findings import Status, Verdict
from lib.errors import BackendError, BrokerError, StoreError
from lib.redact import redact_url
from lib.store import Store
from lib.store.engine import writing
from lib.store.kept import write_probe

__all__ = ["check_backend", "check_broker", "check_store"]

#: The longest a broker or backend read may take here (FLOWER_TIMEOUT when shorter).
SERVICE_TIMEOUT = 3.0
#: Any queue name will do: a queue the broker does not know reads as empty.
PROBE_QUEUE = "celery"
#: What the console loses without each optional service, and the fix.
WITHOUT = {
    "CELERY_BROKER_URL": (
        "the console shows only Flower's queue depths and cannot purge queues or notice "
        "paused ones. Set it to the workers' broker URL."
    ),
    "CELERY_RESULT_BACKEND": (
        "Retry cannot read a task's original arguments and running tasks' progress is not "
        "shown. Set it to the workers' result backend."
    ),
}


def _unset(variable: str) -> Verdict:
    """An optional service left unset: a warning that says what the console loses."""
    return Status.WARN, f"{variable} is not set: {WITHOUT[variable]}"


def _timeout(evidence: Evidence) -> float:
    return min(SERVICE_TIMEOUT, evidence.settings.flower_timeout)


def check_broker(evidence: Evidence) -> Verdict:
    """CELERY_BROKER_URL is set, of a kind the console reads, and answers."""
    url = evidence.settings.broker_url
    if not url:
        return _unset("CELERY_BROKER_URL")
    probe = BrokerProbe(url, timeout=_timeout(evidence))
    if not probe.supported:
        return Status.WARN, (
            f"The broker at {probe.display_url} is '{probe.scheme}': the console reads queue "
            "depth, purges and notices pauses on Redis and RabbitMQ only."
        )
    kind = "RabbitMQ" if probe.scheme in AMQP_SCHEMES else "Redis"
    try:
        probe.queue_depths([PROBE_QUEUE])
    except BrokerError as exc:
        return Status.FAIL, f"{exc} Check CELERY_BROKER_URL (host, port, password)."
    return Status.PASS, f"The {kind} broker at {probe.display_url} answers."


def check_backend(evidence: Evidence) -> Verdict:
    """CELERY_RESULT_BACKEND is set and answers a read."""
    url = evidence.settings.result_backend
    if not url:
        return _unset("CELERY_RESULT_BACKEND")
    try:
        ResultBackend(url, timeout=_timeout(evidence)).task_meta(f"ops-doctor-{uuid.uuid4()}")
    except BackendError as exc:
        return Status.FAIL, f"{exc} Check CELERY_RESULT_BACKEND."
    return Status.PASS, f"The result backend at {redact_url(url)} answers."


def check_store(evidence: Evidence) -> Verdict:
    """The console's history store (OPS_STORE_URL) opens and takes a write."""
    settings = evidence.settings
    url = redact_url(settings.store_url or "")
    try:
        store = Store.from_settings(settings)
        with writing(store.engine, timeout=_timeout(evidence)) as conn:
            write_probe(conn, f"ops-doctor-{uuid.uuid4()}", evidence.clock())
    except StoreError as exc:
        return Status.FAIL, (
            f"{exc} Fix OPS_STORE_URL, the folder's permissions, or the database user's rights."
        )
    return Status.PASS, f"The history store at {url} is writable (OPS_STORE_URL)."

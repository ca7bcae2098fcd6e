"""Broker and result-backend readers: their failures are typed errors without passwords."""

from __future__ import annotations

import socket

import pytest

from lib.broker import ResultBackend
from lib.errors import BackendError, BrokerError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreadable_result_backend_is_a_backend_error_without_its_password():
    backend = ResultBackend(f"redis://:secretpw@127.0.0.1:{free_port()}/0", timeout=1)
    with pytest.raises(BackendError) as err:
        backend.task_meta("some-task")
    assert "result backend" in str(err.value) and "cannot be read" in str(err.value)
    assert "secretpw" not in str(err.value)
    assert not isinstance(err.value, BrokerError), "the backend is not the broker"


def test_a_dead_broker_is_one_sentence_with_one_full_stop_and_no_password():
    from lib.broker import BrokerProbe

    probe = BrokerProbe(f"redis://:secretpw@127.0.0.1:{free_port()}/0", timeout=1)
    with pytest.raises(BrokerError) as err:
        probe.queue_depths(["celery"])
    said = str(err.value)
    assert said.startswith("The broker at redis://") and "cannot be read: " in said
    assert said.endswith(".") and not said.endswith(".."), said
    assert "secretpw" not in said


def test_purging_on_a_dead_redis_is_the_same_plain_error():
    from lib.broker import BrokerProbe

    probe = BrokerProbe(f"redis://:secretpw@127.0.0.1:{free_port()}/0", timeout=1)
    with pytest.raises(BrokerError) as err:
        probe.purge("celery")
    assert "cannot be read: " in str(err.value) and "secretpw" not in str(err.value)


def test_a_broker_neither_redis_nor_rabbitmq_is_said_not_guessed():
    from lib.broker import BrokerProbe

    probe = BrokerProbe("sqs://key:secretpw@")
    assert not probe.supported
    for read in (lambda: probe.queue_stats(["celery"]), lambda: probe.purge("celery")):
        with pytest.raises(BrokerError) as err:
            read()
        said = str(err.value)
        assert "'sqs' broker" in said and "Redis and RabbitMQ are supported" in said, said
        assert "secretpw" not in said

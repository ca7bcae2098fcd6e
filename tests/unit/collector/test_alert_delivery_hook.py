"""The collector runs the webhook outbox's deliverer beside its polls: started and stopped with
it, woken by each poll, never delaying its stop while the webhook hangs; without a webhook
nothing is sent and the notifications stay queued."""

from __future__ import annotations

import logging
import time

from lib.collector import Collector
from tests.live import wait_until
from tests.unit.alert_delivery.conftest import Receiver, hook_url, outbox, port_of, queue, receiving
from tests.unit.collector.conftest import served
from tests.unit.collector.test_loop import FakeFlower, settings_for, tasks


def test_a_running_collector_delivers_what_is_queued(store, tmp_path):
    with served(FakeFlower(tasks("a"))) as flower, receiving(Receiver()) as receiver:
        settings = settings_for(flower, tmp_path, alert_webhook=hook_url(port_of(receiver)))
        collector = Collector(settings, store).start()
        try:
            queue(store, at=time.time())
            wait_until(lambda: receiver.posts, "the notification POSTed", 20, 0.05)
        finally:
            assert collector.stop()
        assert not collector.deliverer._thread.is_alive()
    assert outbox(store)[0]["status"] == "sent"


def test_stop_returns_promptly_while_the_webhook_hangs(store, tmp_path):
    receiver = Receiver()
    receiver.status = "hang"
    with served(FakeFlower(tasks("a"))) as flower, receiving(receiver):
        settings = settings_for(flower, tmp_path, alert_webhook=hook_url(port_of(receiver)))
        collector = Collector(settings, store)
        assert collector.deliverer.timeout == settings.flower_timeout  # never longer
        queue(store, at=time.time())
        collector.start()
        try:
            wait_until(lambda: receiver.posts, "a POST in flight", 20, 0.05)
        finally:
            stopped = collector.stop()  # within FLOWER_TIMEOUT and its margin, as before
        assert stopped and not collector.deliverer._thread.is_alive()


def test_without_a_webhook_nothing_runs_and_notifications_stay_queued(store, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="lib.alerts.delivery")
    with served(FakeFlower(tasks("a"))) as flower:
        collector = Collector(settings_for(flower, tmp_path), store)
        queue(store, at=time.time())
        collector.poll()
    assert collector.deliverer is None
    assert "OPS_ALERT_WEBHOOK is not set: alert notifications stay queued" in caplog.text
    assert outbox(store)[0]["status"] == "queued"

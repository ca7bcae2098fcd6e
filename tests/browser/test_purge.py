"""Purge end to end in a browser: ``Queues?queue=<name>`` → ``Purge`` → the dialog's count →
the queue's name typed → ``Confirm`` → the toast, the broker's emptied queue, the audit row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from playwright.sync_api import Page, expect

from demo.cluster import Cluster
from lib.broker import redis_queue_keys
from tests.browser.conftest import Console, keyed, open_page, settle
from tests.live import producer_app

pytestmark = pytest.mark.browser


@pytest.fixture
def parked(cluster: Cluster) -> Iterator[tuple[str, redis.Redis]]:
    """A fresh queue no worker consumes, holding 4 messages on the cluster's Redis."""
    queue = f"parked-{uuid.uuid4().hex[:8]}"
    app = producer_app(cluster)
    for i in range(4):
        app.send_task("demo.add", args=[i, 1], queue=queue)
    app.close()
    client = redis.Redis.from_url(cluster.broker_url)
    yield queue, client
    client.delete(*redis_queue_keys(queue))
    client.close()


def test_purge_from_the_queue_panel_with_the_typed_name(
    page: Page, console: Console, parked: tuple[str, redis.Redis]
) -> None:
    queue, client = parked
    open_page(page, console, f"/queues?queue={queue}")
    keyed(page, "queue_purge").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Purge?")
    expect(dialog).to_contain_text(f"4 message(s) wait in queue {queue} now.")
    confirm = dialog.get_by_role("button", name="Confirm")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Type the queue's name to confirm").fill(queue)
    dialog.get_by_label("Type the queue's name to confirm").press("Enter")
    expect(confirm).to_be_enabled()
    assert client.llen(queue) == 4, "nothing is sent before Confirm"
    confirm.click()
    toast = page.get_by_test_id("stToast").filter(has_text="Purge:")
    expect(toast).to_contain_text("4 messages removed (4 messages previewed)", timeout=20_000)
    expect(dialog).to_have_count(0)
    settle(page)
    assert sum(client.llen(k) for k in redis_queue_keys(queue)) == 0

"""Purge through the action door when it must not reach the broker: every refusal is audited
and nothing is sent, whatever a crafted request holds. (The purge itself, on real Redis and
RabbitMQ: tests/integration/test_purge_live.py.)"""

from __future__ import annotations

import pytest

from demo.cluster import free_port
from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.broker import BrokerProbe
from lib.flower import FlowerClient

ADMIN = Actor("ada", "admin")
#: A request as the dialog makes it: the queue's name typed again and the count it showed.
ASKED = {"confirm_name": "celery", "previewed": 4}


def desk_with(tmp_path, broker: BrokerProbe | None) -> ActionDesk:
    # No Flower answers here: a purge never asks Flower anything.
    client = FlowerClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    return ActionDesk(client, AuditLog(tmp_path / "store.sqlite3"), {}.get, broker=broker)


@pytest.fixture
def closed_redis(tmp_path) -> ActionDesk:
    """A desk whose Redis broker is down: nothing listens on its port."""
    return desk_with(tmp_path, BrokerProbe(f"redis://:s3cret@127.0.0.1:{free_port()}/0"))


@pytest.mark.parametrize(
    ("params", "targets", "why"),
    [
        ({"previewed": 4}, ["celery"], "type its exact name"),
        ({**ASKED, "confirm_name": "celer"}, ["celery"], "type its exact name"),
        (ASKED, ["celery", "other"], "type its exact name"),
        ({"confirm_name": "celery"}, ["celery"], "the number of waiting messages"),
        ({**ASKED, "previewed": -1}, ["celery"], "the number of waiting messages"),
        ({**ASKED, "previewed": "many"}, ["celery"], "the number of waiting messages"),
        ({"confirm_name": " ", "previewed": 0}, [" "], "Name the queue."),
    ],
)
def test_a_request_without_the_typed_name_or_the_preview_is_refused(
    closed_redis, params, targets, why
):
    result = closed_redis.perform(ADMIN, "purge", targets, params, "op1")
    assert result.outcome == "refused" and why in result.message
    row = closed_redis.audit.row(result.audit_id)
    assert row.outcome == "refused" and row.action == "purge" and row.user == "ada"
    # refused before the broker was asked: a down broker would have made it "failed"
    assert [t.outcome for t in closed_redis.audit.targets(row.id)] == ["skipped"] * len(targets)


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_viewer_or_operator_cannot_purge_even_with_a_complete_request(closed_redis, role):
    result = closed_redis.perform(Actor("vic", role), "purge", ["celery"], ASKED, "op1")
    assert result.outcome == "refused" and "needs the admin role" in result.message
    assert closed_redis.audit.row(result.audit_id).outcome == "refused"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (None, "CELERY_BROKER_URL is not set"),
        ("sqs://key:s3cret@queue.example/", "is not Redis or RabbitMQ"),
    ],
)
def test_without_a_usable_broker_purge_is_refused_and_says_why(tmp_path, url, why):
    desk = desk_with(tmp_path, BrokerProbe(url) if url else None)
    assert why in desk.broker_refusal()
    result = desk.perform(ADMIN, "purge", ["celery"], ASKED, "op1")
    assert result.outcome == "refused" and why in result.message
    assert "s3cret" not in result.message
    assert desk.audit.row(result.audit_id).outcome == "refused"


def test_a_broker_that_is_down_fails_the_purge_in_plain_words_audited(closed_redis):
    from lib.errors import ActionRefused, BrokerError

    with pytest.raises(ActionRefused, match="Name the queue"):
        closed_redis.queue_depth("")
    with pytest.raises(BrokerError, match="cannot be read") as raised:
        closed_redis.queue_depth("celery")
    assert "s3cret" not in str(raised.value)
    result = closed_redis.perform(ADMIN, "purge", ["celery"], ASKED, "op1")
    assert result.outcome == "failed" and "cannot be read" in result.message
    assert "s3cret" not in result.message
    row = closed_redis.audit.row(result.audit_id)
    assert row.outcome == "failed" and row.preview_count == 4
    assert [t.outcome for t in closed_redis.audit.targets(row.id)] == ["failed"]

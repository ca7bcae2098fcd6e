"""Where the management API reader looks: the broker URL's vhost and whose credentials."""

from __future__ import annotations

import pytest

from lib.rabbitmq_rates import RabbitManagement, vhost_of


@pytest.mark.parametrize(
    ("broker_url", "vhost"),
    [
        ("amqp://u:p@rabbit:5672//", "/"),
        ("amqp://u:p@rabbit:5672/", "/"),
        ("amqp://u:p@rabbit:5672", "/"),
        ("amqp://u:p@rabbit:5672/prod", "prod"),
        ("pyamqp://rabbit/team%2Fa", "team/a"),
        (None, "/"),
    ],
)
def test_the_vhost_is_the_broker_urls(broker_url, vhost):
    assert vhost_of(broker_url) == vhost


def test_credentials_come_from_the_management_url_else_the_broker_url():
    own = RabbitManagement("http://mgr:m%40pw@rabbit:15672/", "amqp://u:p@rabbit//")
    assert own._auth == ("mgr", "m@pw") and own.base == "http://rabbit:15672"
    borrowed = RabbitManagement("https://rabbit/mgmt/", "amqp://u:p%2Fq@rabbit/prod")
    assert borrowed._auth == ("u", "p/q") and borrowed.base == "https://rabbit/mgmt"
    assert borrowed.vhost == "prod" and "p/q" not in borrowed.display_url
    assert RabbitManagement("http://rabbit:15672")._auth is None

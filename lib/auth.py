"""Who may do what: the roles and the one check every action goes through.

Roles, weakest first: ``viewer`` sees everything and acts on nothing; ``operator`` acts on
tasks; ``admin`` also controls workers. The check lives here and is called by
``lib/actions.py`` for every action; a page hiding a button is a courtesy, not the control.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ROLES", "Actor", "allows"]

ROLES = ("viewer", "operator", "admin")
#: With OPS_AUTH=off there is no login: the local user is trusted fully, and a banner says so.
LOCAL_ACTOR_NAME = "local"


@dataclass(frozen=True)
class Actor:
    """The person acting, as the audit log records them."""

    user: str
    role: str


def allows(role: str, needed: str) -> bool:
    """True when ``role`` is at least ``needed``; unknown roles are allowed nothing."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)

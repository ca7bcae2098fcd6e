"""Roles per cluster through the login (issue 17): a user's role table is re-read each run, so a
demotion on one cluster takes effect on the next run; the refusal names the cluster."""

from __future__ import annotations

from lib.auth import Actor, hash_password
from tests.apptest.test_access import (
    PASSWORDS,
    audit,
    go,
    log_in,
    signed_as,
    users_on,  # noqa: F401  (fixture)
    waiting_task,
)


def write_roles(path, olga_role: str) -> None:
    path.write_text(
        f'[users.olga]\npassword_hash = "{hash_password(PASSWORDS["olga"])}"\nrole = {olga_role}\n'
    )


def confirm_revoke(at, op_id: str) -> None:
    """Revoke a waiting task as the session's actor, however the page showed its buttons."""
    pending = dict(action="revoke", targets=[waiting_task()], params={}, op_id=op_id)
    at.session_state["pending_action"] = pending
    at.run()
    at.button(key="dialog_confirm").click().run()


def test_a_demotion_on_one_cluster_takes_effect_on_the_next_run(
    users_on,  # noqa: F811
    tmp_path,
):
    users = tmp_path / "users.toml"
    write_roles(users, '{ default = "operator", staging = "operator" }')
    at = log_in("olga")
    assert "Signed in as olga (operator)" in signed_as(at)
    at = go(at, "Tasks")
    # Demoted on staging only: the role elsewhere is the same, the session still changes.
    write_roles(users, '{ default = "operator", staging = "viewer" }')
    at.run()
    assert at.session_state["actor"] == Actor("olga", "operator", (("staging", "viewer"),))
    # Now demoted on this console's one cluster (named "default"), operator on staging.
    write_roles(users, '{ default = "viewer", staging = "operator" }')
    at.run()
    assert at.session_state["actor"].role_in("default") == "viewer"
    confirm_revoke(at, "after-demotion-here")
    assert users_on.posts == [], "refused on the cluster the console acts on"
    row = audit(tmp_path).rows()[0]
    assert (row.user, row.role, row.cluster, row.outcome) == (
        "olga",
        "viewer",
        "default",
        "refused",
    )
    assert row.message == "olga (viewer on default) may not revoke: it needs the operator role."

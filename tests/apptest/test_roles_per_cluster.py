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
    assert "Signed in as olga (operator; operator on staging)" in signed_as(at)
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


def pages_of_two_clusters() -> None:
    """Two pages' actors, one per cluster, as each page asks for it (its console's settings)."""
    from dataclasses import replace

    import streamlit as st

    from lib.ui.login import current_actor
    from lib.ui.wiring import get_settings

    settings = get_settings()
    for cluster in ("staging", "production"):
        st.text(f"{cluster}: {current_actor(replace(settings, cluster=cluster)).role}")


def test_a_page_of_a_cluster_sees_the_role_on_that_cluster(users_on, tmp_path):  # noqa: F811
    import time

    from streamlit.testing.v1 import AppTest

    write_roles(tmp_path / "users.toml", '{ default = "viewer", staging = "operator" }')
    at = AppTest.from_function(pages_of_two_clusters, default_timeout=30)
    at.session_state["actor"] = Actor("olga", "viewer")  # signed in; roles come from the file
    at.session_state["auth_claims"] = None
    at.session_state["auth_last_active"] = time.time()
    at.run()
    assert not at.exception
    assert [t.value for t in at.text] == ["staging: operator", "production: viewer"]

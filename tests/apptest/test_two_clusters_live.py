"""Pages over two real clusters while one's Flower hangs (issue 17): the All clusters page says
the hung one's problem in words beside the other's fresh figures, and a page scoped to the
healthy cluster shows its own figures; nothing waits on the hung Flower."""

from __future__ import annotations

import pytest

from tests.apptest.conftest import open_page, run_until

ALL_CLUSTERS = "screens/all_clusters.py"


def workers_online(at) -> str | None:
    return {m.label: m.value for m in at.metric}.get("Workers online")


def cluster_rows(at) -> dict[str, dict]:
    """The All clusters table's rows by cluster name ({} before the table is there)."""
    frames = [df.value for df in at.dataframe if "problem" in df.value.columns]
    return {row["name"]: row for row in frames[0].to_dict("records")} if frames else {}


def said(at, name: str, column: str) -> str:
    return str(cluster_rows(at).get(name, {}).get(column) or "")


@pytest.fixture
def hung_beta(two_clusters, monkeypatch):
    """The console's variables for the two clusters (collectors embedded), beta's Flower hung;
    answering again at the end."""
    for key, value in two_clusters.environ().items():
        monkeypatch.setenv(key, value)
    beta = two_clusters.beta.proxy
    beta.hang()
    yield beta
    beta.answer()


def test_alpha_stays_fresh_on_its_pages_while_beta_hangs(two_clusters, hung_beta):
    at = open_page("Overview", {"cluster": "alpha"})
    at.switch_page(ALL_CLUSTERS).run()  # every cluster's console: beta's collector starts too
    at = run_until(at, lambda at: "not answered" in said(at, "beta", "problem"), timeout=30)
    assert not at.exception, [e.message for e in at.exception]
    problem = said(at, "beta", "problem")
    assert problem.startswith("Flower has not answered for") and "(timeout 6 s)" in problem
    assert said(at, "alpha", "workers_online") == "1 of 1" and said(at, "alpha", "problem") == ""
    assert hung_beta.held(), "beta's collector still waits on its hung Flower"

    at.query_params["cluster"] = "alpha"
    at.switch_page("screens/overview.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.query_params["cluster"] == "alpha"
    assert workers_online(at) == "1/1", "alpha's worker, read while beta hangs"
    assert not at.error, [e.value for e in at.error]

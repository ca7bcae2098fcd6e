"""``./ops doctor`` with OPS_CLUSTERS_FILE: the file's own line, then every check for each
cluster (its name in brackets after the check's), the contract's line form kept, and the exit
code the worst over all clusters; a bad file or the variables beside it said in plain words."""

from __future__ import annotations

import re

import pytest

from lib.doctor.__main__ import main
from tests.recorded import RecordedFlower
from tests.scripted_server import ScriptedServer
from tests.unit.doctor_helpers import closed_port

PASSWORD = "doc-pw-5e6f7a"
LINE = re.compile(r"^(PASS|WARN|FAIL) (?P<check>[^:]+): \S.*$")


@pytest.fixture
def up():
    """A Flower that answers (recorded payloads over HTTP)."""
    with ScriptedServer(RecordedFlower()) as server:
        yield server.url


@pytest.fixture
def doctor_env(monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path / "ops-data"))
    monkeypatch.setenv("FLOWER_TIMEOUT", "1")
    monkeypatch.setenv("DOCTOR_AUTH", f"admin:{PASSWORD}")
    return monkeypatch


def clusters_file(monkeypatch, tmp_path, text: str) -> None:
    path = tmp_path / "clusters.toml"
    path.write_text(text)
    monkeypatch.setenv("OPS_CLUSTERS_FILE", str(path))


def test_every_cluster_is_checked_and_the_worst_decides(doctor_env, tmp_path, up, capsys):
    clusters_file(
        doctor_env,
        tmp_path,
        f'[clusters.up]\nflower_url = "{up}"\n'
        f'[clusters.down]\nflower_url = "http://127.0.0.1:{closed_port()}"\n'
        'flower_basic_auth = "env:DOCTOR_AUTH"\n',
    )
    assert main([]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == f"PASS Clusters file: {tmp_path / 'clusters.toml'} names 2 clusters: up, down."
    )
    checks = [LINE.match(line)["check"] for line in lines[:-1]]
    assert len(checks) == 1 + 2 * 12
    assert checks[1:13] == [c.replace(" [down]", " [up]") for c in checks[13:]]
    assert all(c.endswith(" [up]") for c in checks[1:13])
    assert lines[1].startswith("PASS Flower reachable [up]:")
    assert lines[13].startswith("FAIL Flower reachable [down]: Nothing answers at")
    assert lines[-1].startswith("25 checks:")
    assert PASSWORD not in "\n".join(lines)


def test_a_bad_clusters_file_is_one_fail_line(doctor_env, tmp_path, capsys):
    clusters_file(doctor_env, tmp_path, '[clusters.Prod]\nflower_url = "http://f"\n')
    assert main([]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL Clusters file: OPS_CLUSTERS_FILE (")
    assert "a name is lower-case letters" in out[0] and out[0].endswith("no cluster was checked.")
    assert out[1:] == ["1 check: 0 passed, 0 warnings, 1 failure"]


def test_the_variables_beside_the_file_are_a_warning(doctor_env, tmp_path, up, capsys):
    clusters_file(doctor_env, tmp_path, f'[clusters.up]\nflower_url = "{up}"\n')
    doctor_env.setenv("FLOWER_URL", f"http://admin:{PASSWORD}@flower.internal")
    assert main([]) >= 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "WARN Clusters file: OPS_CLUSTERS_FILE is set, so FLOWER_URL is not used: the clusters "
        "file names every cluster. Unset what the file replaces to silence this."
    )
    assert lines[1].startswith("PASS Flower reachable [up]:")
    assert PASSWORD not in "\n".join(lines)

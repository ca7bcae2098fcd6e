"""``./ops start`` starts the sandbox only when neither FLOWER_URL nor OPS_CLUSTERS_FILE is set,
in the environment or in ``.streamlit/secrets.toml`` (``lib.start_choice``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.start_choice import SANDBOX, main, own_clusters

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "secrets", "said"),
    [
        ({}, {}, None),
        ({"FLOWER_URL": "  "}, {}, None),
        ({"FLOWER_URL": "http://flower:5555"}, {}, "watching your Flower at FLOWER_URL"),
        ({}, {"FLOWER_URL": "http://flower:5555"}, "watching your Flower at FLOWER_URL"),
        ({"OPS_CLUSTERS_FILE": "c.toml"}, {}, "watching the clusters of OPS_CLUSTERS_FILE"),
        ({}, {"OPS_CLUSTERS_FILE": "c.toml"}, "watching the clusters of OPS_CLUSTERS_FILE"),
        (
            {"FLOWER_URL": "http://flower:5555"},
            {"OPS_CLUSTERS_FILE": "c.toml"},
            "watching the clusters of OPS_CLUSTERS_FILE",
        ),
    ],
    ids=["nothing", "blank", "url-env", "url-secrets", "file-env", "file-secrets", "both"],
)
def test_own_clusters_or_the_sandbox(environ, secrets, said):
    assert own_clusters(environ, secrets) == said


def test_the_secrets_file_is_read(tmp_path, capsys):
    path = tmp_path / "secrets.toml"
    assert main({}, path) == SANDBOX, "no file: the sandbox"
    path.write_text('OPS_CLUSTERS_FILE = "clusters.toml"\n')
    assert main({}, path) == 0
    assert capsys.readouterr().out == "watching the clusters of OPS_CLUSTERS_FILE\n"


def test_an_unreadable_secrets_file_is_said_and_the_environment_decides(tmp_path, capsys):
    path = tmp_path / "secrets.toml"
    path.write_text('FLOWER_URL = "http://admin:hunter2@flower\n')  # unterminated
    assert main({}, path) == SANDBOX
    assert main({"FLOWER_URL": "http://flower"}, path) == 0
    err = capsys.readouterr().err
    assert "cannot be read" in err and "hunter2" not in err


def test_the_command_exits_3_for_the_sandbox_and_0_for_a_flower():
    base = {k: v for k, v in os.environ.items() if k not in ("FLOWER_URL", "OPS_CLUSTERS_FILE")}
    command = [sys.executable, "-m", "lib.start_choice"]
    with_url = {**base, "FLOWER_URL": "http://flower:5555"}
    own = subprocess.run(command, cwd=REPO, env=with_url, capture_output=True, text=True)
    assert (own.returncode, own.stdout) == (0, "watching your Flower at FLOWER_URL\n")
    if not (REPO / ".streamlit" / "secrets.toml").exists():  # a developer's own file decides
        none = subprocess.run(command, cwd=REPO, env=base, capture_output=True, text=True)
        assert (none.returncode, none.stdout) == (SANDBOX, "")

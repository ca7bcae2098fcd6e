"""``./ops start``'s one decision: the user's own cluster(s), or the sandbox.

The console watches the user's clusters when ``FLOWER_URL`` or ``OPS_CLUSTERS_FILE`` is set, in
the environment or in ``.streamlit/secrets.toml`` (where the console reads them too); only when
neither is set does ``./ops start`` start the sandbox cluster (``demo.launch``).

``python -m lib.start_choice`` prints the sentence ``./ops start`` says and exits 0 for the
user's clusters, prints nothing and exits 3 for the sandbox. A secrets file that cannot be read
is said on stderr and the environment alone decides (the console's page then says what is
wrong with the file). Never prints a value: only the variables' names.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lib.settings import SECRETS_FILE, configured, secrets_toml

__all__ = ["SANDBOX", "main", "own_clusters"]

#: The exit code that means "start the sandbox".
SANDBOX = 3


def own_clusters(environ: Mapping[str, str], secrets: Mapping[str, Any]) -> str | None:
    """What the console will watch, as ``./ops start`` says it; None: the sandbox."""
    if configured("OPS_CLUSTERS_FILE", environ, secrets):
        return "watching the clusters of OPS_CLUSTERS_FILE"
    if configured("FLOWER_URL", environ, secrets):
        return "watching your Flower at FLOWER_URL"
    return None


def main(environ: Mapping[str, str], path: Path = SECRETS_FILE) -> int:
    try:
        secrets = secrets_toml(path)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        print(
            f"ops start: {path} cannot be read ({exc}); deciding from the environment",
            file=sys.stderr,
        )
        secrets = {}
    said = own_clusters(environ, secrets)
    if said is None:
        return SANDBOX
    print(said)
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ))

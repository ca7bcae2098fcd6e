"""Shared fixtures of the workflow view tests."""

from __future__ import annotations

import pandas as pd
import pytest

from lib import frames
from tests.recorded import recorded_tasks


@pytest.fixture(scope="module")
def recorded_frame() -> pd.DataFrame:
    return frames.tasks_frame(recorded_tasks())

"""Not collected by the suite (no test_ prefix): tests/test_tiers.py runs it under `pytest -n 2` to
check that a file's tests stay on one worker (pyproject's `--dist loadfile`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

OUT = Path(os.environ.get("XDIST_PROBE_DIR", "."))
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="module")
def built() -> str:
    (OUT / f"built-{WORKER}-{os.getpid()}").touch()
    return WORKER


@pytest.mark.parametrize("n", range(6))
def test_probe(built, n):
    time.sleep(0.3)  # long enough for `--dist load` to hand the other worker some of them
    (OUT / f"ran-{WORKER}-{n}").touch()

"""The torch backend's own tests train the compiled fast path, whatever size their jobs are.

Why: with ALPHABET_BENCH_TORCH_PATH unset, `fast` picks eager for a job of a few epochs
(backends/pytorch/paths.py), and these tests are what checks the compiled program. A test of
the choice itself (test_path_choice.py) sets the variable it needs; a worker process a test
starts inherits it.
"""

from __future__ import annotations

import pytest

from backends.pytorch.paths import PATH_ENV


@pytest.fixture(autouse=True)
def compiled_fast_path(monkeypatch):
    monkeypatch.setenv(PATH_ENV, "compiled")

"""Not collected by the suite: shares the probe's scope (tests/conftest.py SHARED_SCOPES), so under
`pytest -n 2` tests/test_tiers.py finds its tests on the probe's worker."""

from __future__ import annotations

import time

import pytest

from tests.xdist_probe import OUT, WORKER


@pytest.mark.parametrize("n", range(6))
def test_partner(n):
    time.sleep(0.3)
    (OUT / f"ran-{WORKER}-partner{n}").touch()

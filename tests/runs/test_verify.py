"""`run … --verify`: a stored seed retrained reproduces its record; tampering is caught."""

from __future__ import annotations

import json

from harness.store import results_path
from tests.cli import RUN, harness, records


def test_verify_reproduces_and_detects_tampering(tmp_path):
    assert harness(*RUN, "--seeds", "1", "--out", str(tmp_path)).returncode == 0
    ok = harness(*RUN, "--seeds", "1", "--out", str(tmp_path), "--verify")
    assert ok.returncode == 0 and "reproduced" in ok.stderr
    store = results_path(tmp_path)
    tampered = [json.loads(line) for line in store.read_text().splitlines()]
    tampered[0]["patterns"][0]["predicted"] = "Q"
    store.write_text("".join(json.dumps(r) + "\n" for r in tampered))
    bad = harness(*RUN, "--seeds", "1", "--out", str(tmp_path), "--verify")
    assert bad.returncode == 1 and "not reproduced" in bad.stderr and "patterns" in bad.stderr
    assert len(records(tmp_path)) == 2  # verifying appends nothing

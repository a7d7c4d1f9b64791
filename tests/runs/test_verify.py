"""`run … --verify`: a stored seed retrained reproduces its record; tampering is caught."""

from __future__ import annotations

import json

from harness.runs.verify import differences
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


def test_a_seed_trained_in_a_batch_is_compared_within_the_fast_tolerance():
    stored = {"seeds_together": 10, "accuracy": 0.8, "epoch_loss": [1.0, 0.5], "patterns": [{"p": "A"}],
              "probes": {"x": {"share": 0.25}}}
    close = {**stored, "seeds_together": 1, "epoch_loss": [1.0 + 1e-7, 0.5]}
    assert differences(stored, close) == []
    assert differences({**stored, "seeds_together": 1}, close) == ["epoch_loss"]  # alone: exact
    assert differences(stored, {**close, "epoch_loss": [1.01, 0.5]}) == ["epoch_loss"]
    assert differences(stored, {**close, "patterns": [{"p": "B"}]}) == ["patterns"]

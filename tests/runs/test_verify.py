"""`run … --verify`: a stored seed retrained reproduces its record; tampering is caught."""

from __future__ import annotations

import json

from harness.runs.verify import differences
from harness.store import results_path
from tests.cli import RUN, harness, records
from tests.conftest import needs_backend


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


def test_checkpoints_and_curves_are_verified_too():
    stored = {"seeds_together": 1, "checkpoints": [{"epoch": 5, "accuracy": 0.5, "predicted": "BC"}],
              "accuracy_curve": {"epochs": [5], "accuracy": [0.5]}}
    assert differences(stored, stored) == []
    moved = {**stored, "checkpoints": [{"epoch": 5, "accuracy": 0.5, "predicted": "BD"}]}
    assert differences(stored, moved) == ["checkpoints"]


def test_a_record_rebuilds_its_anytime_evaluation():
    from harness.runs.plan import Job, RunRequest, plan_jobs
    from harness.runs.worker import failed_record

    request = RunRequest(("one_char",), ("torch",), (2,), execution="fast", cores=1)
    (job,) = plan_jobs(request, "run")
    record = {**failed_record(job, 2, "x"), "checkpoints": [{"epoch": 250}, {"epoch": 500}],
              "accuracy_curve": {"epochs": [5], "accuracy": [0.1]}}
    again = Job.from_record(record, "verify")
    assert (again.eval_at, again.time_to_learn, again.anytime) == ((250, 500), True, True)
    plain = Job.from_record(failed_record(job, 2, "x"), "verify")  # written before, or declined
    assert plain.anytime is False


@needs_backend("torch")
def test_a_real_seed_reproduces_its_checkpoints_and_curve(tmp_path):
    args = ("run", "--backend", "torch", "--scenario", "one_char", "--epochs", "12", "--seed", "4",
            "--time-to-learn", "--eval-at", "3", "--no-idiomatic-timing", "--workers", "1",
            "--out", str(tmp_path))
    assert harness(*args).returncode == 0
    (stored,) = records(tmp_path)
    assert [c["epoch"] for c in stored["checkpoints"]] == [3, 12]
    assert len(stored["accuracy_curve"]["epochs"]) == 12
    ok = harness(*args, "--verify")
    assert ok.returncode == 0 and "reproduced" in ok.stderr, ok.stderr

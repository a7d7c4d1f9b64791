"""Anytime evaluation: the checkpoint schedules, and snapshots scored as the final evaluation is."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from backends.base import Snapshot
from backends.reference import StackedLSTM
from harness.runs.anytime import AnytimeEvaluation, checkpoint_epochs, curve_epochs, default_checkpoints
from harness.runs.evaluate import evaluate
from harness.runs.seeds import probe_rng
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario


def test_default_checkpoints_are_log_spaced_and_end_at_the_last_epoch():
    assert default_checkpoints(500) == (16, 31, 62, 125, 250, 500)
    assert default_checkpoints(4000) == (125, 250, 500, 1000, 2000, 4000)  # the tutorial's 500 among them
    assert default_checkpoints(3) == (1, 2, 3)
    assert default_checkpoints(1) == (1,)


def test_requested_checkpoints_keep_the_last_and_skip_epochs_past_the_run():
    assert checkpoint_epochs(500, [100, 1000, 250, 100]) == (100, 250, 500)
    assert checkpoint_epochs(500, []) == (500,)
    assert checkpoint_epochs(500) == default_checkpoints(500)


def test_the_curve_resolves_one_percent_of_the_run():
    epochs = curve_epochs(4000)
    assert epochs[0] == 40 and epochs[-1] == 4000 and len(epochs) == 100
    assert all(b - a == 40 for a, b in itertools.pairwise(epochs))
    assert curve_epochs(150) == tuple(range(1, 151))
    assert curve_epochs(250)[-1] == 250 and curve_epochs(250)[0] == 2


def _random_snapshot(epoch, seeds, units, classes, rng):
    s = len(seeds)
    return Snapshot(epoch, tuple(seeds), {
        "w_ih": rng.normal(size=(s, 4 * units, 1)).astype(np.float32) * 3,
        "w_hh": rng.normal(size=(s, 4 * units, units)).astype(np.float32),
        "b": rng.normal(size=(s, 4 * units)).astype(np.float32),
        "w_out": rng.normal(size=(s, classes, units)).astype(np.float32) * 3,
        "b_out": rng.normal(size=(s, classes)).astype(np.float32)})


@pytest.mark.parametrize("scenario_id", ["one_char", "stateful"])
def test_snapshots_are_scored_as_the_final_evaluation_scores_a_model(scenario_id):
    scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=10))
    data = build_data(scenario)
    anytime = AnytimeEvaluation(scenario, data, eval_at=[5], time_to_learn=True)
    assert anytime.request.epochs == frozenset(range(1, 11)) | {5}
    rng = np.random.default_rng(1)
    snapshots = [_random_snapshot(e, [7, 9], 4, data.n_classes, rng) for e in range(1, 11)]
    for snapshot in snapshots:
        anytime.on_snapshot(snapshot)
    for row, seed in enumerate((7, 9)):
        fields = anytime.fields(seed)
        assert [c["epoch"] for c in fields["checkpoints"]] == [5, 10]
        for checkpoint, snapshot in zip(fields["checkpoints"], (snapshots[4], snapshots[9]), strict=True):
            model = StackedLSTM(snapshot.weights).predictor(row, scenario.spec.stateful)
            expected = evaluate(scenario.spec, data, model, probe_rng(seed))
            assert checkpoint["accuracy"] == expected.accuracy
            assert checkpoint["predicted"] == "".join(p["predicted"] for p in expected.patterns)
            assert checkpoint["probes"] == expected.probes
        assert fields["anytime_seconds"] > 0
        curve = fields["accuracy_curve"]
        assert curve["epochs"] == list(range(1, 11))
        assert curve["accuracy"][4] == fields["checkpoints"][0]["accuracy"]  # the two agree
        assert curve["accuracy"][9] == fields["checkpoints"][1]["accuracy"]


def test_without_time_to_learn_there_is_no_curve():
    scenario = ResolvedScenario(get_scenario("one_char"), ScenarioOptions(epochs=4))
    anytime = AnytimeEvaluation(scenario, build_data(scenario))
    assert anytime.request.epochs == frozenset({1, 2, 4})
    assert anytime.fields(0) == {"checkpoints": [], "accuracy_curve": None, "anytime_seconds": 0.0}


def test_no_checkpoints_is_recorded_as_not_asked_for(tmp_path):
    from tests.cli import RUN, harness, records

    done = harness(*RUN, "--no-checkpoints", "--seeds", "1", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    stored = records(tmp_path / "out")
    assert stored and all(r["checkpoints"] == [] and r["anytime_note"].startswith("not asked for")
                          for r in stored)

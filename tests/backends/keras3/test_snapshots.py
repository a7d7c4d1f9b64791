"""Anytime-evaluation snapshots of the Keras (TensorFlow) backend, in both executions.

A snapshot after epoch e must be the model the seed has after e epochs: the same weights a run
of exactly e epochs ends with (the prefix property), in the contract's layout
(`backends.base.SNAPSHOT_SHAPES`), handed over once per requested epoch and never timed.
The prefix property holds exactly (bit for bit) in both executions, although the fast program
then runs other chunks of epochs in a program compiled for another block size: chunking
changes which call runs an update, never its arithmetic. Fast and idiomatic agree within the
fast execution's tolerance (tests/backends/keras3/test_fast.py).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from backends import RuntimeConfig, SeedPlan, SeedTraining, load_backend
from backends.base import SNAPSHOT_SHAPES, Snapshot, SnapshotRequest
from backends.weights import to_snapshot
from harness.runs.seeds import make_plan
from harness.testing import Sleeper
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario
from tests.conftest import needs_backend

pytestmark = needs_backend("keras")

E1, E2 = 2, 4  # a snapshot at E1 of an E2-epoch run is the end of an E1-epoch run
REQUESTED = frozenset({-1, 0, E1, E2, E2 + 1, 100})  # epochs outside 1..E2 are ignored
SCENARIOS = ("one_char", "stateful", "batch_state")
EXECUTIONS = ("idiomatic", "fast")
SEEDS = {"idiomatic": (7,), "fast": (7, 8)}  # fast: all plans in one program, one row each
ATOL = 1e-5  # fast vs idiomatic weights (tests/backends/keras3/test_fast.py)


@dataclass
class Run:
    trained: list[SeedTraining]
    snapshots: list[Snapshot]


def _scenario(scenario_id: str, epochs: int, **options) -> ResolvedScenario:
    return ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=epochs, **options))


def _plans(scenario: ResolvedScenario, seeds: tuple[int, ...]) -> list[SeedPlan]:
    n = scenario.n_samples
    return [make_plan(seed, n, scenario.epochs, scenario.spec.shuffle) for seed in seeds]


def _train(backend, execution: str, scenario: ResolvedScenario, requested: frozenset[int],
           seeds: tuple[int, ...], callback: Callable[[Snapshot], None] | None = None) -> Run:
    backend.setup(RuntimeConfig(threads=1, execution=execution))
    got: list[Snapshot] = []
    request = SnapshotRequest(requested, callback or got.append)
    trained = list(backend.train(scenario, build_data(scenario), _plans(scenario, seeds), lambda n: None,
                                 snapshots=request))
    return Run(trained, got)


@pytest.fixture(scope="module")
def backend():
    return load_backend("keras")


@pytest.fixture(scope="module")
def runs(backend) -> Callable[[str, str, int], Run]:
    """Trained once per (execution, scenario, epochs) for the whole module: E2 epochs with
    `REQUESTED`, E1 epochs with a snapshot at E1 only."""
    cache: dict[tuple[str, str, int], Run] = {}

    def get(execution: str, scenario_id: str, epochs: int) -> Run:
        key = (execution, scenario_id, epochs)
        if key not in cache:
            requested = REQUESTED if epochs == E2 else frozenset({E1})
            scenario = _scenario(scenario_id, epochs)
            cache[key] = _train(backend, execution, scenario, requested, SEEDS[execution])
        return cache[key]

    return get


def _at(run: Run, epoch: int) -> Snapshot:
    (snapshot,) = [s for s in run.snapshots if s.epoch == epoch]
    return snapshot


CASES = [pytest.param(e, s, id=f"{e}-{s}") for e in EXECUTIONS for s in SCENARIOS]


@pytest.mark.parametrize(("execution", "scenario_id"), CASES)
def test_prefix_property(runs, execution, scenario_id):
    """(a) The snapshot at E1 of an E2-epoch run is the E1-epoch run's last snapshot, exactly."""
    longer, shorter = _at(runs(execution, scenario_id, E2), E1), _at(runs(execution, scenario_id, E1), E1)
    assert longer.seeds == shorter.seeds == SEEDS[execution]
    for name in SNAPSHOT_SHAPES:
        np.testing.assert_array_equal(longer.weights[name], shorter.weights[name], err_msg=name)


@pytest.mark.parametrize(("execution", "scenario_id"), CASES)
def test_last_snapshot_is_the_trained_model(runs, execution, scenario_id):
    """(b) The last-epoch snapshot is the returned predictors' weights, in the snapshot layout."""
    for epochs in (E1, E2):
        run = runs(execution, scenario_id, epochs)
        last = _at(run, epochs)
        assert [t.seed for t in run.trained] == list(last.seeds)
        for row, trained in enumerate(run.trained):
            expected = to_snapshot(trained.predictor.weights())  # Keras's layout mapped to the snapshot's
            for name, weights in expected.items():
                np.testing.assert_array_equal(last.weights[name][row], weights[0], err_msg=name)


@pytest.mark.parametrize(("execution", "scenario_id"), CASES)
def test_epochs_seeds_and_shapes(runs, execution, scenario_id):
    """(c) One call per requested epoch in 1..E2, in order; one row per seed; float32 copies."""
    run = runs(execution, scenario_id, E2)
    assert [s.epoch for s in run.snapshots] == [E1, E2]
    scenario = _scenario(scenario_id, E2)
    n_seeds, units, features = len(SEEDS[execution]), scenario.units, scenario.spec.features
    classes = build_data(scenario).n_classes
    shapes = {"w_ih": (n_seeds, 4 * units, features), "w_hh": (n_seeds, 4 * units, units),
              "b": (n_seeds, 4 * units), "w_out": (n_seeds, classes, units), "b_out": (n_seeds, classes)}
    weights = run.trained[0].predictor.weights()
    for snapshot in run.snapshots:
        assert snapshot.seeds == SEEDS[execution]
        assert set(snapshot.weights) == set(SNAPSHOT_SHAPES)
        for name, array in snapshot.weights.items():
            assert array.shape == shapes[name] and array.dtype == np.float32, name
            assert array.flags.c_contiguous and array.base is None, name  # a copy of its own
            assert not any(np.shares_memory(array, w) for w in weights.values()), name


def test_no_call_outside_the_epochs(backend):
    """(c) Requested epochs outside 1..epochs only: trained as usual, the callback never called."""
    for execution in EXECUTIONS:
        run = _train(backend, execution, _scenario("one_char", E1), frozenset({0, E1 + 1}), SEEDS[execution])
        assert run.snapshots == [] and len(run.trained[0].epoch_loss) == E1


def test_short_chunks_reuse_the_compiled_program(backend, runs):
    """Chunks cut short by snapshots run in the program compiled for the full block: no retrace."""
    from backends.keras3.program import compiled_program

    runs("fast", "one_char", E2)  # compiles the block of E2 epochs (chunks 1, 1, 2)
    program = compiled_program(False, True, "sigmoid")
    traced = program.experimental_get_tracing_count()
    run = _train(backend, "fast", _scenario("one_char", E2), frozenset({2, 3}), SEEDS["fast"])  # 1, 1, 1, 1
    assert [s.epoch for s in run.snapshots] == [2, 3]
    assert program.experimental_get_tracing_count() == traced


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_timing_leaves_the_callback_out(backend, execution):
    """(d) The callback's time is in no figure: counted, train_seconds alone would hold the
    sleeps, and train_seconds + sleeps would exceed train()'s wall time by the sleeps again."""
    epochs, seeds = 2, (7, 8)
    sleepy = Sleeper(factor=2.0)  # the conformance kit's sleepy callback (harness.testing)
    sleepy.begin()
    run = _train(backend, execution, _scenario("one_char", epochs), frozenset(range(1, epochs + 1)), seeds,
                 callback=sleepy)
    wall = time.perf_counter() - sleepy.began
    if execution == "idiomatic":  # one train loop per seed, each its own snapshots
        assert sleepy.calls == [(e, (s,)) for s in seeds for e in range(1, epochs + 1)]
    else:
        assert sleepy.calls == [(e, seeds) for e in range(1, epochs + 1)]
    assert wall >= sum(sleepy.slept)
    loops = {id(t.timing): t.timing for t in run.trained}.values()  # fast: one loop for all seeds
    trained_seconds = sum(t.train_seconds for t in loops)
    assert trained_seconds + sum(sleepy.slept) <= wall, "callback counted in train_seconds"
    first = next(iter(loops))
    assert 0 < first.first_epoch_seconds <= first.train_seconds
    assert first.first_epoch_seconds + sleepy.slept[0] <= wall, "callback counted in first_epoch_seconds"


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_fast_and_idiomatic_snapshots_agree(runs, scenario_id):
    """(e) Seed 7's snapshot at an intermediate epoch, fast (row 0 of 2) vs idiomatic."""
    fast, slow = _at(runs("fast", scenario_id, E2), E1), _at(runs("idiomatic", scenario_id, E2), E1)
    assert fast.seeds[0] == slow.seeds[0] == 7
    for name in SNAPSHOT_SHAPES:
        np.testing.assert_allclose(fast.weights[name][0], slow.weights[name][0], rtol=0, atol=ATOL,
                                   err_msg=name)


def test_units_and_learning_rate_options(backend):
    """ScenarioOptions(units=8, learning_rate=0.01) train 8-unit models with Adam at 0.01, and the
    two executions still agree within the fast execution's tolerance."""
    from backends.keras3.fast import AdamHyper

    scenario = _scenario("one_char", 3, units=8, learning_rate=0.01)
    assert (scenario.units, scenario.learning_rate) == (8, 0.01)
    slow, fast = (_train(backend, e, scenario, frozenset({2}), (7,)) for e in EXECUTIONS)
    for run in (slow, fast):
        model = run.trained[0].predictor.model
        assert AdamHyper.from_keras(model.optimizer).learning_rate == pytest.approx(0.01)
        weights = run.trained[0].predictor.weights()
        assert weights["lstm/kernel"].shape == (1, 32) and weights["lstm/recurrent_kernel"].shape == (8, 32)
        assert weights["dense/kernel"].shape == (8, 26)
        assert run.snapshots[0].weights["w_hh"].shape == (1, 32, 8)
    assert fast.trained[0].updates == slow.trained[0].updates == 3 * scenario.n_samples
    fw, sw = fast.trained[0].predictor.weights(), slow.trained[0].predictor.weights()
    for name in sw:
        np.testing.assert_allclose(fw[name], sw[name], rtol=0, atol=ATOL, err_msg=name)
    for name in SNAPSHOT_SHAPES:
        np.testing.assert_allclose(fast.snapshots[0].weights[name], slow.snapshots[0].weights[name],
                                   rtol=0, atol=ATOL, err_msg=name)
    np.testing.assert_allclose(fast.trained[0].epoch_loss, slow.trained[0].epoch_loss, rtol=1e-4)


@needs_backend("keras-jax")
def test_keras_jax_declines():
    """(f) Keras on JAX takes no snapshots: it says so, and accepts and ignores a request.

    Training it needs a fresh process with Keras on JAX (about 30 s here), so only the
    declaration and the signature are checked; the harness reads `anytime` before asking."""
    backend = load_backend("keras-jax")  # imports no framework
    assert backend.anytime is False
    parameter = inspect.signature(backend.train).parameters["snapshots"]
    assert parameter.default is None
    assert load_backend("keras").anytime is True

"""Keras "fast" execution runs the same updates as idiomatic `fit`, just batched and compiled.

Weights are compared with ATOL, not exactly: the fast program is one XLA computation while
`fit` (op determinism on, so Keras turns XLA off) runs TensorFlow's own kernels. XLA fuses
element-wise ops and uses its own tanh/sigmoid/exp approximations and dot loop order, so
each update differs by float32 rounding (~1e-7 relative), and Adam's division by
sqrt(v) + 1e-7 amplifies tiny-gradient noise a little. XLA also lays out the seed-batched
dot differently for S = 1 and S = 3, so a seed alone and in a batch differ the same way.
Measured after the epochs run here: max |dW| <= 6e-7, |d proba| <= 1e-7, loss rel <= 3e-7.
1e-5 leaves room for that while a wrong or missing update (one Adam step moves a weight
by up to lr = 1e-3) fails it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from backends import RuntimeConfig, SeedPlan, load_backend
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

ATOL = 1e-5  # weights, fast vs idiomatic and alone vs batched; see the module docstring
LOSS_RTOL = 1e-5  # epoch losses (float32 running means over the epoch)
PROBA_ATOL = 1e-5
NAMES = {"lstm/kernel", "lstm/recurrent_kernel", "lstm/bias", "dense/kernel", "dense/bias"}


@pytest.fixture(scope="module")
def backend():
    return load_backend("keras")


def _scenario(scenario_id: str, epochs: int, **spec_changes) -> ResolvedScenario:
    spec = replace(get_scenario(scenario_id), **spec_changes)
    return ResolvedScenario(spec, ScenarioOptions(epochs=epochs))


def _plan(scenario: ResolvedScenario, n: int, seed: int, init_seed: int) -> SeedPlan:
    rng = np.random.default_rng(seed)
    shuffle = scenario.spec.shuffle
    orders = np.stack([rng.permutation(n) if shuffle else np.arange(n) for _ in range(scenario.epochs)])
    return SeedPlan(seed=seed, init_seed=init_seed, orders=orders)


def _train(backend, execution, scenario, data, plans, progress=lambda n: None):
    """Switch execution in place (same threads, so setup may run again) and train."""
    knobs = backend.setup(RuntimeConfig(threads=1, execution=execution))
    assert knobs["execution"] == execution and knobs["intra_op_threads"] == 1
    return list(backend.train(scenario, data, plans, progress))


def _assert_same_model(fast, slow, data, atol=ATOL):
    fw, sw = fast.predictor.weights(), slow.predictor.weights()
    assert set(fw) == set(sw) == NAMES
    for name in NAMES:
        assert fw[name].shape == sw[name].shape, name
        np.testing.assert_allclose(fw[name], sw[name], rtol=0, atol=atol, err_msg=name)
    fp, sp = fast.predictor.predict_proba(data.x), slow.predictor.predict_proba(data.x)
    np.testing.assert_allclose(fp, sp, rtol=0, atol=PROBA_ATOL)
    assert np.array_equal(fp.argmax(axis=1), sp.argmax(axis=1))


def test_setup_records_the_fast_path(backend):
    knobs = backend.setup(RuntimeConfig(threads=1, execution="fast"))
    assert knobs["fast_path"] == "xla-stacked" and knobs["jit_compile"] is True
    assert "fast_path" not in backend.setup(RuntimeConfig(threads=1))


@pytest.mark.parametrize(
    ("scenario_id", "epochs", "changes"),
    [
        ("one_char", 3, {}),
        ("stateful", 3, {}),
        ("variable_length", 1, {}),
        ("batch_state", 5, {}),
        ("one_char", 3, {"batch_size": 7}),  # 25 samples: a short last batch every epoch
    ],
)
def test_fast_matches_idiomatic(backend, scenario_id, epochs, changes):
    scenario = _scenario(scenario_id, epochs, **changes)
    data = build_data(scenario)
    plan = _plan(scenario, data.n_samples, seed=3, init_seed=321)
    (slow,) = _train(backend, "idiomatic", scenario, data, [plan])
    (fast,) = _train(backend, "fast", scenario, data, [plan])

    assert fast.updates == slow.updates
    _assert_same_model(fast, slow, data)
    np.testing.assert_allclose(fast.epoch_loss, slow.epoch_loss, rtol=LOSS_RTOL)
    assert len(fast.epoch_accuracy) == epochs
    # Accuracies are counts over the epoch: a flip needs a near-tie, so allow one sample.
    np.testing.assert_allclose(fast.epoch_accuracy, slow.epoch_accuracy, atol=1.01 / data.n_samples)


def test_stateful_fast_predictor_carries_state(backend):
    scenario = _scenario("stateful", 2)
    data = build_data(scenario)
    (fast,) = _train(backend, "fast", scenario, data, [_plan(scenario, data.n_samples, 0, 5)])
    predictor, x_a = fast.predictor, data.encode("A")
    predictor.reset_state()
    first, second = predictor.step(x_a), predictor.step(x_a)
    assert not np.allclose(first, second)
    predictor.reset_state()
    np.testing.assert_allclose(predictor.step(x_a), first, rtol=0, atol=1e-7)


@pytest.mark.parametrize("scenario_id", ["one_char", "stateful"])
def test_a_jobs_seeds_share_one_model_and_predict_with_their_own_weights(backend, scenario_id):
    """The fast job evaluates every seed on one model (one traced predict function): used in any
    order, each seed predicts exactly what a model of its own, loaded with its weights, predicts."""
    from backends.keras3.model import KerasPredictor

    scenario = _scenario(scenario_id, 2)
    data = build_data(scenario)
    plans = [_plan(scenario, data.n_samples, seed=s, init_seed=70 + s) for s in range(3)]
    trained = _train(backend, "fast", scenario, data, plans)
    assert len({id(t.predictor.model) for t in trained}) == 1
    alone = []
    for t in trained:
        own = KerasPredictor(backend._build(scenario, data, 0), scenario.spec.stateful)
        own.set_weights(t.predictor.weights())
        alone.append(own.predict_proba(data.x))
    for i in (2, 0, 1, 0, 2):
        np.testing.assert_array_equal(trained[i].predictor.predict_proba(data.x), alone[i])
    trained[1].predictor.reset_state()
    step = trained[1].predictor.step(data.encode("A"))
    np.testing.assert_array_equal(trained[0].predictor.predict_proba(data.x), alone[0])
    trained[1].predictor.reset_state()
    np.testing.assert_array_equal(trained[1].predictor.step(data.encode("A")), step)


def test_seed_alone_equals_seed_in_a_batch(backend):
    scenario = _scenario("one_char", 4)
    data = build_data(scenario)
    plans = [_plan(scenario, data.n_samples, seed=s, init_seed=50 + s) for s in range(3)]
    batched = _train(backend, "fast", scenario, data, plans)
    (alone,) = _train(backend, "fast", scenario, data, [plans[1]])
    assert [r.seed for r in batched] == [0, 1, 2]
    _assert_same_model(batched[1], alone, data)
    np.testing.assert_allclose(batched[1].epoch_loss, alone.epoch_loss, rtol=LOSS_RTOL)
    # and the seeds stay independent models
    assert not np.allclose(batched[0].predictor.weights()["dense/bias"],
                           batched[1].predictor.weights()["dense/bias"])


def test_batch_timing_and_counts(backend):
    scenario = _scenario("one_char", 3)
    data = build_data(scenario)
    plans = [_plan(scenario, data.n_samples, seed=s, init_seed=10 + s) for s in range(4)]
    reported: list[int] = []
    results = _train(backend, "fast", scenario, data, plans, reported.append)

    per_seed = scenario.epochs * data.n_samples  # batch 1
    assert sum(reported) == 4 * per_seed
    batch_seconds = results[0].batch_train_seconds
    assert batch_seconds is not None and batch_seconds > 0
    for r in results:
        assert r.seeds_together == 4
        assert r.batch_train_seconds == batch_seconds
        assert math.isclose(r.train_seconds, batch_seconds / 4)
        assert 0 < r.first_epoch_seconds <= batch_seconds
        assert r.updates == per_seed
        assert len(r.epoch_loss) == len(r.epoch_accuracy) == scenario.epochs
        assert np.all(np.isfinite(r.epoch_loss))


def test_fast_checks_orders_shape(backend):
    scenario = _scenario("one_char", 2)
    data = build_data(scenario)
    bad = SeedPlan(seed=0, init_seed=1, orders=np.zeros((3, data.n_samples), dtype=int))
    with pytest.raises(ValueError, match="orders shape"):
        _train(backend, "fast", scenario, data, [bad])

"""Real (small) Keras training runs: protocol, determinism, order and state handling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backends import RuntimeConfig, SeedPlan, load_backend
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario, scenario_ids

pytest.importorskip("tensorflow")
pytest.importorskip("keras")


@pytest.fixture(scope="module")
def backend():
    b = load_backend("keras")
    knobs = b.setup(RuntimeConfig(threads=1))
    assert knobs["keras_backend"] == "tensorflow" and knobs["op_determinism"] is True
    return b


def _scenario(scenario_id: str, epochs: int, **options) -> ResolvedScenario:
    return ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=epochs, **options))


def _orders(scenario: ResolvedScenario, n: int, rng_seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(rng_seed)
    shuffle = scenario.spec.shuffle
    return np.stack(
        [rng.permutation(n) if shuffle else np.arange(n) for _ in range(scenario.epochs)]
    )


def _plan(scenario, data, seed=0, init_seed=123, orders=None) -> SeedPlan:
    if orders is None:
        orders = _orders(scenario, data.n_samples, rng_seed=seed)
    return SeedPlan(seed=seed, init_seed=init_seed, orders=orders)


def _train(backend, scenario, data, plans, progress=lambda n: None):
    return list(backend.train(scenario, data, plans, progress))


def test_setup_is_repeatable_and_rejects_unknown_execution(backend):
    assert backend.setup(RuntimeConfig(threads=1))["intra_op_threads"] == 1
    with pytest.raises(ValueError, match="unsupported execution"):
        backend.setup(RuntimeConfig(threads=1, execution="compiled"))


def test_versions(backend):
    versions = backend.versions()
    assert versions["keras"].startswith("3.") and versions["tensorflow"]


@pytest.mark.parametrize(
    ("scenario_id", "encoding"),
    [(s, "zero_based") for s in scenario_ids()] + [("one_char", "one_based")],
)
def test_every_scenario_trains(backend, scenario_id, encoding):
    epochs = 1 if scenario_id == "variable_length" else 2
    scenario = _scenario(scenario_id, epochs, encoding=encoding)
    data = build_data(scenario)
    reported: list[int] = []
    (result,) = _train(backend, scenario, data, [_plan(scenario, data, seed=4)], reported.append)

    batch = scenario.spec.batch_size or data.n_samples
    expected_updates = epochs * math.ceil(data.n_samples / batch)
    assert result.seed == 4
    assert result.updates == expected_updates
    assert sum(reported) == expected_updates and len(reported) == epochs
    assert len(result.epoch_loss) == len(result.epoch_accuracy) == epochs
    assert np.all(np.isfinite(result.epoch_loss))
    assert all(0.0 <= a <= 1.0 for a in result.epoch_accuracy)
    assert 0.0 < result.first_epoch_seconds <= result.train_seconds

    n_classes = 27 if encoding == "one_based" else 26
    proba = result.predictor.predict_proba(data.x)
    assert proba.shape == (data.n_samples, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_same_plan_is_deterministic(backend):
    scenario = _scenario("one_char", 3)
    data = build_data(scenario)
    plan = _plan(scenario, data)
    first = _train(backend, scenario, data, [plan])[0]
    second = _train(backend, scenario, data, [plan])[0]
    assert first.epoch_loss == second.epoch_loss
    assert np.array_equal(
        first.predictor.predict_proba(data.x), second.predictor.predict_proba(data.x)
    )


def test_every_epoch_order_is_honoured(backend):
    """Plans that differ only in epoch 2's order must differ: fit does not replay epoch 1."""
    scenario = _scenario("one_char", 2)
    data = build_data(scenario)
    n = data.n_samples
    base = np.stack([np.arange(n), np.arange(n)])
    other = np.stack([np.arange(n), np.arange(n)[::-1]])
    same_a, same_b, changed = (
        _train(backend, scenario, data, [_plan(scenario, data, orders=o)])[0].predictor
        for o in (base, base.copy(), other)
    )
    assert np.array_equal(same_a.predict_proba(data.x), same_b.predict_proba(data.x))
    assert not np.array_equal(same_a.predict_proba(data.x), changed.predict_proba(data.x))


def test_stateful_carries_state_between_steps(backend):
    scenario = _scenario("stateful", 3)
    data = build_data(scenario)
    (result,) = _train(backend, scenario, data, [_plan(scenario, data)])
    predictor = result.predictor
    x_a = data.encode("A")

    predictor.reset_state()
    first = predictor.step(x_a)
    second = predictor.step(x_a)
    assert first.shape == (26,)
    assert not np.allclose(first, second)

    predictor.reset_state()
    np.testing.assert_allclose(predictor.step(x_a), first, rtol=0, atol=1e-7)

    # predict_proba starts every sample from zero state: row 0 ("A") equals a cold step.
    proba = predictor.predict_proba(data.x)
    np.testing.assert_allclose(proba[0], first, rtol=0, atol=1e-7)


def test_stateless_step_matches_predict_proba(backend):
    scenario = _scenario("timestep_window", 1)
    data = build_data(scenario)
    predictor = _train(backend, scenario, data, [_plan(scenario, data)])[0].predictor
    x = data.x[3:4]
    predictor.reset_state()  # no-op
    np.testing.assert_allclose(predictor.step(x), predictor.predict_proba(x)[0], atol=1e-7)
    np.testing.assert_allclose(predictor.step(x), predictor.step(x), atol=0)


def test_several_plans_match_training_alone(backend):
    scenario = _scenario("one_char", 2)
    data = build_data(scenario)
    plans = [_plan(scenario, data, seed=s, init_seed=100 + s) for s in range(3)]
    results = _train(backend, scenario, data, plans)
    assert [r.seed for r in results] == [0, 1, 2]
    probas = [r.predictor.predict_proba(data.x) for r in results]
    assert not np.array_equal(probas[0], probas[1])

    alone = _train(backend, scenario, data, [plans[1]])[0]
    assert np.array_equal(alone.predictor.predict_proba(data.x), probas[1])


def test_one_char_loss_decreases(backend):
    scenario = _scenario("one_char", 5)
    data = build_data(scenario)
    (result,) = _train(backend, scenario, data, [_plan(scenario, data)])
    assert result.epoch_loss[-1] < result.epoch_loss[0]


def test_orders_shape_is_checked(backend):
    scenario = _scenario("one_char", 2)
    data = build_data(scenario)
    bad = SeedPlan(seed=0, init_seed=1, orders=np.zeros((3, data.n_samples), dtype=int))
    with pytest.raises(ValueError, match="orders shape"):
        _train(backend, scenario, data, [bad])

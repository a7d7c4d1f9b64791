"""The jax backend trains the tutorial's protocol: fast runs idiomatic's updates, deterministically.

Budgets are tiny (2 epochs, 2 seeds): these check which updates run and how they are recorded,
not what the model learns.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends.base import ADAM_BETAS, RuntimeConfig, SnapshotRequest
from scenarios import NATIVE_ADAM_EPS, scenario_ids
from tests.backends.jax_native import jax_marks, max_weight_gap, plans, resolve, train

pytestmark = jax_marks()

WEIGHT_ATOL = 1e-5  # fast vs idiomatic after 2 epochs; measured max ~2.5e-6 (variable_length)
PROBA_ATOL = 1e-6  # measured max ~2e-7


@pytest.fixture(scope="module")
def trained():
    """(scenario id, execution) -> (scenario, data, results of seeds 1 and 2, progress ticks),
    trained once."""
    cache = {}

    def get(scenario_id: str, execution: str):
        if (scenario_id, execution) not in cache:
            scenario, data = resolve(scenario_id)
            ticks: list[int] = []
            results = train(execution, scenario, data, plans(scenario, data), progress=ticks.append)
            cache[scenario_id, execution] = scenario, data, results, ticks
        return cache[scenario_id, execution]

    return get


@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_fast_runs_the_idiomatic_updates(trained, scenario_id):
    scenario, data, slow, _ = trained(scenario_id, "idiomatic")
    _, _, fast, _ = trained(scenario_id, "fast")
    steps = scenario.steps_per_epoch
    for a, b in zip(slow, fast, strict=True):
        assert a.seed == b.seed and a.updates == b.updates == 2 * steps
        np.testing.assert_allclose(b.epoch_loss, a.epoch_loss, rtol=1e-6)
        np.testing.assert_allclose(b.epoch_accuracy, a.epoch_accuracy, atol=1.01 / data.n_samples)
        assert max_weight_gap(a, b) < WEIGHT_ATOL
        np.testing.assert_allclose(b.predictor.predict_proba(data.x), a.predictor.predict_proba(data.x),
                                   rtol=0, atol=PROBA_ATOL)
        assert (a.seeds_together, b.seeds_together) == (1, 2)
        assert 0 < a.first_epoch_seconds <= a.train_seconds and b.first_epoch_seconds > 0
    assert max_weight_gap(slow[0], slow[1]) > 1e-3  # the seeds are different models


@pytest.mark.parametrize("execution", ["idiomatic", "fast"])
def test_the_same_seed_gives_the_same_result(trained, execution):
    scenario, data, first, _ = trained("one_char", execution)
    again = train(execution, scenario, data, plans(scenario, data))
    for a, b in zip(first, again, strict=True):
        assert a.epoch_loss == b.epoch_loss and a.epoch_accuracy == b.epoch_accuracy
        assert max_weight_gap(a, b) == 0.0


def test_a_seed_trained_alone_matches_it_in_a_batch(trained):
    scenario, data, batch, _ = trained("stateful", "fast")
    (alone,) = train("fast", scenario, data, plans(scenario, data, seeds=(2,)))
    assert alone.seed == batch[1].seed and alone.seeds_together == 1
    assert max_weight_gap(alone, batch[1]) < WEIGHT_ATOL


@pytest.mark.parametrize("execution", ["idiomatic", "fast"])
def test_progress_counts_every_update_of_every_seed(trained, execution):
    scenario, _, results, ticks = trained("batch_state", execution)
    assert sum(ticks) == 2 * 2 * scenario.steps_per_epoch
    assert len(ticks) == (4 if execution == "idiomatic" else 2)  # a lap an epoch; fast: epoch 1, a chunk
    assert all(r.updates == 2 * scenario.steps_per_epoch for r in results)


@pytest.mark.parametrize("gate", ["hard_sigmoid_2017"])
def test_fast_runs_the_idiomatic_updates_with_keras2_gates(gate):
    scenario, data = resolve("timestep_window", gate_activation=gate, init="keras", adam_eps=1e-7)
    slow = train("idiomatic", scenario, data, plans(scenario, data))
    fast = train("fast", scenario, data, plans(scenario, data))
    from backends.jax_native.model import hard_sigmoid_2017

    assert slow[0].predictor.model.lstm.cell.gate_fn is hard_sigmoid_2017
    for a, b in zip(slow, fast, strict=True):
        np.testing.assert_allclose(b.epoch_loss, a.epoch_loss, rtol=1e-6)
        assert max_weight_gap(a, b) < WEIGHT_ATOL


def test_snapshots_hand_over_the_weights_of_their_epoch():
    from backends.jax_native.model import SNAPSHOT_NAMES, snapshot_weights

    scenario, data = resolve("one_char", epochs=3)
    got: dict[str, list] = {"idiomatic": [], "fast": []}
    final = {}
    for execution, taken in got.items():
        request = SnapshotRequest(frozenset({1, 3}), taken.append)
        final[execution] = train(execution, scenario, data, plans(scenario, data), snapshots=request)
    assert [(s.epoch, s.seeds) for s in got["idiomatic"]] == [(1, (1,)), (3, (1,)), (1, (2,)), (3, (2,))]
    assert [(s.epoch, s.seeds) for s in got["fast"]] == [(1, (1, 2)), (3, (1, 2))]
    for row, result in enumerate(final["fast"]):
        last = snapshot_weights({k: w[None] for k, w in result.predictor.weights().items()})
        for name in SNAPSHOT_NAMES.values():
            np.testing.assert_array_equal(got["fast"][1].weights[name][row], last[name][0])
            np.testing.assert_allclose(got["fast"][0].weights[name][row],
                                       got["idiomatic"][2 * row].weights[name][0], atol=WEIGHT_ATOL)
    assert got["fast"][0].weights["w_ih"].shape == (2, 4 * scenario.units, 1)


def test_init_styles_load_each_frameworks_defaults():
    from backends.initializers import keras_style, torch_style
    from backends.jax_native.model import build_model, get_weights
    from backends.weights import torch_to_keras

    for init, expected in (("keras", keras_style), ("torch", lambda *a: torch_to_keras(torch_style(*a)))):
        scenario, _ = resolve("one_char", init=init)
        weights = get_weights(build_model(scenario, 5))
        want = expected(1, scenario.units, scenario.n_classes, 5)
        assert set(weights) == set(want)
        for name, w in weights.items():
            np.testing.assert_array_equal(w, want[name], err_msg=f"{init} {name}")
    scenario, _ = resolve("one_char")
    native = get_weights(build_model(scenario, 5))
    assert not native["lstm/bias"].any() and not native["dense/bias"].any()  # Flax's zero biases
    assert all(np.array_equal(native[k], v) for k, v in get_weights(build_model(scenario, 5)).items())
    assert not np.array_equal(native["dense/kernel"], get_weights(build_model(scenario, 6))["dense/kernel"])


def test_keras_names_are_the_flax_parameters():
    """NNX_PATHS names every parameter of the module once, and each holds the array weights() shows."""
    from flax import nnx

    from backends.jax_native.model import NNX_PATHS, build_model, get_weights

    scenario, _ = resolve("feature_window")
    model = build_model(scenario, 0)
    flat = {".".join(map(str, path)): np.asarray(v.get_value())
            for path, v in nnx.to_flat_state(nnx.state(model, nnx.Param))}
    assert sorted(flat) == sorted(NNX_PATHS.values())
    for keras, w in get_weights(model).items():
        np.testing.assert_array_equal(w, flat[NNX_PATHS[keras]])
    assert get_weights(model)["lstm/kernel"].shape == (3, 4 * scenario.units)  # (in, out): Keras's


def test_adam_is_optax_default_with_the_runs_epsilon():
    import inspect

    import jax.numpy as jnp
    import optax

    from backends.jax_native.model import optimizer

    defaults = inspect.signature(optax.adam).parameters
    assert (defaults["b1"].default, defaults["b2"].default) == ADAM_BETAS
    assert defaults["eps"].default == NATIVE_ADAM_EPS["jax"]
    for eps in (None, 1e-3):
        tx = optimizer(0.1, eps)
        params, grads = {"w": jnp.ones(2)}, {"w": jnp.asarray([0.01, -0.02])}
        updates, _ = tx.update(grads, tx.init(params), params)
        used = NATIVE_ADAM_EPS["jax"] if eps is None else eps  # first step: m̂ = g, v̂ = g²
        want = -0.1 * np.array([0.01, -0.02]) / (np.array([0.01, 0.02]) + used)
        np.testing.assert_allclose(updates["w"], want, rtol=1e-4)  # float32 bias corrections: ~7e-6


def test_setup_records_its_knobs_and_refuses_what_it_cannot_do():
    from backends.jax_native.backend import JaxBackend, gpu_count

    backend = JaxBackend()
    knobs = backend.setup(RuntimeConfig(threads=1, execution="fast"))
    assert knobs["fast_path"] == "xla-scan-vmap" and knobs["adam_eps_default"] == 1e-8
    assert knobs["x64"] is False and knobs["jax_platform"] == "cpu" and knobs["device"] == "cpu"
    assert set(backend.versions()) == {"jax", "jaxlib", "flax", "optax"}
    with pytest.raises(ValueError, match="valid choices: idiomatic, fast"):
        backend.setup(RuntimeConfig(execution="compiled"))
    if gpu_count() == 0:
        with pytest.raises(RuntimeError, match="JAX sees no GPU"):
            backend.setup(RuntimeConfig(device="cuda"))


def test_a_wrong_plan_is_refused_before_training():
    from backends.base import SeedPlan

    scenario, data = resolve("one_char")
    bad = [SeedPlan(seed=0, init_seed=0, orders=np.zeros((3, data.n_samples), dtype=np.int64))]
    for execution in ("idiomatic", "fast"):
        with pytest.raises(ValueError, match="orders shape"):
            train(execution, scenario, data, bad)

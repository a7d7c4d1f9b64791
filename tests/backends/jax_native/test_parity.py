"""The Flax model computes the tutorial's LSTM: its weights, mapped to the framework-free layout,
predict in `backends.reference` what the JAX predictor predicts, and Keras's or PyTorch's
weights loaded into it predict what those frameworks' models do.

So a gap between JAX's results and the others' comes from training, not from the model.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends.reference import StackedLSTM
from backends.weights import KERAS_NAMES, keras_to_torch, torch_to_keras
from scenarios import scenario_ids
from tests.backends.jax_native import jax_marks, plans, resolve, train

pytestmark = jax_marks()

PREDICT_ATOL = 2e-6  # float32 Flax vs the float64 reference (as tests/backends/test_reference.py)


def _snapshot(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from backends.jax_native.model import snapshot_weights

    return snapshot_weights({name: w[None] for name, w in weights.items()})


def _framework_predictions(predictor, x: np.ndarray, stateful: bool) -> np.ndarray:
    if not stateful:
        return predictor.predict_proba(x)
    predictor.reset_state()
    return np.stack([predictor.step(x[i : i + 1]) for i in range(len(x))])


@pytest.mark.parametrize(("scenario_id", "gate"), [
    *((s, "sigmoid") for s in scenario_ids()),
    *((s, "hard_sigmoid_2017") for s in ("timestep_window", "stateful")),
])
def test_trained_weights_predict_as_the_reference(scenario_id, gate):
    scenario, data = resolve(scenario_id, epochs=1, gate_activation=gate)
    (result,) = train("idiomatic", scenario, data, plans(scenario, data, seeds=(3,)))  # 1 epoch: not the init
    stateful = scenario.spec.stateful
    reference = StackedLSTM(_snapshot(result.predictor.weights()), gate)
    ours = _framework_predictions(result.predictor, data.x, stateful)
    np.testing.assert_allclose(ours, reference.predict_training_set(data.x, stateful)[0], atol=PREDICT_ATOL)
    if not stateful:  # a batch from zeros is each sample from zeros
        np.testing.assert_allclose(result.predictor.predict_proba(data.x[:1])[0], ours[0], atol=1e-7)


def test_keras_weights_load_unchanged_and_predict_as_the_reference():
    """The Flax parameters are Keras's arrays: set and read back exactly, they predict as the
    reference predicts from their PyTorch mapping."""
    from backends.jax_native.model import JaxPredictor, build_model

    scenario, data = resolve("timestep_window")
    rng = np.random.default_rng(0)
    predictor = JaxPredictor(build_model(scenario, 0), stateful=False)
    keras = {name: rng.normal(scale=0.5, size=w.shape).astype(np.float32)
             for name, w in predictor.weights().items()}
    assert set(keras) == set(KERAS_NAMES)
    predictor.set_weights(keras)
    for name, w in predictor.weights().items():
        np.testing.assert_array_equal(w, keras[name])
    t = keras_to_torch(keras)
    reference = StackedLSTM({
        "w_ih": t["lstm.weight_ih_l0"][None], "w_hh": t["lstm.weight_hh_l0"][None],
        "b": (t["lstm.bias_ih_l0"] + t["lstm.bias_hh_l0"])[None],
        "w_out": t["head.weight"][None], "b_out": t["head.bias"][None]})
    np.testing.assert_allclose(predictor.predict_proba(data.x), reference.run(data.x)[0][0],
                               atol=PREDICT_ATOL)
    with pytest.raises(ValueError, match="weight names"):
        predictor.set_weights({"lstm/kernel": keras["lstm/kernel"]})


@pytest.mark.parametrize("scenario_id", ["one_char", "stateful"])
def test_torch_init_predicts_as_pytorch_from_the_same_draws(scenario_id):
    """`--init torch` starts the Flax model at the function a PyTorch model with those weights
    (`initializers.torch_style`, two biases) computes: one bias, the two summed."""
    pytest.importorskip("torch")
    from backends.initializers import torch_style
    from backends.jax_native.model import JaxPredictor
    from backends.jax_native.model import build_model as build_jax
    from backends.pytorch.backend import TorchPredictor
    from backends.pytorch.backend import build_model as build_torch

    scenario, data = resolve(scenario_id, init="torch")
    stateful = scenario.spec.stateful
    jax_pred = JaxPredictor(build_jax(scenario, 11), stateful)
    torch_pred = TorchPredictor(build_torch(scenario, 0), stateful)
    torch_pred.set_weights(torch_style(scenario.spec.features, scenario.units, scenario.n_classes, 11))
    mapped = torch_to_keras(torch_pred.weights())
    for name, w in jax_pred.weights().items():
        np.testing.assert_array_equal(w, mapped[name])
    np.testing.assert_allclose(_framework_predictions(jax_pred, data.x, stateful),
                               _framework_predictions(torch_pred, data.x, stateful), atol=1e-5)

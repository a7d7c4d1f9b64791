"""The numpy reference forward pass predicts what each framework's own predictor predicts.

Anytime evaluation scores snapshots with it, so its probabilities must match the Keras and
PyTorch models it stands for, on every kind of scenario and both gate activations.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends import RuntimeConfig, load_backend
from backends.reference import StackedLSTM
from backends.weights import to_snapshot
from harness.runs.seeds import make_plan
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario
from tests.conftest import backend_param


def _trained(backend_name: str, scenario: ResolvedScenario):
    backend = load_backend(backend_name)
    backend.setup(RuntimeConfig(execution="idiomatic"))
    data = build_data(scenario)
    plan = make_plan(3, data.n_samples, scenario.epochs, scenario.spec.shuffle)
    (trained,) = backend.train(scenario, data, [plan], lambda n: None)
    return data, trained.predictor, to_snapshot(trained.predictor.weights())  # Keras's or torch's layout


@pytest.mark.parametrize("backend_name", [backend_param("torch"), backend_param("keras")])
@pytest.mark.parametrize(("scenario_id", "gate"), [
    ("one_char", "sigmoid"), ("timestep_window", "hard_sigmoid_2017"), ("stateful", "sigmoid"),
    ("variable_length", "sigmoid"),
])
def test_reference_matches_the_framework(backend_name: str, scenario_id: str, gate: str) -> None:
    scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=2, gate_activation=gate))
    data, predictor, weights = _trained(backend_name, scenario)
    model = StackedLSTM(weights, gate)
    stateful = scenario.spec.stateful
    ours = model.predict_training_set(data.x, stateful)[0]
    if stateful:
        predictor.reset_state()
        theirs = np.stack([predictor.step(data.x[i : i + 1]) for i in range(data.n_samples)])
    else:
        theirs = predictor.predict_proba(data.x)
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    # The per-seed view steps (and carries state, when stateful) as the framework's does.
    view = model.predictor(0, stateful)
    view.reset_state()
    predictor.reset_state()
    for i in range(3):
        np.testing.assert_allclose(view.step(data.x[i : i + 1]), predictor.step(data.x[i : i + 1]), atol=2e-6)


def test_stacked_rows_are_independent_models() -> None:
    rng = np.random.default_rng(0)
    s, u, f, c = 3, 4, 1, 5
    weights = {"w_ih": rng.normal(size=(s, 4 * u, f)), "w_hh": rng.normal(size=(s, 4 * u, u)),
               "b": rng.normal(size=(s, 4 * u)), "w_out": rng.normal(size=(s, c, u)),
               "b_out": rng.normal(size=(s, c))}
    x = rng.normal(size=(6, 2, f))
    together = StackedLSTM(weights).run(x)[0]
    for row in range(s):
        alone = StackedLSTM({k: v[row : row + 1] for k, v in weights.items()}).run(x)[0][0]
        np.testing.assert_allclose(together[row], alone, rtol=1e-12)
    assert np.allclose(together.sum(axis=-1), 1.0)


def test_refuses_wrong_weights_and_gates() -> None:
    with pytest.raises(ValueError, match="expected"):
        StackedLSTM({"w_ih": np.zeros((1, 4, 1))})
    rng = np.random.default_rng(0)
    weights = {"w_ih": rng.normal(size=(1, 4, 1)), "w_hh": rng.normal(size=(1, 4, 1)), "b": np.zeros((1, 4)),
               "w_out": rng.normal(size=(1, 2, 1)), "b_out": np.zeros((1, 2))}
    with pytest.raises(ValueError, match="valid choices: sigmoid, hard_sigmoid_2017"):
        StackedLSTM(weights, "relu")


def test_to_snapshot_reads_keras_torch_and_snapshot_layouts() -> None:
    """The one mapping the reference, the snapshot tests and the conformance kit read weights by."""
    from backends.base import SNAPSHOT_SHAPES
    from backends.weights import torch_to_keras

    rng = np.random.default_rng(0)
    u, f, c = 4, 3, 5
    shapes = {"lstm.weight_ih_l0": (4 * u, f), "lstm.weight_hh_l0": (4 * u, u), "lstm.bias_ih_l0": (4 * u,),
              "lstm.bias_hh_l0": (4 * u,), "head.weight": (c, u), "head.bias": (c,)}
    torch_w = {name: rng.normal(size=shape) for name, shape in shapes.items()}
    torch_w = {k: v.astype(np.float32) for k, v in torch_w.items()}
    ours = to_snapshot(torch_w)
    assert {k: v.shape for k, v in ours.items()} == {"w_ih": (1, 4 * u, f), "w_hh": (1, 4 * u, u),
                                                     "b": (1, 4 * u), "w_out": (1, c, u), "b_out": (1, c)}
    np.testing.assert_array_equal(ours["b"][0], torch_w["lstm.bias_ih_l0"] + torch_w["lstm.bias_hh_l0"])
    for name, again in to_snapshot(torch_to_keras(torch_w)).items():  # the bias summed either way
        np.testing.assert_array_equal(again, ours[name], err_msg=name)
    unstacked = {name: ours[name][0] for name in SNAPSHOT_SHAPES}
    for name, again in to_snapshot(unstacked).items():
        np.testing.assert_array_equal(again, ours[name], err_msg=name)
    with pytest.raises(ValueError, match="no known layout"):
        to_snapshot({"kernel": np.zeros(1)})

"""Cross-framework weight transfer: a Keras model and its PyTorch twin compute the same thing.

If Keras-trained weights, mapped by `backends.weights`, give the same predictions in PyTorch
(and back), then any gap between the frameworks' results comes from training, not from the
model definitions. The last tests pin down where training itself differs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from backends import RuntimeConfig, SeedPlan, load_backend
from backends.weights import KERAS_NAMES, TORCH_NAMES, keras_to_torch, torch_to_keras
from scenarios import (
    GATE_ACTIVATIONS,
    ResolvedScenario,
    ScenarioOptions,
    build_data,
    get_scenario,
    scenario_ids,
)

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("keras")

PREDICT_ATOL = 1e-5  # float32 forward passes in two frameworks; measured max ~5e-8
TRAIN_ATOL = 1e-6  # weights after 5-25 matched Adam updates; measured max ~4e-7


@pytest.fixture(scope="module")
def keras_backend():
    b = load_backend("keras")
    b.setup(RuntimeConfig(threads=1))
    return b


@pytest.fixture(scope="module")
def torch_backend():
    b = load_backend("torch")
    b.setup(RuntimeConfig(threads=1))
    return b


def _resolve(scenario_id: str, epochs: int = 1, **options) -> tuple[ResolvedScenario, object]:
    scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=epochs, **options))
    return scenario, build_data(scenario)


def _plan(scenario: ResolvedScenario, n: int, init_seed: int = 7) -> SeedPlan:
    rng = np.random.default_rng(0)
    orders = [rng.permutation(n) if scenario.spec.shuffle else np.arange(n) for _ in range(scenario.epochs)]
    return SeedPlan(seed=0, init_seed=init_seed, orders=np.stack(orders))


def _train_one(backend, scenario, data, init_seed: int = 7):
    (result,) = backend.train(scenario, data, [_plan(scenario, data.n_samples, init_seed)], lambda _: None)
    return result


def _torch_predictor(scenario: ResolvedScenario):
    """An untrained torch model for the scenario: enough to load weights into."""
    from backends.pytorch.backend import TorchPredictor, build_model

    return TorchPredictor(build_model(scenario, 0), scenario.spec.stateful)


def _carried_steps(predictor, x: np.ndarray) -> np.ndarray:
    """Stateful: one step per pattern from a reset state, the state carried throughout."""
    predictor.reset_state()
    return np.stack([predictor.step(x[i : i + 1]) for i in range(x.shape[0])])


def _random_keras(rng: np.random.Generator, f: int = 3, h: int = 4, c: int = 5) -> dict[str, np.ndarray]:
    shapes = {"lstm/kernel": (f, 4 * h), "lstm/recurrent_kernel": (h, 4 * h), "lstm/bias": (4 * h,),
              "dense/kernel": (h, c), "dense/bias": (c,)}
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}


def test_mapping_layouts_and_round_trip_are_exact():
    kw = _random_keras(np.random.default_rng(0))
    tw = keras_to_torch(kw)
    assert set(tw) == set(TORCH_NAMES)
    assert tw["lstm.weight_ih_l0"].shape == (16, 3) and tw["lstm.weight_hh_l0"].shape == (16, 4)
    assert tw["head.weight"].shape == (5, 4)
    assert np.array_equal(tw["lstm.bias_ih_l0"], kw["lstm/bias"]) and not tw["lstm.bias_hh_l0"].any()
    back = torch_to_keras(tw)
    assert set(back) == set(KERAS_NAMES)
    for name in KERAS_NAMES:
        assert back[name].dtype == np.float32 and np.array_equal(back[name], kw[name]), name


def test_torch_to_keras_sums_the_two_biases():
    tw = keras_to_torch(_random_keras(np.random.default_rng(1)))
    tw["lstm.bias_hh_l0"] = np.full_like(tw["lstm.bias_hh_l0"], 0.25)
    kw = torch_to_keras(tw)
    np.testing.assert_array_equal(kw["lstm/bias"], tw["lstm.bias_ih_l0"] + np.float32(0.25))
    again = keras_to_torch(kw)  # the split is not recoverable; the sum, and all else, is
    np.testing.assert_array_equal(again["lstm.bias_ih_l0"] + again["lstm.bias_hh_l0"], kw["lstm/bias"])
    for name in ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "head.weight", "head.bias"):
        assert np.array_equal(again[name], tw[name]), name


def test_mapping_refuses_wrong_names():
    kw = _random_keras(np.random.default_rng(2))
    with pytest.raises(ValueError, match="keras weights"):
        keras_to_torch({**kw, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match="torch weights"):
        torch_to_keras(kw)


def test_trained_keras_weights_round_trip_exactly(keras_backend):
    scenario, data = _resolve("one_char")
    kw = _train_one(keras_backend, scenario, data).predictor.weights()
    back = torch_to_keras(keras_to_torch(kw))
    for name in KERAS_NAMES:
        assert np.array_equal(back[name], kw[name]), name


@pytest.mark.parametrize("gate", GATE_ACTIVATIONS)
@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_keras_weights_predict_the_same_in_torch(keras_backend, scenario_id, gate):
    """Also with Keras 2's hard-sigmoid gates: Keras's stock LSTM with a custom recurrent
    activation and PyTorch's custom cell compute the same function."""
    scenario, data = _resolve(scenario_id, gate_activation=gate)
    keras_pred = _train_one(keras_backend, scenario, data).predictor  # 1 epoch: not the init
    torch_pred = _torch_predictor(scenario)
    torch_pred.set_weights(keras_to_torch(keras_pred.weights()))
    np.testing.assert_allclose(
        torch_pred.predict_proba(data.x), keras_pred.predict_proba(data.x), rtol=0, atol=PREDICT_ATOL
    )
    if scenario.spec.stateful:
        np.testing.assert_allclose(
            _carried_steps(torch_pred, data.x), _carried_steps(keras_pred, data.x),
            rtol=0, atol=PREDICT_ATOL,
        )


@pytest.mark.parametrize("scenario_id", ["one_char", "stateful"])
def test_torch_weights_predict_the_same_in_keras(keras_backend, torch_backend, scenario_id):
    scenario, data = _resolve(scenario_id)
    torch_pred = _train_one(torch_backend, scenario, data).predictor
    keras_pred = _train_one(keras_backend, scenario, data, init_seed=99).predictor  # overwritten
    keras_pred.set_weights(torch_to_keras(torch_pred.weights()))
    np.testing.assert_allclose(
        keras_pred.predict_proba(data.x), torch_pred.predict_proba(data.x), rtol=0, atol=PREDICT_ATOL
    )
    if scenario.spec.stateful:
        np.testing.assert_allclose(
            _carried_steps(keras_pred, data.x), _carried_steps(torch_pred, data.x),
            rtol=0, atol=PREDICT_ATOL,
        )


def _train_both_from(monkeypatch, keras_backend, torch_backend, scenario, data, freeze_bias_hh: bool):
    """Train each backend's own loop from the same Keras init; return both results' Keras weights.

    Only the test's model builders and torch's Adam are patched, never the training loops:
    torch's Adam gets Keras's epsilon in Keras's form. Keras adds eps to sqrt(v_t) before the
    sqrt(1 - beta2^t) bias correction, torch after it, so the matching torch eps is
    eps / sqrt(1 - beta2^t), which changes every step.
    """
    import torch

    from backends.keras3 import backend as kb
    from backends.pytorch import backend as tb

    init = kb.KerasPredictor(kb.KerasBackend._build(scenario, data, 7), False).weights()
    build_keras, build_torch = kb.KerasBackend._build, tb.build_model

    def keras_from_init(scenario, data, init_seed):
        model = build_keras(scenario, data, init_seed)
        kb.KerasPredictor(model, scenario.spec.stateful).set_weights(init)
        return model

    def torch_from_init(scenario, init_seed):
        model = build_torch(scenario, init_seed)
        tb.TorchPredictor(model, scenario.spec.stateful).set_weights(keras_to_torch(init))
        model.lstm.bias_hh_l0.requires_grad_(not freeze_bias_hh)
        return model

    class KerasEpsilonAdam(torch.optim.Adam):
        def __init__(self, params, lr: float, keras_eps: float = 1e-7) -> None:
            super().__init__(params, lr=lr, eps=keras_eps)
            self._keras_eps, self._t = keras_eps, 0

        def step(self, closure=None):
            self._t += 1
            for group in self.param_groups:
                group["eps"] = self._keras_eps / math.sqrt(1 - group["betas"][1] ** self._t)
            return super().step(closure)

    monkeypatch.setattr(kb.KerasBackend, "_build", staticmethod(keras_from_init))
    monkeypatch.setattr(tb, "build_model", torch_from_init)
    monkeypatch.setattr(torch.optim, "Adam", KerasEpsilonAdam)
    keras_w = _train_one(keras_backend, scenario, data).predictor.weights()
    torch_w = torch_to_keras(_train_one(torch_backend, scenario, data).predictor.weights())
    return init, keras_w, torch_w


@pytest.mark.parametrize(("scenario_id", "epochs", "gate"), [
    ("batch_state", 5, "sigmoid"), ("one_char", 1, "sigmoid"), ("one_char", 1, "hard_sigmoid_2017"),
])
def test_training_agrees_once_torch_has_one_lstm_bias(
    monkeypatch, keras_backend, torch_backend, scenario_id, epochs, gate
):
    """5 full-batch (batch_state) or 25 batch-1 (one_char) updates from the same weights."""
    scenario, data = _resolve(scenario_id, epochs, gate_activation=gate)
    init, keras_w, torch_w = _train_both_from(
        monkeypatch, keras_backend, torch_backend, scenario, data, freeze_bias_hh=True
    )
    assert not np.allclose(keras_w["dense/kernel"], init["dense/kernel"], atol=1e-4)  # it did train
    for name in KERAS_NAMES:
        np.testing.assert_allclose(torch_w[name], keras_w[name], rtol=0, atol=TRAIN_ATOL, err_msg=name)


def test_torch_two_biases_double_the_lstm_bias_step(monkeypatch, keras_backend, torch_backend):
    """Why training differs as built: both torch biases get the same gradient and each gets
    its own Adam step, so the effective LSTM bias moves ~2x as far as Keras's single bias."""
    scenario, data = _resolve("batch_state", 1)  # one full-batch update
    init, keras_w, torch_w = _train_both_from(
        monkeypatch, keras_backend, torch_backend, scenario, data, freeze_bias_hh=False
    )
    keras_step = keras_w["lstm/bias"] - init["lstm/bias"]
    torch_step = torch_w["lstm/bias"] - init["lstm/bias"]
    np.testing.assert_allclose(torch_step, 2 * keras_step, rtol=0, atol=TRAIN_ATOL)
    for name in ("lstm/kernel", "dense/kernel", "dense/bias"):  # the first step is otherwise equal
        np.testing.assert_allclose(torch_w[name], keras_w[name], rtol=0, atol=TRAIN_ATOL, err_msg=name)


def test_weights_module_imports_no_framework():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, backends.weights; print(sorted({'torch', 'tensorflow', 'keras'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"

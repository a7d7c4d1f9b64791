"""The Keras (TensorFlow) backend's ablation options, in both executions, and its device option.

--adam-eps and --gate-activation change the model both executions train (the fast program
reads the idiomatic model's optimizer and is compiled per gate activation), so each option
is checked as in tests/backends/keras3/test_fast.py: fast and idiomatic train the same weights within
float32 rounding, and the option really changes the outcome. hard_sigmoid_2017 is checked
against a numpy Keras-2 LSTM cell. --device cuda must fail clearly where TensorFlow sees no GPU.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from backends import RuntimeConfig, SeedPlan, load_backend
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

ATOL = 1e-5  # weights and probabilities, fast vs idiomatic (see tests/backends/keras3/test_fast.py)
LOSS_RTOL = 1e-5
CELL_ATOL = 1e-5  # float32 Keras LSTM vs the float64 numpy cell


@pytest.fixture(scope="module")
def backend():
    return load_backend("keras")


def _scenario(scenario_id: str, epochs: int, **options) -> ResolvedScenario:
    return ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=epochs, **options))


def _train(backend, execution: str, scenario: ResolvedScenario):
    backend.setup(RuntimeConfig(threads=1, execution=execution))
    data = build_data(scenario)
    rng = np.random.default_rng(3)
    orders = np.stack([rng.permutation(data.n_samples) for _ in range(scenario.epochs)])
    plan = SeedPlan(seed=3, init_seed=321, orders=orders)
    (trained,) = backend.train(scenario, data, [plan], lambda n: None)
    return trained, data


def _assert_executions_agree(backend, scenario: ResolvedScenario):
    """Train both executions; assert the same model within rounding; return the idiomatic one."""
    slow, data = _train(backend, "idiomatic", scenario)
    fast, _ = _train(backend, "fast", scenario)
    assert fast.updates == slow.updates
    fw, sw = fast.predictor.weights(), slow.predictor.weights()
    for name in sw:
        np.testing.assert_allclose(fw[name], sw[name], rtol=0, atol=ATOL, err_msg=name)
    np.testing.assert_allclose(fast.predictor.predict_proba(data.x), slow.predictor.predict_proba(data.x),
                               rtol=0, atol=ATOL)
    np.testing.assert_allclose(fast.epoch_loss, slow.epoch_loss, rtol=LOSS_RTOL)
    return slow


def _max_weight_change(a, b) -> float:
    wa, wb = a.predictor.weights(), b.predictor.weights()
    return max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)


def test_adam_epsilon_in_both_executions(backend):
    large = _assert_executions_agree(backend, _scenario("one_char", 3, adam_eps=1e-3))
    assert float(large.predictor.model.optimizer.epsilon) == pytest.approx(1e-3)
    default, _ = _train(backend, "idiomatic", _scenario("one_char", 3))
    assert float(default.predictor.model.optimizer.epsilon) == pytest.approx(1e-7)
    assert _max_weight_change(large, default) > 1e-4  # 75 updates with a 1e-3 epsilon: not the same


def test_idiomatic_adam_betas_are_the_shared_ones(backend):
    """The idiomatic model leaves Adam's betas at Keras's default, which must be ADAM_BETAS (torch's)."""
    from backends.base import ADAM_BETAS
    from backends.keras3.backend import KerasBackend

    backend.setup(RuntimeConfig(threads=1))
    scenario = _scenario("one_char", 1)
    optimizer = KerasBackend._build(scenario, build_data(scenario), 1).optimizer
    assert (float(optimizer.beta_1), float(optimizer.beta_2)) == ADAM_BETAS


def _keras2_lstm(x: np.ndarray, kernel, recurrent, bias, gate) -> np.ndarray:
    """Keras 2's LSTM (gates i, f, c, o; `gate` on i, f, o; tanh on c and output), float64."""
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        zi, zf, zc, zo = (z[:, k * units : (k + 1) * units] for k in range(4))
        c = gate(zf) * c + gate(zi) * np.tanh(zc)
        h = gate(zo) * np.tanh(c)
    return h


def test_hard_sigmoid_2017_is_the_keras2_cell(backend):
    from backends.keras3.model import build_model, named_variables

    backend.setup(RuntimeConfig(threads=1))
    scenario = _scenario("timestep_window", 1, gate_activation="hard_sigmoid_2017")
    model = build_model(scenario, build_data(scenario), init_seed=1)
    rng = np.random.default_rng(0)
    for var in named_variables(model).values():  # big enough that many gates saturate at 0 or 1
        var.assign(rng.normal(0.0, 1.0, size=var.shape).astype(np.float32))
    weights = {k: np.asarray(v.numpy(), dtype=np.float64) for k, v in named_variables(model).items()}
    x = rng.normal(0.0, 2.0, size=(8, 3, 1)).astype(np.float32)
    lstm_args = (x.astype(np.float64), weights["lstm/kernel"], weights["lstm/recurrent_kernel"],
                 weights["lstm/bias"])

    def hard_2017(z):
        return np.clip(0.2 * z + 0.5, 0.0, 1.0)

    expected = _keras2_lstm(*lstm_args, hard_2017)
    np.testing.assert_allclose(np.asarray(model.layers[0](x)), expected, rtol=0, atol=CELL_ATOL)
    sigmoid = _keras2_lstm(*lstm_args, lambda z: 1 / (1 + np.exp(-z)))
    keras3_hard = _keras2_lstm(*lstm_args, lambda z: np.clip(z + 3.0, 0.0, 6.0) / 6.0)
    assert np.abs(expected - sigmoid).max() > 1e-2 and np.abs(expected - keras3_hard).max() > 1e-2


@pytest.mark.parametrize("scenario_id", ["timestep_window", "stateful"])
def test_hard_sigmoid_2017_in_both_executions(backend, scenario_id):
    hard = _assert_executions_agree(backend, _scenario(scenario_id, 2, gate_activation="hard_sigmoid_2017"))
    sigmoid, _ = _train(backend, "idiomatic", _scenario(scenario_id, 2))
    # Near the init both gates are ~0.5, so outputs stay close; the trained weights do not.
    assert _max_weight_change(hard, sigmoid) > 1e-4


def test_fast_program_is_cached_per_gate_and_checks_the_model(backend):
    from backends.keras3 import fast
    from backends.keras3.backend import KerasBackend, KerasPredictor
    from backends.keras3.program import compiled_program

    assert compiled_program(False, True, "sigmoid") is not compiled_program(
        False, True, "hard_sigmoid_2017")
    scenario = _scenario("one_char", 1)
    data = build_data(scenario)
    predictor = KerasPredictor(KerasBackend._build(scenario, data, 1), False)  # sigmoid gates
    plan = SeedPlan(seed=0, init_seed=1, orders=np.arange(data.n_samples)[None])
    hard = _scenario("one_char", 1, gate_activation="hard_sigmoid_2017")
    with pytest.raises(ValueError, match="gate"):
        list(fast.train_plans(hard, data, [plan], [predictor], lambda n: None))


def test_device_is_recorded_and_cuda_without_gpu_is_refused(backend):
    from backends.keras3.backend import gpu_count

    knobs = backend.setup(RuntimeConfig(threads=1))
    assert knobs["device"] == "cpu" and "tf32" not in knobs
    if gpu_count() > 0:
        pytest.skip("TensorFlow sees a GPU here: the no-GPU refusal cannot be exercised")
    with pytest.raises(RuntimeError, match="--device cuda: TensorFlow sees no GPU"):
        backend.setup(RuntimeConfig(threads=1, device="cuda"))
    assert backend.setup(RuntimeConfig(threads=1))["device"] == "cpu"  # still usable on the CPU
    with pytest.raises(ValueError, match="unsupported device"):
        backend.setup(replace(RuntimeConfig(threads=1), device="tpu"))

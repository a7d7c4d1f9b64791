"""The torch ablations: --adam-eps, --gate-activation hard_sigmoid_2017 and --device, in both executions."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from backends import RuntimeConfig, SeedTraining, load_backend
from tests.backends.pytorch.test_backend import make_plan, resolve, train

torch = pytest.importorskip("torch")
# torch's own compiler stack imports a deprecated torch.jit API; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

# As in test_fast_torch: the two executions agree up to float summation order.
ATOL = 1e-4
LOSS_RTOL = 1e-4
HARD = "hard_sigmoid_2017"
SIGMOID_NAMES = ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
                 "head.weight", "head.bias"]


@cache
def backend_for(execution: str, path: str | None = None):
    """One instance per execution (and fast path); path "eager-stacked" forces the fallback."""
    backend = load_backend("torch")
    knobs = backend.setup(RuntimeConfig(threads=1, execution=execution))
    if path is not None:
        knobs["fast_path"] = path  # the live knobs decide whether train() compiles
    return backend


@cache
def run(execution: str, scenario_id: str, epochs: int, path: str | None = None, **options) -> SeedTraining:
    """One seed (init seed 100), cached: compiled shapes cost seconds, so tests share runs."""
    scenario, data = resolve(scenario_id, epochs, **options)
    plan = make_plan(scenario, data.n_samples, seed=0, init_seed=100, order_seed=0)
    (trained,) = train(backend_for(execution, path), scenario, data, [plan])
    return trained


def max_weight_diff(a: SeedTraining, b: SeedTraining) -> float:
    wa, wb = a.predictor.weights(), b.predictor.weights()
    assert wa.keys() == wb.keys()
    return max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)


def assert_same_training(a: SeedTraining, b: SeedTraining, scenario_id: str) -> float:
    """test_fast_torch's criteria; returns the largest weight difference, for the record."""
    _, data = resolve(scenario_id, 1)
    diff = max_weight_diff(a, b)
    assert diff <= ATOL
    pa, pb = a.predictor.predict_proba(data.x), b.predictor.predict_proba(data.x)
    assert np.array_equal(pa.argmax(axis=1), pb.argmax(axis=1))
    np.testing.assert_allclose(a.epoch_loss, b.epoch_loss, rtol=LOSS_RTOL)
    assert a.epoch_accuracy == b.epoch_accuracy and a.updates == b.updates
    return diff


# --- the gate activation -------------------------------------------------------------------


def _numpy_lstm(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """Keras 2's LSTM in PyTorch's layout: hard-sigmoid i, f, o; tanh g and output."""
    def hard(z):
        return np.clip(0.2 * z + 0.5, 0.0, 1.0)

    outs, clipped = [], 0
    for t in range(x.shape[1]):
        gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = np.split(gates, 4, axis=-1)
        clipped += int((np.abs(np.concatenate([i, f, o], -1)) > 2.5).sum())
        c = hard(f) * c + hard(i) * np.tanh(g)
        h = hard(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1), h, c, clipped


def test_gate_lstm_matches_a_numpy_reference():
    from backends.pytorch.cells import gate_lstm_class

    torch.manual_seed(0)
    cell = gate_lstm_class()(3, 5, HARD)  # float32, as trained; the reference runs in float64
    with torch.no_grad():
        for p in cell.parameters():
            p.mul_(6)  # push pre-activations past +-2.5, into both clipped ends
    gen = np.random.default_rng(0)
    x, h0, c0 = (gen.normal(size=shape).astype(np.float32) for shape in ((2, 4, 3), (2, 5), (2, 5)))
    with torch.no_grad():
        out, (h_n, c_n) = cell(torch.from_numpy(x), (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
    w = [p.detach().numpy().astype(np.float64) for p in cell.parameters()]  # w_ih, w_hh, b_ih, b_hh
    ref_out, ref_h, ref_c, clipped = _numpy_lstm(*(a.astype(np.float64) for a in (x, h0, c0)), *w)
    assert clipped > 0  # the clip is exercised, not only the linear part
    assert h_n.shape == c_n.shape == (1, 2, 5) and out.shape == (2, 4, 5)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=0, atol=1e-5)
    np.testing.assert_allclose(h_n[0].numpy(), ref_h, rtol=0, atol=1e-5)
    np.testing.assert_allclose(c_n[0].numpy(), ref_c, rtol=0, atol=1e-5)


def test_gate_lstm_with_sigmoid_is_nn_lstm():
    """The loop itself is nn.LSTM's computation: with sigmoid gates both agree, state zero or not."""
    from backends.pytorch.cells import gate_lstm_class

    torch.manual_seed(1)
    reference = torch.nn.LSTM(3, 5, batch_first=True)
    torch.manual_seed(1)
    cell = gate_lstm_class()(3, 5, "sigmoid")
    x = torch.randn(2, 4, 3)
    state = (torch.randn(1, 2, 5), torch.randn(1, 2, 5))
    with torch.no_grad():
        for s in (None, state):
            (out_a, (h_a, c_a)), (out_b, (h_b, c_b)) = reference(x, s), cell(x, s)
            for a, b in ((out_a, out_b), (h_a, h_b), (c_a, c_b)):
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-6)


def test_hard_sigmoid_model_starts_from_nn_lstm_weights():
    from backends.pytorch.backend import build_model

    scenario, _ = resolve("stateful", 1)
    hard_scenario, _ = resolve("stateful", 1, gate_activation=HARD)
    native, hard = build_model(scenario, 42), build_model(hard_scenario, 42)
    assert isinstance(native.lstm, torch.nn.LSTM) and not isinstance(hard.lstm, torch.nn.LSTM)
    a, b = native.state_dict(), hard.state_dict()
    assert list(a) == list(b) == SIGMOID_NAMES
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.mark.parametrize("scenario_id", ["one_char", "stateful"])
def test_hard_sigmoid_fast_equals_idiomatic_and_differs_from_sigmoid(scenario_id):
    idiomatic = run("idiomatic", scenario_id, 3, gate_activation=HARD)
    fast = run("fast", scenario_id, 3, gate_activation=HARD)
    diff = assert_same_training(idiomatic, fast, scenario_id)
    path = backend_for("fast")._knobs["fast_path"]
    print(f"{scenario_id}: hard sigmoid, max |idiomatic - fast| weight = {diff:.2e} ({path})")
    # Adam's steps are ~lr whatever the gate, so 3 epochs move the weights apart only a little:
    # measured 6e-4 (one_char) and 4e-3 (stateful), against ~3e-8 between the executions.
    sigmoid = run("idiomatic", scenario_id, 3)
    assert max_weight_diff(idiomatic, sigmoid) > 5 * ATOL


@pytest.mark.parametrize(("scenario_id", "epochs"), [
    ("feature_window", 3), ("timestep_window", 3), ("variable_length", 1), ("batch_state", 5)])
def test_hard_sigmoid_fast_equals_idiomatic_on_the_other_scenarios(scenario_id, epochs):
    """The compiled update's hand-written hard-sigmoid slope, on every model shape."""
    idiomatic = run("idiomatic", scenario_id, epochs, gate_activation=HARD)
    fast = run("fast", scenario_id, epochs, gate_activation=HARD)
    assert_same_training(idiomatic, fast, scenario_id)
    assert backend_for("fast")._knobs["fast_path"] == "compiled"


def test_eager_fallback_honours_gate_and_eps():
    """The fast path without a compiler (torch.optim's functional Adam) gets both options too."""
    options = {"gate_activation": HARD, "adam_eps": 1e-3}
    eager = run("fast", "one_char", 2, "eager-stacked", **options)
    assert_same_training(run("idiomatic", "one_char", 2, **options), eager, "one_char")


def test_hard_sigmoid_predictor_carries_state():
    trained = run("idiomatic", "stateful", 3, gate_activation=HARD)
    _, data = resolve("stateful", 1)
    predictor = trained.predictor
    predictor.reset_state()
    first = predictor.step(data.x[:1])
    np.testing.assert_allclose(first, predictor.predict_proba(data.x[:1])[0], atol=1e-6)
    assert not np.allclose(predictor.step(data.x[:1]), first)  # the second step starts from carried state
    predictor.set_weights(predictor.weights())  # strict load: GateLSTM has nn.LSTM's names


def test_hard_sigmoid_composes_with_keras_init():
    from backends.initializers import initial_weights
    from backends.pytorch.backend import build_model

    scenario, _ = resolve("one_char", 1, gate_activation=HARD, init="keras")
    model = build_model(scenario, 5)
    spec = scenario.spec
    expected = initial_weights("keras", "torch", spec.features, spec.units, scenario.n_classes, 5)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), expected[name], err_msg=name)
    trained = run("idiomatic", "one_char", 1, gate_activation=HARD, init="keras")
    assert np.isfinite(trained.epoch_loss).all()
    assert max_weight_diff(trained, run("idiomatic", "one_char", 1, gate_activation=HARD)) > 10 * ATOL


# --- Adam epsilon --------------------------------------------------------------------------


def test_adam_eps_reaches_both_executions():
    """A large eps (1e-3 against gradients ~1e-2) visibly damps the steps; both runs agree on it,
    and the default-eps fast run after it shows no compiled program kept the other eps."""
    idiomatic = run("idiomatic", "one_char", 3, adam_eps=1e-3)
    fast = run("fast", "one_char", 3, adam_eps=1e-3)
    diff = assert_same_training(idiomatic, fast, "one_char")
    print(f"one_char: adam_eps=1e-3, max |idiomatic - fast| weight = {diff:.2e}")
    default_idiomatic, default_fast = run("idiomatic", "one_char", 3), run("fast", "one_char", 3)
    assert_same_training(default_idiomatic, default_fast, "one_char")
    assert max_weight_diff(idiomatic, default_idiomatic) > 10 * ATOL
    assert max_weight_diff(fast, default_fast) > 10 * ATOL


def test_explicit_torch_default_eps_changes_nothing():
    explicit, default = run("idiomatic", "one_char", 2, adam_eps=1e-8), run("idiomatic", "one_char", 2)
    assert max_weight_diff(explicit, default) == 0.0


def test_adam_schedule_carries_eps():
    from backends.pytorch.stacked import adam_schedule

    sched = adam_schedule(1e-3, 4, eps=1e-3)
    assert sched.shape == (4, 3) and torch.all(sched[:, 2] == torch.tensor(1e-3, dtype=torch.float32))
    assert torch.all(adam_schedule(1e-3, 2)[:, 2] == torch.tensor(1e-8, dtype=torch.float32))


def test_idiomatic_adam_betas_are_the_shared_ones():
    """The idiomatic loop leaves Adam's betas at torch's default, which the stacked Adam writes out."""
    from backends.base import ADAM_BETAS

    assert torch.optim.Adam([torch.zeros(1, requires_grad=True)]).defaults["betas"] == ADAM_BETAS


# --- device --------------------------------------------------------------------------------


def test_cuda_without_a_gpu_is_refused_clearly():
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the refusal cannot be observed here")
    from backends.pytorch.backend import gpu_count

    assert gpu_count() == 0
    backend = load_backend("torch")
    with pytest.raises(RuntimeError, match="--device cuda: PyTorch sees no GPU"):
        backend.setup(RuntimeConfig(threads=1, device="cuda"))


def test_cpu_knobs_name_the_device_and_unknown_devices_are_refused():
    backend = load_backend("torch")
    for execution in ("idiomatic", "fast"):
        knobs = backend.setup(RuntimeConfig(threads=1, execution=execution))
        assert knobs["device"] == "cpu" and "gpu_name" not in knobs and "tf32" not in knobs
    with pytest.raises(ValueError, match="valid choices: cpu, cuda"):
        backend.setup(RuntimeConfig(threads=1, device="tpu"))


def test_gpu_count_is_zero_when_torch_cannot_ask(monkeypatch):
    from backends.pytorch.backend import gpu_count

    def broken() -> int:
        raise RuntimeError("driver too old")

    monkeypatch.setattr(torch.cuda, "device_count", broken)
    assert gpu_count() == 0


def test_sync_waits_for_cuda_only(monkeypatch):
    from backends.pytorch.cells import sync

    calls: list[int] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: calls.append(1))
    sync("cpu")
    sync(torch.device("cpu"))
    assert calls == []
    sync("cuda")
    sync(torch.device("cuda", 0))
    assert calls == [1, 1]


def test_cuda_setup_records_gpu_and_turns_tf32_off(monkeypatch):
    """The cuda branch of setup, with torch told a GPU exists (nothing runs on it)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: "Fake GPU")
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)  # restored after the test
    try:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        knobs = load_backend("torch").setup(RuntimeConfig(threads=1, device="cuda"))
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    assert knobs["device"] == "cuda" and knobs["gpu_name"] == "Fake GPU" and knobs["tf32"] is False
    assert knobs["cublas_workspace_config"] == ":4096:8"  # deterministic cuBLAS needs it

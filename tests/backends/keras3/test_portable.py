"""Keras 3 on JAX and PyTorch ("keras-jax", "keras-torch"): the same model as Keras on TensorFlow.

Keras picks its backend when it is first imported, and this test process may already hold
Keras on TensorFlow, so everything runs in subprocesses: one harness run (the CLI spawns
workers that get KERAS_BACKEND from the registry) and one probe process per framework
(`_probe`, below), all started together. The probes load fixed weights and print forward
probabilities as JSON, retrain the harness run's seed (determinism across processes), train
it in the other execution, and check the one-`fit` epoch order against one `fit` per epoch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends import is_installed
from tests.conftest import needs_backend

ROOT = Path(__file__).resolve().parents[3]
FRAMEWORKS = {"keras-jax": "jax", "keras-torch": "torch"}
SCENARIOS = ("one_char", "batch_state", "stateful")
EPOCHS = 3
TIMEOUT_S = 300
# Forward parity cases: (scenario, options, load `_fixed_weights`? else the init ablation's).
FORWARD = {
    "timestep_window": ("timestep_window", {}, True),
    "timestep_window/hard_sigmoid_2017": ("timestep_window", {"gate_activation": "hard_sigmoid_2017"}, True),
    "stateful": ("stateful", {}, True),
    # the init ablation's weights (and a non-default Adam epsilon, checked on this model)
    "one_char/init=torch": ("one_char", {"init": "torch", "adam_eps": 1e-3}, False),
}
PROBA_ATOL = 1e-5  # float32 LSTM on three frameworks: differences are rounding only
LOSS_RTOL = 1e-4  # fast vs idiomatic epoch losses (keras-jax: jit per step vs per epoch)
INSTALLED = [n for n in FRAMEWORKS if is_installed(n)]


def _backend_param(name: str) -> Any:
    reason = f"{name} needs keras and {FRAMEWORKS[name]}; pip install -e '.[{name}]'"
    return pytest.param(name, marks=pytest.mark.skipif(name not in INSTALLED, reason=reason))


BACKENDS = [_backend_param(n) for n in FRAMEWORKS]


def _fixed_weights(features: int, units: int, classes: int) -> dict[str, np.ndarray]:
    """Weights large enough for confident, input-dependent outputs (a default init gives ~1/26
    everywhere, where any two forward passes agree within 1e-5), in Keras layout."""
    rng = np.random.default_rng(5)
    shapes = {"lstm/kernel": (features, 4 * units), "lstm/recurrent_kernel": (units, 4 * units),
              "lstm/bias": (4 * units,), "dense/kernel": (units, classes), "dense/bias": (classes,)}
    return {k: rng.normal(0.0, 1.0, size=shape).astype(np.float32) for k, shape in shapes.items()}


def _probe(name: str) -> dict[str, Any]:
    """Runs in a fresh process: what one Keras backend computes, as plain JSON-able data."""
    from backends import RuntimeConfig, apply_env, load_backend
    from backends.keras3.model import KerasPredictor, build_model
    from backends.keras3.portable import gpu_count
    from harness.runs.evaluate import predict_training_set
    from harness.runs.seeds import make_plan
    from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario

    apply_env(name)
    backend = load_backend(name)
    out: dict[str, Any] = {"knobs": backend.setup(RuntimeConfig(threads=1)), "forward": {}, "train": {}}
    for key, (scenario_id, options, fixed) in FORWARD.items():
        scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(**options))
        data = build_data(scenario)
        spec = scenario.spec
        predictor = KerasPredictor(build_model(scenario, data, init_seed=11), spec.stateful)
        if fixed:
            predictor.set_weights(_fixed_weights(spec.features, spec.units, data.n_classes))
        out["forward"][key] = predictor.predict_proba(data.x).tolist()
        out["adam_epsilon"] = float(np.asarray(predictor.model.optimizer.epsilon))  # the last case's
    if name == "keras":
        return out
    for execution in ("idiomatic", "fast"):
        out["knobs_" + execution] = backend.setup(RuntimeConfig(threads=1, execution=execution))
        for scenario_id in SCENARIOS:
            scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=EPOCHS))
            data = build_data(scenario)
            plan = make_plan(0, data.n_samples, EPOCHS, scenario.spec.shuffle)
            (trained,) = backend.train(scenario, data, [plan], lambda n: None)
            proba = predict_training_set(scenario.spec, data, trained.predictor)
            out["train"][f"{execution}/{scenario_id}"] = {
                "loss": trained.epoch_loss, "updates": trained.updates, "proba": proba.tolist(),
                "predicted": [data.letter(c) for c in proba.argmax(axis=1)],
                "jit_compile": trained.predictor.model.jit_compile,
                "weights": {k: v.tolist() for k, v in trained.predictor.weights().items()},
            }
    # One fit over all epochs (what the backend did) against one fit per epoch, same plan.
    scenario = ResolvedScenario(get_scenario("one_char"), ScenarioOptions(epochs=EPOCHS))
    data = build_data(scenario)
    plan = make_plan(0, data.n_samples, EPOCHS, True)
    model = build_model(scenario, data, plan.init_seed)
    for order in plan.orders:
        model.fit(data.x[order], data.one_hot()[order], batch_size=1, epochs=1, shuffle=False, verbose=0)
    out["per_epoch_fit"] = {k: v.tolist() for k, v in KerasPredictor(model, False).weights().items()}
    out["distinct_orders"] = len({tuple(o) for o in plan.orders})
    out["default_adam_epsilon"] = float(np.asarray(model.optimizer.epsilon))
    try:
        backend.setup(RuntimeConfig(threads=1, device="cuda"))
        out["cuda_error"] = None
    except RuntimeError as exc:
        out["cuda_error"] = str(exc)
    out["gpu_count"] = gpu_count()
    return out


def _env(jax_cache: Path) -> dict[str, str]:
    """The test's environment without KERAS_BACKEND, plus a JAX compilation cache shared by every
    subprocess of this session. Why: Keras on JAX compiles each new model's initialisers and
    train/predict steps (~80 XLA compilations, ~25 s in one probe); most are the same program
    again, and the cache serves those. It changes compile time only, never the compiled code."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(JAX_COMPILATION_CACHE_DIR=str(jax_cache), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    return env


def _start_probe(name: str, env: dict[str, str]) -> subprocess.Popen:
    code = ("import json; from tests.backends.keras3.test_portable import _probe; "
            f"print(json.dumps(_probe({name!r})))")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen, what: str) -> str:
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, f"{what} failed:\n{stderr[-4000:]}"
    return stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """The harness run (idiomatic, every installed portable backend) and every probe, concurrently."""
    if not INSTALLED:
        pytest.skip("neither keras-jax nor keras-torch is installed")
    out = tmp_path_factory.mktemp("keras-backends") / "run"
    env = _env(tmp_path_factory.mktemp("jax-cache"))
    cli = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--scenario", *SCENARIOS, "--backend", *INSTALLED,
         "--epochs", str(EPOCHS), "--seeds", "1", "--execution", "idiomatic", "--out", str(out)],
        cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    # The TensorFlow reference needs .[keras], which .[keras-jax] / .[keras-torch] do not install.
    reference = ["keras"] if is_installed("keras") else []
    probes = {name: _start_probe(name, env) for name in [*reference, *INSTALLED]}
    results = {name: json.loads(_finish(p, f"probe {name}").strip().splitlines()[-1])
               for name, p in probes.items()}
    _finish(cli, "harness run")
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {"records": records, "probes": results}


def _records(runs: dict[str, Any], name: str) -> dict[str, dict]:
    return {r["scenario"]: r for r in runs["records"] if r["backend"] == name}


@pytest.mark.parametrize("name", BACKENDS)
def test_harness_records_name_the_framework(runs, name):
    records = _records(runs, name)
    assert set(records) == set(SCENARIOS)
    framework = FRAMEWORKS[name]
    for record in records.values():
        assert record["status"] == "ok", record.get("error")
        assert record["runtime"]["keras_backend"] == framework
        assert record["runtime"]["execution"] == "idiomatic" and record["runtime"]["device"] == "cpu"
        assert record["framework_versions"]["keras"].startswith("3.")
        assert record["framework_versions"][framework]
        assert record["updates"] == EPOCHS * (1 if record["scenario"] == "batch_state" else 25)
        assert len(record["epoch_loss"]) == EPOCHS and 0.0 <= record["accuracy"] <= 1.0


@pytest.mark.parametrize("name", BACKENDS)
def test_same_seed_in_another_process_trains_the_same(runs, name):
    records, probe = _records(runs, name), runs["probes"][name]
    for scenario_id, record in records.items():
        again = probe["train"][f"idiomatic/{scenario_id}"]
        assert again["loss"] == record["epoch_loss"], scenario_id
        assert again["predicted"] == [p["predicted"] for p in record["patterns"]], scenario_id


@needs_backend("keras")
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("case", list(FORWARD))
def test_same_weights_give_tensorflow_keras_probabilities(runs, name, case):
    ours, tensorflow = runs["probes"][name]["forward"][case], runs["probes"]["keras"]["forward"][case]
    np.testing.assert_allclose(ours, tensorflow, rtol=0, atol=PROBA_ATOL)


@pytest.mark.parametrize("name", BACKENDS)
def test_hard_sigmoid_2017_changes_the_forward_pass(runs, name):
    forward = runs["probes"][name]["forward"]
    hard = forward["timestep_window/hard_sigmoid_2017"]
    assert not np.allclose(forward["timestep_window"], hard, atol=1e-3)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_fast_matches_idiomatic(runs, name, scenario_id):
    probe = runs["probes"][name]
    slow, fast = probe["train"][f"idiomatic/{scenario_id}"], probe["train"][f"fast/{scenario_id}"]
    assert fast["updates"] == slow["updates"]
    assert fast["predicted"] == slow["predicted"]
    np.testing.assert_allclose(fast["proba"], slow["proba"], rtol=0, atol=PROBA_ATOL)
    np.testing.assert_allclose(fast["loss"], slow["loss"], rtol=LOSS_RTOL)
    knobs = probe["knobs_fast"]
    assert fast["jit_compile"] == knobs["jit_compile"]
    if FRAMEWORKS[name] == "jax":
        assert knobs["jit_compile"] is True and knobs["steps_per_execution"] == "updates_per_epoch"
    else:  # torch.compile was pathological: fast is the eager fit, and the record says so
        assert knobs["jit_compile"] is False and "eager" in knobs["fast_note"]
    assert probe["knobs_idiomatic"]["jit_compile"] == "auto"


@pytest.mark.parametrize("name", BACKENDS)
def test_one_fit_over_all_epochs_follows_each_epochs_order(runs, name):
    probe = runs["probes"][name]
    assert probe["distinct_orders"] == EPOCHS  # shuffled: a wrong epoch order would show
    one_fit = probe["train"]["idiomatic/one_char"]["weights"]
    for key, per_epoch in probe["per_epoch_fit"].items():
        np.testing.assert_allclose(one_fit[key], per_epoch, rtol=0, atol=1e-6, err_msg=key)



@pytest.mark.parametrize("name", BACKENDS)
def test_adam_epsilon_option_reaches_the_optimizer(runs, name):
    probe = runs["probes"][name]
    assert probe["adam_epsilon"] == pytest.approx(1e-3)
    assert probe["default_adam_epsilon"] == pytest.approx(1e-7)


@pytest.mark.parametrize("name", BACKENDS)
def test_cuda_without_gpu_is_refused(runs, name):
    probe = runs["probes"][name]
    if probe["gpu_count"] > 0:
        pytest.skip(f"{FRAMEWORKS[name]} sees a GPU here: the no-GPU refusal cannot be exercised")
    assert probe["cuda_error"].startswith("--device cuda:") and "sees no GPU" in probe["cuda_error"]

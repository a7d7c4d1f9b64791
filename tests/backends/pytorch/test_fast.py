"""Fast torch execution runs the idiomatic updates, only all seeds at once and compiled."""

from __future__ import annotations

import math
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from backends import RuntimeConfig, SeedPlan, SeedTraining, load_backend
from tests.backends.pytorch.test_backend import make_plan, resolve, train

pytest.importorskip("torch")
# torch's own compiler stack imports a deprecated torch.jit API; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

# Weights of the same seed trained idiomatic and fast agree to ATOL, not bitwise: the stacked
# step sums its products in another order than nn.LSTM's BLAS calls (and inductor may fuse
# differently), so float32 rounding differs by ~1e-7 per update. Measured: <= 1e-6 here.
ATOL = 1e-4
LOSS_RTOL = 1e-4

# (scenario, epochs), every scenario: few epochs keep float drift and runtime small;
# batch_state is one update per epoch on the whole set.
CASES = [("one_char", 3), ("feature_window", 3), ("timestep_window", 3), ("stateful", 3),
         ("variable_length", 1), ("batch_state", 5)]


@cache
def backend_for(execution: str):
    """One instance per execution; setup's process-wide knobs are the same for both."""
    backend = load_backend("torch")
    knobs = backend.setup(RuntimeConfig(threads=1, execution=execution))
    return backend, knobs


def plans_for(scenario, n: int, seeds: tuple[int, ...]) -> list[SeedPlan]:
    return [make_plan(scenario, n, seed=s, init_seed=100 + s, order_seed=s) for s in seeds]


@cache
def run(execution: str, scenario_id: str, epochs: int, seeds: tuple[int, ...]):
    """Cached: every compiled (scenario, S) shape costs seconds, so tests share the runs."""
    scenario, data = resolve(scenario_id, epochs)
    calls: list[int] = []
    backend, _ = backend_for(execution)
    results = train(backend, scenario, data, plans_for(scenario, data.n_samples, seeds), calls.append)
    return results, calls, data


def assert_same_training(a: SeedTraining, b: SeedTraining, data) -> None:
    wa, wb = a.predictor.weights(), b.predictor.weights()
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_allclose(wa[name], wb[name], rtol=0, atol=ATOL, err_msg=name)
    pa, pb = a.predictor.predict_proba(data.x), b.predictor.predict_proba(data.x)
    assert np.array_equal(pa.argmax(axis=1), pb.argmax(axis=1))
    np.testing.assert_allclose(a.epoch_loss, b.epoch_loss, rtol=LOSS_RTOL)
    assert a.epoch_accuracy == b.epoch_accuracy
    assert a.updates == b.updates


@pytest.mark.parametrize(("scenario_id", "epochs"), CASES)
def test_fast_equals_idiomatic(scenario_id, epochs):
    seeds = (0, 1, 2) if scenario_id == "one_char" else (0,)
    fast, _, data = run("fast", scenario_id, epochs, seeds)
    for seed, trained in zip(seeds, fast, strict=True):
        (reference,), _, _ = run("idiomatic", scenario_id, epochs, (seed,))
        assert trained.seed == seed
        assert_same_training(reference, trained, data)


def test_epochs_run_in_chunks_with_the_first_epoch_alone():
    """batch_state has one update per epoch, so 300 epochs take three chunks (1, 256, 43)."""
    from backends.pytorch.stacked import chunk_epochs

    assert chunk_epochs(1) == 256
    fast, calls, data = run("fast", "batch_state", 300, (0, 1))
    assert calls == [2, 2 * 256, 2 * 43]
    for seed, trained in zip((0, 1), fast, strict=True):
        (reference,), _, _ = run("idiomatic", "batch_state", 300, (seed,))
        assert_same_training(reference, trained, data)


def test_short_last_batch_is_padded_and_weighted_out():
    """A batch size that does not divide the samples: 25 samples in batches of 4, the last of 1."""
    import dataclasses

    from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario

    spec = dataclasses.replace(get_scenario("one_char"), batch_size=4)
    scenario = ResolvedScenario(spec, ScenarioOptions(epochs=3))
    data = build_data(scenario)
    assert scenario.steps_per_epoch == 7 and data.n_samples % 4 == 1
    plans = plans_for(scenario, data.n_samples, (0, 1))
    fast = train(backend_for("fast")[0], scenario, data, plans)
    assert backend_for("fast")[1]["fast_path"] == "compiled"
    for plan, trained in zip(plans, fast, strict=True):
        (reference,) = train(backend_for("idiomatic")[0], scenario, data, [plan])
        assert_same_training(reference, trained, data)


def test_seed_alone_equals_seed_in_a_batch():
    batch, _, data = run("fast", "one_char", 3, (0, 1, 2))
    (alone,), _, _ = run("fast", "one_char", 3, (1,))
    assert alone.seeds_together == 1
    assert_same_training(alone, batch[1], data)
    w0, w1 = batch[0].predictor.weights(), batch[1].predictor.weights()
    assert not np.allclose(w0["lstm.weight_hh_l0"], w1["lstm.weight_hh_l0"])  # seeds stay apart


def test_fast_records_the_batch():
    results, calls, data = run("fast", "one_char", 3, (0, 1, 2))
    per_epoch = math.ceil(data.n_samples / 1)
    # progress summed over seeds: the first epoch alone, then the rest in one chunk
    assert calls == [3 * per_epoch, 3 * 2 * per_epoch]
    batch_seconds = results[0].batch_train_seconds
    assert batch_seconds is not None and batch_seconds > 0
    for r in results:
        assert r.seeds_together == 3
        assert r.batch_train_seconds == batch_seconds
        assert r.train_seconds == pytest.approx(batch_seconds / 3)
        assert 0 < r.first_epoch_seconds <= batch_seconds  # the first epoch includes compiling
        assert r.updates == 3 * per_epoch
        assert r.extra == {}  # extra lands among the probes; the path goes to the knobs


def test_knobs_name_the_path_that_ran():
    run("fast", "one_char", 3, (0, 1, 2))
    _, knobs = backend_for("fast")
    assert knobs["execution"] == "fast"
    assert knobs["fast_path"] in ("compiled", "eager-stacked")
    assert "fast_path" not in backend_for("idiomatic")[1]


def test_compile_failure_falls_back_to_stacked_eager(monkeypatch):
    """A compiler that fails (none found, or it errs): nothing has run yet, so the same
    updates run eagerly, and the knobs say so."""
    import backends.pytorch.compiled as compiled_module

    def failing(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(compiled_module, "compile_program", failing)
    backend = load_backend("torch")
    knobs = backend.setup(RuntimeConfig(threads=1, execution="fast"))
    knobs["fast_path"] = "compiled"  # as setup says where a compiler is found
    scenario, data = resolve("one_char", 2)
    plans = plans_for(scenario, data.n_samples, (0, 1))
    results = train(backend, scenario, data, plans)
    assert knobs["fast_path"] == "eager-stacked"
    assert "no C++ compiler" in knobs["fast_path_note"]
    assert "compile_cache" not in knobs
    for plan, trained in zip(plans, results, strict=True):
        (reference,) = train(backend_for("idiomatic")[0], scenario, data, [plan])
        assert_same_training(reference, trained, data)


def test_setup_switches_the_execution_of_an_instance(monkeypatch):
    import backends.pytorch.fast as fast_module

    def no_fast(*args, **kwargs):
        raise AssertionError("the fast loop ran")

    monkeypatch.setattr(fast_module, "train_stacked", no_fast)
    backend = load_backend("torch")
    backend.setup(RuntimeConfig(threads=1, execution="fast"))
    backend.setup(RuntimeConfig(threads=1, execution="idiomatic"))
    scenario, data = resolve("one_char", 1)
    (result,) = train(backend, scenario, data, plans_for(scenario, data.n_samples, (0,)))
    assert result.updates == scenario.updates_per_seed  # the idiomatic loop ran
    with pytest.raises(ValueError, match="valid choices: idiomatic, fast"):
        backend.setup(RuntimeConfig(threads=1, execution="jit"))


def test_weights_are_native_state_dict_arrays():
    (trained,), _, _ = run("idiomatic", "stateful", 3, (0,))
    weights = trained.predictor.weights()
    assert list(weights) == [
        "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
        "head.weight", "head.bias",
    ]
    assert weights["lstm.weight_hh_l0"].shape == (200, 50)
    assert all(isinstance(w, np.ndarray) and w.dtype == np.float32 for w in weights.values())


def test_fast_modules_do_not_import_torch_at_top_level():
    code = ("import sys, backends.pytorch.fast, backends.pytorch.stacked, backends.pytorch.eager, "
            "backends.pytorch.update, backends.pytorch.compiled; print('torch' in sys.modules)")
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"

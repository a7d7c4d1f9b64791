"""The init ablation: each framework's default initialisation, available to the other."""

from __future__ import annotations

import numpy as np
import pytest

from backends import RuntimeConfig, load_backend
from backends.initializers import initial_weights, keras_style, torch_style
from harness.cli import main
from harness.reporting.labels import backend_label, scenario_label
from harness.runs.seeds import make_plan
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario
from tests.conftest import needs_backend
from tests.fakes import make_record

H, F, C = 8, 3, 26


def test_keras_style_matches_keras_defaults():
    w = keras_style(F, H, C, seed=1)
    recurrent = w["lstm/recurrent_kernel"].astype(np.float64)
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(H), atol=1e-5)  # orthogonal
    assert (w["lstm/bias"][H : 2 * H] == 1).all() and (np.delete(w["lstm/bias"], range(H, 2 * H)) == 0).all()
    assert np.abs(w["lstm/kernel"]).max() <= np.sqrt(6 / (F + 4 * H))
    assert (w["dense/bias"] == 0).all()


def test_torch_style_matches_torch_defaults():
    w = torch_style(F, H, C, seed=1)
    assert all(np.abs(v).max() <= 1 / np.sqrt(H) for v in w.values())
    assert w["lstm.bias_hh_l0"].any()  # two independent bias vectors


def test_native_or_same_framework_changes_nothing_and_seeds_are_deterministic():
    assert initial_weights("native", "torch", F, H, C, 1) is None
    assert initial_weights("torch", "torch", F, H, C, 1) is None
    a, b = initial_weights("keras", "torch", F, H, C, 1), initial_weights("keras", "torch", F, H, C, 1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="valid choices: native, keras, torch"):
        initial_weights("xavier", "torch", F, H, C, 1)


def _train(backend_name: str, init: str, execution: str, epochs: int = 2):
    scenario = ResolvedScenario(get_scenario("one_char"), ScenarioOptions(epochs=epochs, init=init))
    data = build_data(scenario)
    backend = load_backend(backend_name)
    backend.setup(RuntimeConfig(threads=1, execution=execution))
    plan = make_plan(3, data.n_samples, epochs, True)
    (trained,) = backend.train(scenario, data, [plan], lambda n: None)
    return trained.predictor, data


@needs_backend("torch")
def test_torch_with_keras_init_starts_from_keras_defaults_in_both_executions():
    untrained, _ = _train("torch", "keras", "idiomatic", epochs=1)
    idiomatic, data = _train("torch", "keras", "idiomatic")
    fast, _ = _train("torch", "keras", "fast")
    np.testing.assert_allclose(idiomatic.predict_proba(data.x), fast.predict_proba(data.x), atol=1e-5)
    native, _ = _train("torch", "native", "idiomatic")
    assert not np.allclose(idiomatic.predict_proba(data.x), native.predict_proba(data.x), atol=1e-3)
    weights = untrained.weights()
    assert np.abs(weights["lstm.bias_hh_l0"]).max() < 0.05  # starts at 0 (one Keras bias); native: up to 0.18


@needs_backend("keras")
def test_keras_with_torch_init_in_both_executions():
    idiomatic, data = _train("keras", "torch", "idiomatic")
    fast, _ = _train("keras", "torch", "fast")
    np.testing.assert_allclose(idiomatic.predict_proba(data.x), fast.predict_proba(data.x), atol=1e-5)
    native, _ = _train("keras", "native", "idiomatic")
    assert not np.allclose(idiomatic.predict_proba(data.x), native.predict_proba(data.x), atol=1e-3)


def test_init_shows_as_its_own_backend_row():
    record = make_record(backend="torch", execution="fast",
                         options={"encoding": "zero_based", "data_seed": 7, "epochs": None, "init": "keras"})
    assert backend_label(record) == "torch[fast,init=keras]" and scenario_label(record) == "one_char"


def test_unknown_init_is_refused(capsys, tmp_path):
    assert main(["run", "--init", "xavier", "--out", str(tmp_path / "o")]) == 2
    assert "native" in capsys.readouterr().err and not (tmp_path / "o").exists()

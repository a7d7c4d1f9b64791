"""Training speed of every scenario × backend through the harness's own training path.

`pytest --benchmark-only` times `backend.train` (model construction + the training loop)
for a fixed, recorded number of epochs; `--benchmark-group-by=group` groups by scenario.
Both execution modes are benchmarked (`fast` trains the one seed through its compiled path, so
its rounds include that compilation). Outside `--benchmark-only` each benchmark runs once at
1–2 epochs, as a plain test.
"""

from __future__ import annotations

import math
import os

import pytest

from backends import EXECUTIONS, RuntimeConfig, backend_names, get_entry, load_backend
from harness.runs.evaluate import evaluate
from harness.runs.seeds import make_plan, probe_rng
from scenarios import ResolvedScenario, build_data, get_scenario, scenario_ids
from tests.conftest import backend_param, is_benchmarking

SMOKE_UPDATES = 250  # per benchmark round at the default size
SEED = 0


def epochs_for(scenario: ResolvedScenario, size: str, benchmarking: bool) -> int:
    if not benchmarking:  # a plain test run: the smallest real training
        return max(1, min(2, math.ceil(50 / scenario.steps_per_epoch)))
    if size == "tutorial":
        return scenario.spec.epochs
    if size.isdigit():
        return int(size)
    return max(1, min(scenario.spec.epochs, math.ceil(SMOKE_UPDATES / scenario.steps_per_epoch)))


@pytest.fixture(scope="session")
def backends_ready():
    """One backend instance per framework; set-up again only switches the execution mode."""
    loaded = {}

    def get(name: str, execution: str):
        backend = loaded.setdefault(name, load_backend(name))
        return backend, backend.setup(RuntimeConfig(threads=1, deterministic=True, execution=execution))

    return get


def in_process_backends() -> list[str]:
    """Backends this process can load: Keras picks its framework once per process, from
    $KERAS_BACKEND (TensorFlow when unset), so `keras-jax` is benchmarked by running
    `KERAS_BACKEND=jax pytest tests/benchmarks --benchmark-only` (and `keras-torch` alike)."""
    current = os.environ.get("KERAS_BACKEND", "tensorflow")
    return [name for name in backend_names()
            if dict(get_entry(name).env).get("KERAS_BACKEND", current) == current]


@pytest.mark.parametrize("execution", EXECUTIONS)
@pytest.mark.parametrize("backend_name", [backend_param(n) for n in in_process_backends()])
@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_training_speed(benchmark, backends_ready, request, scenario_id, backend_name, execution):
    benchmarking = is_benchmarking(request.config)
    size = request.config.getoption("--alphabet-epochs")
    base = ResolvedScenario(get_scenario(scenario_id))
    scenario = base.with_epochs(epochs_for(base, size, benchmarking))
    backend, knobs = backends_ready(backend_name, execution)
    data = build_data(scenario)
    plan = make_plan(SEED, data.n_samples, scenario.epochs, scenario.spec.shuffle)

    def train():
        return list(backend.train(scenario, data, [plan], lambda n: None))

    benchmark.group = scenario_id
    rounds, warmup = (3, 1) if benchmarking else (1, 0)
    (trained,) = benchmark.pedantic(train, rounds=rounds, warmup_rounds=warmup, iterations=1)
    result = evaluate(scenario.spec, data, trained.predictor, probe_rng(SEED))
    benchmark.extra_info.update({
        "scenario": scenario_id, "backend": backend_name, "execution": knobs.get("execution"),
        "epochs": scenario.epochs, "updates": trained.updates, "seeds": [SEED],
        "accuracy": result.accuracy, "train_seconds": trained.train_seconds,
        "us_per_update": 1e6 * trained.train_seconds / trained.updates,
        "first_epoch_seconds": trained.first_epoch_seconds,
        # the path this size took (torch fast: eager or compiled, backends/pytorch/paths.py), as records say
        "runtime": {**knobs, **getattr(backend, "run_knobs", dict)()},
    })
    assert trained.updates == scenario.updates_per_seed
    assert len(trained.epoch_loss) == scenario.epochs and all(map(math.isfinite, trained.epoch_loss))

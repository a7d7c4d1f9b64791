"""Tests of the native JAX backend (`backends.jax_native`), and the helpers they share.

The backend module is driven directly (`JaxBackend`), so these tests run whether or not the
registry lists "jax" yet; they skip, naming the `jax` extra, where JAX, Flax or Optax is missing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import pytest

from backends import UnknownBackendError
from backends.base import RuntimeConfig, SeedPlan, SeedTraining, SnapshotRequest
from harness.runs.seeds import make_plan
from scenarios import AlphabetData, ResolvedScenario, ScenarioOptions, build_data, get_scenario

MODULES = ("jax", "flax", "optax")


def jax_marks() -> list[pytest.MarkDecorator]:
    """The backend's skip: the registry's (`needs_backend`, train tier) once it lists "jax", else
    the same reason from the imports alone."""
    from tests.conftest import needs_backend

    try:
        return [needs_backend("jax")]
    except UnknownBackendError:
        missing = [m for m in MODULES if importlib.util.find_spec(m) is None]
        return [pytest.mark.skipif(bool(missing), reason="backend 'jax' is not installed: needs .[jax]")]


def resolve(scenario_id: str, epochs: int = 2, **options) -> tuple[ResolvedScenario, AlphabetData]:
    scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=epochs, **options))
    return scenario, build_data(scenario)


def plans(scenario: ResolvedScenario, data: AlphabetData, seeds: tuple[int, ...] = (1, 2)) -> list[SeedPlan]:
    return [make_plan(s, data.n_samples, scenario.epochs, scenario.spec.shuffle) for s in seeds]


def train(execution: str, scenario: ResolvedScenario, data: AlphabetData, seed_plans: list[SeedPlan],
          progress: Callable[[int], None] = lambda n: None,
          snapshots: SnapshotRequest | None = None) -> list[SeedTraining]:
    """Every plan trained by a fresh backend set up for `execution` (one thread, deterministic)."""
    from backends.jax_native.backend import JaxBackend

    backend = JaxBackend()
    backend.setup(RuntimeConfig(threads=1, execution=execution))
    return list(backend.train(scenario, data, seed_plans, progress, snapshots))


def max_weight_gap(a: SeedTraining, b: SeedTraining) -> float:
    wa, wb = a.predictor.weights(), b.predictor.weights()
    assert set(wa) == set(wb)
    return max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)

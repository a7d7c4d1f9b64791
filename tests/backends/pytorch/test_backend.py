"""The torch backend trains what the harness plans, exactly and reproducibly."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from backends import RuntimeConfig, SeedPlan, load_backend
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario, scenario_ids

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def backend():
    b = load_backend("torch")
    knobs = b.setup(RuntimeConfig(threads=1))
    assert knobs["intra_op_threads"] == 1
    assert knobs["deterministic_algorithms"] is True
    return b


def resolve(scenario_id: str, epochs: int, **options) -> tuple[ResolvedScenario, object]:
    scenario = ResolvedScenario(
        get_scenario(scenario_id), ScenarioOptions(epochs=epochs, **options)
    )
    return scenario, build_data(scenario)


def make_plan(
    scenario: ResolvedScenario, n: int, seed: int = 0, init_seed: int = 123, order_seed: int = 0
) -> SeedPlan:
    rng = np.random.default_rng(order_seed)
    orders = np.stack(
        [
            rng.permutation(n) if scenario.spec.shuffle else np.arange(n)
            for _ in range(scenario.epochs)
        ]
    )
    return SeedPlan(seed=seed, init_seed=init_seed, orders=orders)


def train(backend, scenario, data, plans, progress=None):
    return list(backend.train(scenario, data, plans, progress or (lambda _: None)))


@pytest.mark.parametrize("encoding", ["zero_based", "one_based"])
@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_every_scenario_trains(backend, scenario_id, encoding):
    epochs = 1 if scenario_id == "variable_length" else 2
    scenario, data = resolve(scenario_id, epochs, encoding=encoding)
    calls: list[int] = []
    (result,) = train(backend, scenario, data, [make_plan(scenario, data.n_samples)], calls.append)
    n = data.n_samples
    per_epoch = math.ceil(n / (scenario.spec.batch_size or n))
    assert result.updates == epochs * per_epoch
    assert calls == [per_epoch] * epochs
    assert len(result.epoch_loss) == len(result.epoch_accuracy) == epochs
    assert all(math.isfinite(v) for v in result.epoch_loss)
    assert all(0.0 <= a <= 1.0 for a in result.epoch_accuracy)
    assert 0 < result.first_epoch_seconds <= result.train_seconds
    proba = result.predictor.predict_proba(data.x)
    assert proba.shape == (n, 27 if encoding == "one_based" else 26)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_same_plan_is_bitwise_reproducible(backend):
    scenario, data = resolve("one_char", 3)
    plan = make_plan(scenario, data.n_samples)
    a, b = (train(backend, scenario, data, [plan])[0] for _ in range(2))
    assert a.epoch_loss == b.epoch_loss
    assert np.array_equal(a.predictor.predict_proba(data.x), b.predictor.predict_proba(data.x))


def test_sample_order_is_honoured(backend):
    scenario, data = resolve("one_char", 2)
    n = data.n_samples
    base = train(backend, scenario, data, [make_plan(scenario, n, order_seed=1)])[0]
    same = train(backend, scenario, data, [make_plan(scenario, n, order_seed=1)])[0]
    other = train(backend, scenario, data, [make_plan(scenario, n, order_seed=2)])[0]
    p = base.predictor.predict_proba(data.x)
    assert np.array_equal(p, same.predictor.predict_proba(data.x))
    assert not np.array_equal(p, other.predictor.predict_proba(data.x))


def test_stateful_step_carries_and_reset_clears(backend):
    scenario, data = resolve("stateful", 3)
    predictor = train(backend, scenario, data, [make_plan(scenario, data.n_samples)])[0].predictor
    x_a = data.encode("A")
    predictor.reset_state()
    first = predictor.step(x_a)
    second = predictor.step(x_a)
    assert first.shape == (26,)
    assert not np.array_equal(first, second)
    predictor.reset_state()
    assert np.array_equal(predictor.step(x_a), first)
    # A fresh state equals the zero state predict_proba uses.
    np.testing.assert_allclose(first, predictor.predict_proba(x_a)[0], atol=1e-6)


def test_stateless_step_is_predict_proba(backend):
    scenario, data = resolve("one_char", 1)
    predictor = train(backend, scenario, data, [make_plan(scenario, data.n_samples)])[0].predictor
    x_a = data.encode("A")
    assert np.array_equal(predictor.step(x_a), predictor.step(x_a))
    assert np.array_equal(predictor.step(x_a), predictor.predict_proba(x_a)[0])


def test_seed_in_a_batch_of_plans_equals_seed_alone(backend):
    scenario, data = resolve("one_char", 2)
    n = data.n_samples
    plans = [make_plan(scenario, n, seed=s, init_seed=100 + s, order_seed=s) for s in range(3)]
    results = train(backend, scenario, data, plans)
    assert [r.seed for r in results] == [0, 1, 2]
    alone = train(backend, scenario, data, [plans[1]])[0]
    assert alone.epoch_loss == results[1].epoch_loss
    assert np.array_equal(
        alone.predictor.predict_proba(data.x), results[1].predictor.predict_proba(data.x)
    )
    assert not np.array_equal(
        results[0].predictor.predict_proba(data.x), results[1].predictor.predict_proba(data.x)
    )


def test_yields_each_seed_before_training_the_next(backend):
    scenario, data = resolve("one_char", 1)
    plans = [make_plan(scenario, data.n_samples, seed=s, init_seed=s) for s in range(2)]
    calls: list[int] = []
    it = backend.train(scenario, data, plans, calls.append)
    next(it)
    assert len(calls) == 1  # the second seed has not started
    next(it)
    assert len(calls) == 2


def test_loss_decreases(backend):
    scenario, data = resolve("one_char", 5)
    result = train(backend, scenario, data, [make_plan(scenario, data.n_samples)])[0]
    assert result.epoch_loss[-1] < result.epoch_loss[0]


def test_stateful_training_carries_state(backend):
    scenario, data = resolve("stateful", 1)
    plan = make_plan(scenario, data.n_samples)
    stateful = train(backend, scenario, data, [plan])[0]
    # Same spec without state carrying: the first update is identical, later ones are not.
    stateless_spec = dataclasses.replace(scenario.spec, stateful=False)
    stateless = train(backend, ResolvedScenario(stateless_spec, scenario.options), data, [plan])[0]
    assert stateful.epoch_loss != stateless.epoch_loss
    # Carried-state predictions over the pattern sequence differ from per-sample zero state.
    predictor = stateful.predictor
    predictor.reset_state()
    carried = np.stack([predictor.step(data.x[i : i + 1]) for i in range(data.n_samples)])
    zero = predictor.predict_proba(data.x)
    np.testing.assert_allclose(carried[0], zero[0], atol=1e-6)
    assert not np.allclose(carried[1:], zero[1:], atol=1e-6)


def test_stateful_matches_reference_loop(backend):
    """Carry within an epoch, detach after each update, zero state at every epoch start."""
    import torch

    scenario, data = resolve("stateful", 2)
    plan = make_plan(scenario, data.n_samples)
    result = train(backend, scenario, data, [plan])[0]

    torch.manual_seed(plan.init_seed)
    lstm = torch.nn.LSTM(1, scenario.spec.units, batch_first=True)
    head = torch.nn.Linear(scenario.spec.units, scenario.n_classes)
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    losses = []
    for order in plan.orders:
        h = c = torch.zeros(1, 1, scenario.spec.units)
        total = 0.0
        for i in order:
            out, (h, c) = lstm(x[i : i + 1], (h, c))
            loss = torch.nn.functional.cross_entropy(head(out[:, -1]), y[i : i + 1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            h, c = h.detach(), c.detach()
            total += loss.item()
        losses.append(total / len(order))
    np.testing.assert_allclose(result.epoch_loss, losses, rtol=1e-5)
    with torch.no_grad():
        out, _ = lstm(x)
        expected = torch.softmax(head(out[:, -1]), dim=-1).numpy()
    np.testing.assert_allclose(result.predictor.predict_proba(data.x), expected, atol=1e-6)


def test_rejects_orders_that_do_not_match_the_scenario(backend):
    scenario, data = resolve("one_char", 2)
    plan = SeedPlan(seed=0, init_seed=0, orders=np.zeros((3, data.n_samples), dtype=np.int64))
    with pytest.raises(ValueError, match="orders shape"):
        train(backend, scenario, data, [plan])


def test_module_does_not_import_torch_at_top_level():
    import subprocess
    import sys

    code = "import sys, backends.pytorch.backend; print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"

"""Anytime-evaluation snapshots of the torch backend, in every execution and fast path.

A snapshot after epoch e is the weights a run of e epochs ends with: exactly (bit for bit) in
each path, since a chunk cut short at a snapshot runs the same updates, only in more calls.
Fast and idiomatic snapshots agree as their final weights do (test_fast's tolerance), and
the callback's time counts in no timing figure.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest

from backends import RuntimeConfig, SeedTraining, load_backend
from backends.base import SNAPSHOT_SHAPES, Snapshot, SnapshotRequest
from backends.weights import to_snapshot
from tests.backends.pytorch.test_backend import make_plan, resolve
from tests.backends.test_timing import SleepyProgress

torch = pytest.importorskip("torch")
# torch's own compiler stack imports a deprecated torch.jit API; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

# As test_fast: the executions agree up to float summation order.
ATOL = 1e-4
LOSS_RTOL = 1e-4
PATHS = [("idiomatic", None), ("fast", "eager-stacked"), ("fast", "compiled")]
PATH_IDS = ["idiomatic", "fast-eager", "fast-compiled"]
# (scenario, E1, E2): a snapshot at E1 inside a run of E2 epochs. one_char and stateful run
# 10-epoch chunks, so the cut at E1 leaves the rest of the chunk's window to run on unfilled;
# batch_state is one update per epoch.
PREFIX_CASES = [("one_char", 2, 4), ("stateful", 2, 3), ("batch_state", 3, 7)]


@cache
def backend_for(execution: str, path: str | None):
    """One instance per execution and fast path (path "eager-stacked" forces the fallback)."""
    backend = load_backend("torch")
    knobs = backend.setup(RuntimeConfig(threads=1, execution=execution))
    if path == "compiled" and knobs.get("fast_path") != "compiled":
        pytest.skip(f"no compiled fast path here: {knobs.get('fast_path_note')}")
    if path is not None:
        knobs["fast_path"] = path  # the live knobs decide whether train() compiles
    return backend, knobs


@cache
def run(
    execution: str, path: str | None, scenario_id: str, epochs: int, wanted: tuple[int, ...],
    seeds: tuple[int, ...] = (0,), **options,
) -> tuple[list[SeedTraining], list[Snapshot], list[int]]:
    """Trained seeds, the snapshots handed over and the progress calls; cached, as compiled
    shapes cost seconds."""
    scenario, data = resolve(scenario_id, epochs, **options)
    plans = [make_plan(scenario, data.n_samples, seed=s, init_seed=100 + s, order_seed=s) for s in seeds]
    backend, knobs = backend_for(execution, path)
    taken: list[Snapshot] = []
    calls: list[int] = []
    request = SnapshotRequest(frozenset(wanted), taken.append)
    results = list(backend.train(scenario, data, plans, calls.append, request))
    if path is not None:
        assert knobs["fast_path"] == path
    return results, taken, calls


def converted(trained: SeedTraining) -> dict[str, np.ndarray]:
    """A predictor's state_dict in the snapshot layout, one row."""
    return to_snapshot(trained.predictor.weights())


def row(snapshot: Snapshot, seed: int) -> dict[str, np.ndarray]:
    s = snapshot.seeds.index(seed)
    return {name: a[s : s + 1] for name, a in snapshot.weights.items()}


def assert_equal_weights(a: dict[str, np.ndarray], b: dict[str, np.ndarray], atol: float = 0.0) -> None:
    assert a.keys() == b.keys() == set(SNAPSHOT_SHAPES)
    for name in a:
        assert a[name].shape == b[name].shape, name
        if atol:
            np.testing.assert_allclose(a[name], b[name], rtol=0, atol=atol, err_msg=name)
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.parametrize(("scenario_id", "e1", "e2"), PREFIX_CASES)
@pytest.mark.parametrize(("execution", "path"), PATHS, ids=PATH_IDS)
def test_snapshot_is_the_prefix_run(execution, path, scenario_id, e1, e2):
    """(a) + (b): the snapshot at E1 of an E2-epoch run is, bit for bit, the E1-epoch run's
    snapshot at E1, which is its trained model's weights."""
    (longer,), (mid,), _ = run(execution, path, scenario_id, e2, (e1,))
    (shorter,), (last,), _ = run(execution, path, scenario_id, e1, (e1,))
    assert mid.epoch == last.epoch == e1
    assert_equal_weights(mid.weights, last.weights)
    assert_equal_weights(last.weights, converted(shorter))
    assert not np.array_equal(mid.weights["w_out"], converted(longer)["w_out"])  # training went on


@pytest.mark.parametrize(("execution", "path"), PATHS, ids=PATH_IDS)
def test_one_call_per_requested_epoch_in_range(execution, path):
    """(c): epochs outside 1..epochs are ignored; rows follow the plans' seeds; shapes are
    SNAPSHOT_SHAPES; fast chunks end at every requested epoch (one_char: 25 updates an epoch)."""
    seeds = (7, 3, 5)  # three: test_fast's compiled shape
    results, taken, calls = run(execution, path, "one_char", 4, (-1, 0, 1, 3, 5, 40), seeds)
    scenario, _ = resolve("one_char", 4)
    u, f, c = scenario.units, scenario.spec.features, scenario.n_classes
    if execution == "idiomatic":  # one seed after the other
        assert [(s.epoch, s.seeds) for s in taken] == [(e, (seed,)) for seed in seeds for e in (1, 3)]
        assert calls == [25] * 12
    else:  # all seeds together: epoch 1 alone, then chunks cut at epoch 3
        assert [(s.epoch, s.seeds) for s in taken] == [(1, seeds), (3, seeds)]
        assert calls == [3 * 25, 3 * 2 * 25, 3 * 25]
    for snap in taken:
        rows = len(snap.seeds)
        expected = {"w_ih": (rows, 4 * u, f), "w_hh": (rows, 4 * u, u), "b": (rows, 4 * u),
                    "w_out": (rows, c, u), "b_out": (rows, c)}
        assert {k: a.shape for k, a in snap.weights.items()} == expected
        assert all(a.dtype == np.float32 for a in snap.weights.values())
    assert [t.seed for t in results] == list(seeds)


@pytest.mark.parametrize(("execution", "path"), [("idiomatic", None), ("fast", "compiled")],
                         ids=["idiomatic", "fast-compiled"])
def test_snapshot_time_is_in_no_timing_figure(execution, path):
    """(d): a callback that sleeps several times the work: the figures plus the sleeps fit in
    train()'s wall time, the first epoch's included (a snapshot follows it)."""
    backend, _ = backend_for(execution, path)
    scenario, data = resolve("one_char", 3)
    plans = [make_plan(scenario, data.n_samples, seed=s, init_seed=100 + s, order_seed=s) for s in (0,)]
    list(backend.train(scenario, data, plans, lambda n: None))  # a compiled shape, compiled untimed
    sleepy = SleepyProgress()
    request = SnapshotRequest(frozenset({1, 2, 3}), lambda snap: sleepy(0))
    sleepy.begin()
    (trained,) = list(backend.train(scenario, data, plans, lambda n: None, request))
    wall = time.perf_counter() - sleepy.began
    assert len(sleepy.slept) == 3
    assert trained.timing.train_seconds + sum(sleepy.slept) <= wall, "snapshot time counted in training"
    assert trained.first_epoch_seconds + sleepy.slept[0] <= wall


@pytest.mark.parametrize(("scenario_id", "at", "epochs"), PREFIX_CASES)
@pytest.mark.parametrize("path", ["eager-stacked", "compiled"], ids=["fast-eager", "fast-compiled"])
def test_fast_snapshots_equal_idiomatic(path, scenario_id, at, epochs):
    """(e): at an intermediate epoch, each fast seed's row agrees with its idiomatic snapshot;
    one_char with three seeds, so each row is its own seed's (the others share the prefix runs)."""
    seeds = (0, 1, 2) if scenario_id == "one_char" else (0,)
    _, fast, _ = run("fast", path, scenario_id, epochs, (at,), seeds)
    (snap,) = fast
    for seed in seeds:
        _, (alone,), _ = run("idiomatic", None, scenario_id, epochs, (at,), (seed,))
        assert alone.epoch == snap.epoch == at
        assert_equal_weights(row(snap, seed), alone.weights, atol=ATOL)


@pytest.mark.parametrize(("execution", "path"), PATHS, ids=PATH_IDS)
def test_units_and_learning_rate_options(execution, path):
    """ScenarioOptions(units=8, learning_rate=0.01) trains 8-unit models at lr 0.01: Adam's first
    step moves every weight by about lr (|m / sqrt(v)| = 1), and fast equals idiomatic."""
    from backends.pytorch.backend import build_model

    options = {"units": 8, "learning_rate": 0.01}
    results, (first,), _ = run(execution, path, "batch_state", 3, (1,), (0,), **options)
    scenario, data = resolve("batch_state", 3, **options)
    assert scenario.units == 8
    (trained,) = results
    weights = trained.predictor.weights()
    assert weights["lstm.weight_hh_l0"].shape == (32, 8) and weights["head.weight"].shape == (26, 8)
    init = build_model(scenario, 100).state_dict()
    step = max(float(np.abs(first.weights["w_hh"][0] - init["lstm.weight_hh_l0"].numpy()).max()),
               float(np.abs(first.weights["w_out"][0] - init["head.weight"].numpy()).max()))
    assert step == pytest.approx(0.01, rel=1e-3)
    if execution == "fast":
        (reference,), (ref_first,), _ = run("idiomatic", None, "batch_state", 3, (1,), (0,), **options)
        assert_equal_weights(first.weights, ref_first.weights, atol=ATOL)
        assert_equal_weights(converted(trained), converted(reference), atol=ATOL)
        np.testing.assert_allclose(trained.epoch_loss, reference.epoch_loss, rtol=LOSS_RTOL)
        assert trained.epoch_accuracy == reference.epoch_accuracy
        pa, pb = trained.predictor.predict_proba(data.x), reference.predictor.predict_proba(data.x)
        assert np.array_equal(pa.argmax(axis=1), pb.argmax(axis=1))


def test_a_cut_chunk_compiles_nothing_new(monkeypatch):
    """Chunks of every length (1, 2, 3 epochs here) run through the one program of the shape."""
    import backends.pytorch.compiled as compiled

    backend_for("fast", "compiled")
    run("fast", "compiled", "one_char", 4, (1,), (0,))  # the shape's program, compiled
    compiles: list[tuple] = []
    real = compiled.compile_program
    monkeypatch.setattr(compiled, "compile_program", lambda *a: compiles.append(a[0]) or real(*a))
    backend, knobs = backend_for("fast", "compiled")
    scenario, data = resolve("one_char", 7)
    plan = make_plan(scenario, data.n_samples, seed=0, init_seed=100, order_seed=0)
    taken: list[Snapshot] = []
    request = SnapshotRequest(frozenset({3, 4, 6}), taken.append)
    list(backend.train(scenario, data, [plan], lambda n: None, request))
    assert [s.epoch for s in taken] == [3, 4, 6]
    assert len(compiles) == 1 and knobs["compile_cache"] == "process"  # one lookup, served from memory


def test_layout_snapshot_reads_either_kernel_layout_and_copies():
    """The compiled engine's transposed kernels give the same snapshot; later training (in-place
    writes) does not reach it; parameters of another layout are refused."""
    from backends.pytorch.stacked import Layout
    from backends.pytorch.update import to_engine

    layout = Layout(features=3, units=4, classes=5)
    gen = torch.Generator().manual_seed(0)
    params = tuple(torch.randn(2, *shape, generator=gen) for shape in layout.shapes)
    plain = layout.snapshot(params)
    engine = to_engine(params)
    transposed = layout.snapshot(engine, kernels_transposed=True)
    assert_equal_weights(plain, transposed)
    np.testing.assert_array_equal(plain["b"], (params[2] + params[3]).numpy())
    before = [p.clone() for p in params]
    for p in (*params, *engine[:2]):  # to_engine shares all but the kernels
        p.add_(1.0)
    np.testing.assert_array_equal(transposed["w_hh"], before[1].numpy())
    np.testing.assert_array_equal(plain["w_out"], before[4].numpy())
    with pytest.raises(ValueError, match="do not match the layout"):
        layout.snapshot(engine)

"""One timing definition: every backend's figures come from `backends.timing.Stopwatch`, and the
harness's progress reporting is never part of them.

The backend cases give `train()` a progress callback that sleeps several times the work done so
far, so the sleeps dominate on any machine, fast or slow: a figure that included them would be
at least as large as they are. Only relations are asserted, never an absolute time.
Keras on JAX/PyTorch fixes its framework at import, so those cases run in one subprocess each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends import RuntimeConfig, SeedPlan, SeedTraining, Stopwatch, Timing, is_installed, load_backend
from harness.testing import SleepyProgress  # the conformance kit's timing check uses the same callback
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 2  # two laps: the first epoch, and the rest
PORTABLE = ("keras-jax", "keras-torch")
TIMEOUT_S = 300


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stopwatch_leaves_progress_out_of_every_figure():
    clock, reported = FakeClock(), []

    def progress(updates: int) -> None:
        reported.append(updates)
        clock.now += 1000.0  # reporting takes "forever"

    watch = Stopwatch(progress, clock=clock)
    watch.start()
    clock.now += 2.0  # first epoch
    watch.lap(25)
    clock.now += 3.0  # two more epochs, one lap
    watch.lap(50)
    clock.now += 0.5  # after the last lap: still training time
    timing = watch.stop(seeds_together=4)
    assert reported == [25, 50]
    assert timing == Timing(train_seconds=5.5, first_epoch_seconds=2.0, seeds_together=4)
    assert timing.per_seed_seconds == pytest.approx(5.5 / 4)


def test_stopwatch_syncs_before_every_clock_read():
    events: list[str] = []

    def clock() -> float:
        events.append("clock")
        return 0.0

    watch = Stopwatch(lambda n: events.append("progress"), sync=lambda: events.append("sync"), clock=clock)
    watch.start()
    watch.lap(1)
    watch.stop()
    # start; lap: sync, read, then progress, timed by one more read; stop
    assert events == ["sync", "clock", "sync", "clock", "progress", "clock", "sync", "clock"]


def test_stopwatch_without_laps_and_misuse():
    clock = FakeClock()
    watch = Stopwatch(lambda n: None, clock=clock)
    with pytest.raises(RuntimeError, match="start"):
        watch.lap(1)
    watch.start()
    clock.now += 1.0
    assert watch.stop() == Timing(1.0, 0.0)
    with pytest.raises(ValueError, match="seeds_together"):
        Timing(1.0, 0.5, seeds_together=0)


def test_seed_training_reads_its_timing():
    def seed(timing: Timing) -> SeedTraining:
        return SeedTraining(0, predictor=None, epoch_loss=[], epoch_accuracy=[], timing=timing, updates=1)

    alone = seed(Timing(2.0, 0.5))
    assert (alone.train_seconds, alone.first_epoch_seconds, alone.seeds_together) == (2.0, 0.5, 1)
    assert alone.batch_train_seconds is None
    batch = seed(Timing(6.0, 1.5, seeds_together=3))
    assert (batch.train_seconds, batch.batch_train_seconds, batch.seeds_together) == (2.0, 6.0, 3)
    assert batch.first_epoch_seconds == 1.5


def test_no_backend_reads_the_clock_itself():
    """Every backend times through the Stopwatch, so all share one definition."""
    clock = re.compile(r"perf_counter|monotonic|time\.time\b|process_time")
    readers = [str(path.relative_to(ROOT)) for path in (ROOT / "backends").rglob("*.py")
               if path.name != "timing.py" and clock.search(path.read_text())]
    assert readers == []


def _plans(scenario: ResolvedScenario, seeds: int) -> list[SeedPlan]:
    epochs, n = scenario.orders_shape
    return [SeedPlan(seed=s, init_seed=10 + s,
                     orders=np.stack([np.random.default_rng(s).permutation(n) for _ in range(epochs)]))
            for s in range(seeds)]


def measure(backend: Any, scenario_id: str, seeds: int, warm_up: bool) -> dict[str, Any]:
    """Train with a sleepy progress callback; the figures, the sleeps and train()'s wall time.

    `warm_up` first trains the same shapes once, so a cached compiled program (fast executions)
    does not make the measured call pay compilation: the sleeps, which follow the work, stay short.
    """
    scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=EPOCHS))
    data, plans = build_data(scenario), _plans(scenario, seeds)
    if warm_up:
        list(backend.train(scenario, data, plans, lambda n: None))
    progress = SleepyProgress()
    progress.begin()
    trained = list(backend.train(scenario, data, plans, progress))
    wall = time.perf_counter() - progress.began
    return {"wall": wall, "slept": progress.slept, "updates_reported": progress.updates,
            "expected_updates": seeds * scenario.updates_per_seed,
            "timings": [[t.timing.train_seconds, t.timing.first_epoch_seconds, t.timing.seeds_together]
                        for t in trained],
            "per_seed": [[t.train_seconds, t.batch_train_seconds] for t in trained]}


def assert_progress_left_out(result: dict[str, Any], seeds: int) -> None:
    slept, timings = result["slept"], result["timings"]
    assert result["updates_reported"] == result["expected_updates"]
    assert len(slept) >= 2 and result["wall"] >= sum(slept)
    assert len(timings) == seeds
    for (train, first, together), (per_seed, batch) in zip(timings, result["per_seed"], strict=True):
        assert 0 < first <= train
        # Left out, the sleeps and the figure add up to at most train()'s wall time; counted in,
        # the figure alone holds the sleeps, and the sum exceeds the wall by the sleeps again.
        assert train + sum(slept) <= result["wall"], "progress time counted in train_seconds"
        assert first + slept[0] <= result["wall"], "progress time counted in first_epoch_seconds"
        assert together == (seeds if batch is not None else 1)
        assert per_seed == pytest.approx(train / together)


IN_PROCESS = [  # (backend, execution, scenario, seeds)
    ("keras", "idiomatic", "one_char", 1),
    ("keras", "idiomatic", "stateful", 1),  # one `fit` per epoch
    ("keras", "fast", "one_char", 2),
    ("torch", "idiomatic", "one_char", 1),
    ("torch", "fast", "one_char", 2),
]


@pytest.mark.parametrize(("name", "execution", "scenario_id", "seeds"), IN_PROCESS)
def test_progress_time_is_not_training_time(name, execution, scenario_id, seeds):
    pytest.importorskip("tensorflow" if name == "keras" else "torch")
    backend = load_backend(name)
    knobs = backend.setup(RuntimeConfig(threads=1, execution=execution))
    if name == "torch" and execution == "fast":
        knobs["fast_path"] = "eager-stacked"  # the compiled step runs in the same timed loop; cheaper
    result = measure(backend, scenario_id, seeds, warm_up=execution == "fast")
    assert_progress_left_out(result, seeds)
    if execution == "fast":
        assert all(t[2] == seeds for t in result["timings"])


def _portable_probe(name: str) -> dict[str, Any]:
    """Runs in a fresh process (Keras fixes its framework at import): both executions, measured."""
    from backends import apply_env

    apply_env(name)
    backend = load_backend(name)
    out = {}
    for execution in ("idiomatic", "fast"):
        backend.setup(RuntimeConfig(threads=1, execution=execution))
        out[execution] = measure(backend, "one_char", 1, warm_up=True)
    return out


@pytest.fixture(scope="module")
def portable(tmp_path_factory) -> dict[str, Any]:
    """Both Keras-on-JAX/PyTorch probes, run concurrently (their sleeps cost no CPU). JAX's
    compilation cache serves the measured model the warm-up model's programs, so its sleeps stay
    short; it changes compile time only, never the compiled code."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(JAX_COMPILATION_CACHE_DIR=str(tmp_path_factory.mktemp("jax-cache")),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0", JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    started = {}
    for name in PORTABLE:
        if is_installed(name):
            code = ("import json; from tests.backends.test_timing import _portable_probe; "
                    f"print(json.dumps(_portable_probe({name!r})))")
            started[name] = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 0, f"{name} probe failed:\n{stderr[-4000:]}"
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


@pytest.mark.parametrize("execution", ["idiomatic", "fast"])
@pytest.mark.parametrize("name", PORTABLE)
def test_portable_progress_time_is_not_training_time(portable, name, execution):
    if name not in portable:
        pytest.skip(f"{name} is not installed")
    assert_progress_left_out(portable[name][execution], 1)

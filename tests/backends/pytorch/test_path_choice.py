"""Which torch fast path a job takes (backends/pytorch/paths.py): eager where compiling would cost
more than the job's updates, compiled where it pays back; ALPHABET_BENCH_TORCH_PATH overrides it,
and the knobs name the path and the reason."""

from __future__ import annotations

import pytest

from backends import RuntimeConfig, load_backend
from backends.pytorch import paths
from harness.runs.plan import QUICK_SEEDS, RunRequest, resolve
from scenarios import ResolvedScenario, get_scenario, scenario_ids
from tests.backends.pytorch.test_backend import make_plan, train
from tests.backends.pytorch.test_backend import resolve as resolve_epochs

pytest.importorskip("torch")


def auto(scenario: ResolvedScenario, seeds: int) -> tuple[str, str]:
    return paths.choose("auto", scenario.updates_per_seed, scenario.spec.timesteps, seeds)


@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_a_quick_runs_every_job_runs_eager(scenario_id):
    quick = RunRequest(scenarios=(scenario_id,), backends=("torch",), seeds=(0, 1), quick=True)
    path, reason = auto(resolve(quick, scenario_id), QUICK_SEEDS)
    assert path == paths.EAGER and reason.startswith("auto: eager")


@pytest.mark.parametrize("scenario_id", ["one_char", "feature_window", "timestep_window", "stateful",
                                         "variable_length"])
def test_a_tutorial_length_job_of_ten_seeds_compiles(scenario_id):
    path, reason = auto(ResolvedScenario(get_scenario(scenario_id)), 10)
    assert path == paths.COMPILED and reason.startswith("auto: ~")


def test_the_rule_compares_eager_updates_with_compile_plus_compiled_updates():
    """The break-even moves with the compile estimate, the time steps and the seeds, each the way
    the per-step costs say."""
    def crossing(timesteps: int, seeds: int) -> int:
        return next(u for u in range(0, 100_000, 100)
                    if paths.choose("auto", u, timesteps, seeds)[0] == paths.COMPILED)

    one = crossing(1, 2)
    at, before = paths.estimate(one, 1, 2), paths.estimate(one - 100, 1, 2)
    assert at.compiled <= at.eager and before.eager < before.compiled
    assert crossing(5, 2) < one and crossing(1, 50) < one  # dearer eager steps: compile sooner
    assert paths.choose("auto", 0, 1, 1)[0] == paths.EAGER  # nothing to train: nothing to compile


def test_the_setting_overrides_the_rule_and_a_typo_is_refused():
    full = ResolvedScenario(get_scenario("one_char"))
    tiny = full.with_epochs(2)
    assert paths.choose("compiled", tiny.updates_per_seed, 1, 2) == (paths.COMPILED,
                                                                     f"{paths.PATH_ENV}=compiled")
    assert paths.choose("eager", full.updates_per_seed, 1, 10) == (paths.EAGER, f"{paths.PATH_ENV}=eager")
    assert paths.choose("auto", full.updates_per_seed, 1, 10, device="cuda")[0] == paths.COMPILED
    assert paths.setting({}) == "auto" and paths.setting({paths.PATH_ENV: " Eager "}) == "eager"
    with pytest.raises(ValueError, match="use one of auto, compiled, eager"):
        paths.setting({paths.PATH_ENV: "jit"})


def fast_backend(monkeypatch, chosen: str):
    monkeypatch.setenv(paths.PATH_ENV, chosen)
    backend = load_backend("torch")
    return backend, backend.setup(RuntimeConfig(threads=1, execution="fast"))


def train_one_char(backend, epochs: int = 2):
    scenario, data = resolve_epochs("one_char", epochs)
    return train(backend, scenario, data, [make_plan(scenario, data.n_samples, seed=s) for s in (0, 1)])


def test_auto_trains_a_tiny_job_eagerly_and_says_why(monkeypatch):
    backend, knobs = fast_backend(monkeypatch, "auto")
    assert knobs["fast_path"] == "auto" and knobs["fast_path_setting"] == "auto"
    assert "fast_path_compiler" not in knobs  # auto loads the compiler only for a job that compiles
    results = train_one_char(backend)
    run = backend.run_knobs()
    assert run["fast_path"] == knobs["fast_path"] == paths.EAGER
    assert run["fast_path_reason"].startswith("auto: eager ~") and run["fast_path_setting"] == "auto"
    assert "compile_cache" not in run and len(results) == 2


def test_eager_setting_is_recorded_as_the_reason(monkeypatch):
    backend, knobs = fast_backend(monkeypatch, "eager")
    assert knobs["fast_path"] == paths.EAGER
    train_one_char(backend)
    assert backend.run_knobs()["fast_path_reason"] == f"{paths.PATH_ENV}=eager"


def test_each_call_is_decided_anew_and_the_setting_compiles_a_tiny_job(monkeypatch):
    """After an eager call the knob shows eager-stacked, yet the next call asks the rule again."""
    backend, knobs = fast_backend(monkeypatch, "auto")
    train_one_char(backend)
    assert knobs["fast_path"] == paths.EAGER
    if paths.compiler_knobs()["fast_path"] != paths.COMPILED:
        pytest.skip(f"no compiled fast path here: {paths.compiler_knobs().get('fast_path_note')}")
    monkeypatch.setattr(paths, "COMPILE_SECONDS", 0.0)  # compiling now always pays
    train_one_char(backend)
    run = backend.run_knobs()
    assert run["fast_path"] == knobs["fast_path"] == paths.COMPILED and run["compile_cache"]
    assert run["fast_path_reason"].startswith("auto: ~0 s compile")

    forced, forced_knobs = fast_backend(monkeypatch, "compiled")
    assert forced_knobs["fast_path"] == paths.COMPILED  # setup loads the compiler, as before
    train_one_char(forced)
    assert forced.run_knobs()["fast_path"] == paths.COMPILED
    assert forced.run_knobs()["fast_path_reason"] == f"{paths.PATH_ENV}=compiled"


def test_a_knob_set_after_setup_forces_the_path(monkeypatch):
    backend, knobs = fast_backend(monkeypatch, "auto")
    knobs["fast_path"] = paths.EAGER
    monkeypatch.setattr(paths, "COMPILE_SECONDS", 0.0)  # the rule would compile
    for _ in range(2):  # and stays forced on the next call (tests keep one instance per path)
        train_one_char(backend)
        assert backend.run_knobs()["fast_path"] == paths.EAGER
        assert backend.run_knobs()["fast_path_reason"] == "fast_path='eager-stacked' set after setup"
    assert load_backend("torch").run_knobs() == {}  # nothing trained: nothing to say


def test_the_record_names_the_path_its_job_ran(tmp_path, monkeypatch):
    """The two paths agree to float rounding only, so each record carries the path its own job
    took (the worker merges the backend's run_knobs over setup's knobs), not setup's "auto"."""
    import harness

    monkeypatch.delenv(paths.PATH_ENV, raising=False)
    results = harness.run("one_char", "torch", seeds=2, epochs=2, out=tmp_path / "run", progress=False)
    (record, other) = results.records
    for r in (record, other):
        assert r["runtime"]["fast_path"] == paths.EAGER, r["runtime"]
        assert r["runtime"]["fast_path_reason"].startswith("auto: eager"), r["runtime"]
        assert r["runtime"]["fast_path_setting"] == "auto"

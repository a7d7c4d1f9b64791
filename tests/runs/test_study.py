"""The study preset: which runs it makes, and the epochs scale every run can use."""

from __future__ import annotations

from harness.runs.plan import RunRequest, plan_jobs, resolve
from harness.runs.study import BUDGET_SCENARIOS, EPS_SCENARIOS, SWEEP_GRID, study_parts
from scenarios import NATIVE_ADAM_EPS, ScenarioOptions


def test_epochs_scale_multiplies_each_tutorial_budget_and_is_recorded_as_epochs():
    request = RunRequest(("one_char", "batch_state"), ("torch",), (0,), epochs_scale=8, execution="fast")
    assert resolve(request, "one_char").epochs == 4000
    assert resolve(request, "batch_state").epochs == 40000
    assert resolve(request, "one_char", ScenarioOptions(epochs=7)).epochs == 7  # explicit epochs win
    jobs = plan_jobs(request, "run")
    assert {j.scenario.options.epochs for j in jobs} == {4000, 40000}  # in the record's options
    assert {j.profile for j in jobs} == {"custom"}


def test_study_parts_cover_the_budget_the_init_and_epsilon_ablations_and_the_grid():
    base = RunRequest((), ("keras", "torch"), (), workers=2, cores=2, command="python -m harness study")
    parts = study_parts(base, budget_seeds=20, sweep_seeds=10, scale=8)
    assert [p.folder for p in parts] == ["budget"] * 5 + ["sweep"]
    budget, keras_init, torch_init, keras_eps, torch_eps, sweep = (p.request for p in parts)
    assert budget.scenarios == BUDGET_SCENARIOS and "variable_length" not in budget.scenarios
    assert budget.seeds == tuple(range(20)) and budget.epochs_scale == 8
    assert budget.backends == ("keras", "torch")
    assert all(r.time_to_learn and r.execution == "fast" and not r.idiomatic_timing
               for r in (budget, keras_init, torch_init, sweep))
    # Each framework from the other's initialisation, at the same long budget.
    assert (keras_init.backends, keras_init.options.init) == (("keras",), "torch")
    assert (torch_init.backends, torch_init.options.init) == (("torch",), "keras")
    assert keras_init.epochs_scale == 8
    # Each framework with the other's Adam epsilon, where PyTorch relapses after touching 100 %.
    assert (keras_eps.backends, keras_eps.options.adam_eps) == (("keras",), NATIVE_ADAM_EPS["torch"])
    assert (torch_eps.backends, torch_eps.options.adam_eps) == (("torch",), NATIVE_ADAM_EPS["keras"])
    assert keras_eps.scenarios == torch_eps.scenarios == EPS_SCENARIOS == ("timestep_window", "stateful")
    assert keras_eps.epochs_scale == 8 and keras_eps.seeds == budget.seeds and keras_eps.time_to_learn
    assert sweep.epochs_scale == 1 and sweep.seeds == tuple(range(10))
    assert len(sweep.grid) == len(SWEEP_GRID["units"]) * len(SWEEP_GRID["learning_rate"]) == 12
    assert sweep.seed_runs == 2 * 12 * 2 * 10

"""The study preset: what the tutorial's claims are worth, as a few ordinary runs.

Two folders, each an ordinary run folder with its own report:
- `budget/`: the five cheap scenarios (all but variable_length) at K times the tutorial's
  epochs, both frameworks, anytime evaluation with the time-to-learn curve; plus the init
  ablation rows (PyTorch with Keras's initialisation, Keras with PyTorch's) at the same budget,
  so "where the gap comes from" covers time to learn as it covers accuracy; and the Adam-epsilon
  swap (each framework with the other's epsilon) on the scenarios where PyTorch relapses after
  touching 100 %, to ask whether the epsilon explains the relapses.
- `sweep/`: a units × learning-rate grid on one_char and feature_window at the tutorial's
  epochs, with anytime evaluation and the curve.
Every part resumes like any run, so an interrupted study picks up where it stopped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from harness.runs.grid import grid_points
from harness.runs.plan import RunRequest
from scenarios import NATIVE_ADAM_EPS, ScenarioOptions

BUDGET_SCENARIOS = ("one_char", "feature_window", "timestep_window", "batch_state", "stateful")
SWEEP_SCENARIOS = ("one_char", "feature_window")
SWEEP_GRID = {"units": (8, 16, 32, 64), "learning_rate": (0.001, 0.003, 0.01)}
EPOCHS_SCALE = 8
BUDGET_SEEDS = 20
SWEEP_SEEDS = 10
# The init ablation: each framework trained from the other's initialisation.
OTHER_INIT = {"torch": "keras", "keras": "torch"}
# The epsilon ablation, on the scenarios where PyTorch seeds relapse after first touching 100 %.
EPS_SCENARIOS = ("timestep_window", "stateful")


@dataclass(frozen=True)
class StudyPart:
    folder: str  # under the study's folder
    title: str
    request: RunRequest


def study_parts(base: RunRequest, budget_seeds: int = BUDGET_SEEDS, sweep_seeds: int = SWEEP_SEEDS,
                scale: int = EPOCHS_SCALE) -> list[StudyPart]:
    """The study's runs, in order. `base` carries the backends, workers, executor and command;
    scenarios, seeds and options are the study's own."""
    common = replace(base, options=ScenarioOptions(), execution="fast", idiomatic_timing=False,
                     time_to_learn=True, eval_at=None, quick=False, grid=())
    budget = replace(common, scenarios=BUDGET_SCENARIOS, seeds=tuple(range(budget_seeds)), epochs_scale=scale)
    title = f"{len(BUDGET_SCENARIOS)} scenarios at {scale}× the tutorial's epochs"
    parts = [StudyPart("budget", title, budget)]
    for backend in base.backends:
        if backend in OTHER_INIT:
            parts.append(StudyPart("budget", f"{backend} with {OTHER_INIT[backend]}'s initialisation",
                                   replace(budget, backends=(backend,),
                                           options=ScenarioOptions(init=OTHER_INIT[backend]))))
    for backend in base.backends:
        if backend in OTHER_INIT:
            eps = NATIVE_ADAM_EPS[OTHER_INIT[backend]]
            parts.append(StudyPart("budget", f"{backend} with {OTHER_INIT[backend]}'s Adam epsilon ({eps:g})",
                                   replace(budget, backends=(backend,), scenarios=EPS_SCENARIOS,
                                           options=ScenarioOptions(adam_eps=eps))))
    sweep = replace(common, scenarios=SWEEP_SCENARIOS, seeds=tuple(range(sweep_seeds)),
                    grid=grid_points(ScenarioOptions(), SWEEP_GRID))
    parts.append(StudyPart("sweep", "units × learning rate at the tutorial's epochs", sweep))
    return parts


def started_now(part: StudyPart, now: dt.datetime | None = None) -> StudyPart:
    """The part stamped with its own start, taken as it begins. The report's wall time of a run spans
    its `run_started` to its last record, so parts stamped with the study's start each counted the
    parts before them (the sweep showed 0:08:19 for a 3.5-minute run)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return replace(part, request=replace(part.request, run_started=now.isoformat(timespec="seconds")))

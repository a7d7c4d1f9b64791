"""Which path a torch `fast` job runs: "compiled" (inductor) or "eager-stacked"; the same updates.

Why a rule: compiling the update costs seconds per new shape (4–6 s cold here, under 1 s from
inductor's disk caches), after which a step costs ~30–850 µs; an eager step costs ~0.9–4 ms
and nothing up front. A job of a few thousand updates per seed (`run --quick`, a test's two
epochs) is done eagerly before the compiler would be; a tutorial-length job pays the compile
back many times over. The estimate is a function of the job alone (updates per seed, LSTM time
steps, seeds), never of the cache's state or of timings on disk, so the same command always
takes the same path: the two paths agree to float rounding only (~1e-6 on the weights after
2,000 updates), not bit for bit. The constants, and the command that measured them
(`python -m backends.pytorch.path_costs`), are in docs/engines.md ("Which fast path a torch job takes").
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

PATH_ENV = "ALPHABET_BENCH_TORCH_PATH"
SETTINGS = ("auto", "compiled", "eager")
COMPILED, EAGER = "compiled", "eager-stacked"  # the paths, as runtime.fast_path names them
# Knobs one train() call writes (TorchBackend.run_knobs), cleared before the next call writes its own.
RUN_KEYS = ("fast_path_note", "fast_path_reason", "compile_cache", "compile_cache_counters", "compiled_call")
# Measured here (2 cores, 1 thread per job, see docs/engines.md); rough, within ~30 %.
COMPILE_SECONDS = 6.0  # a cold inductor compile of one update shape
EAGER_STEP_US = (650.0, 150.0, 40.0)  # one eager step: base + per LSTM time step + per seed
COMPILED_STEP_US = (10.0, 15.0, 8.0)  # one compiled step, the same terms


def setting(environ: Mapping[str, str] | None = None) -> str:
    """The user's choice from ALPHABET_BENCH_TORCH_PATH (default "auto"); refuses a typo."""
    value = (os.environ if environ is None else environ).get(PATH_ENV, "").strip().lower() or "auto"
    if value not in SETTINGS:
        raise ValueError(f"{PATH_ENV}={value!r}: use one of {', '.join(SETTINGS)}")
    return value


@dataclass(frozen=True)
class Estimate:
    """Seconds a job's updates would take each way (compile included on the compiled side)."""

    eager: float
    compiled_steps: float

    @property
    def compiled(self) -> float:
        return COMPILE_SECONDS + self.compiled_steps


def step_us(terms: tuple[float, float, float], timesteps: int, seeds: int) -> float:
    base, per_timestep, per_seed = terms
    return base + per_timestep * timesteps + per_seed * seeds


def estimate(updates_per_seed: int, timesteps: int, seeds: int) -> Estimate:
    """The job's estimated seconds on each path: one stacked step updates every seed."""
    return Estimate(updates_per_seed * step_us(EAGER_STEP_US, timesteps, seeds) / 1e6,
                    updates_per_seed * step_us(COMPILED_STEP_US, timesteps, seeds) / 1e6)


def choose(chosen: str, updates_per_seed: int, timesteps: int, seeds: int,
           device: str = "cpu") -> tuple[str, str]:
    """(the path to run, why: recorded as runtime.fast_path_reason) for one job.

    `chosen` is `setting()`; "auto" picks the path the estimate says finishes first. On a GPU
    auto keeps compiling: the costs above are CPU figures.
    """
    if chosen != "auto":
        return (COMPILED if chosen == "compiled" else EAGER), f"{PATH_ENV}={chosen}"
    if device != "cpu":
        return COMPILED, f"auto: compiled on {device} (the rule's costs are measured on a CPU)"
    cost = estimate(updates_per_seed, timesteps, seeds)
    compiled = f"~{COMPILE_SECONDS:g} s compile + {cost.compiled_steps:.1f} s of compiled updates"
    if cost.eager < cost.compiled:
        return EAGER, f"auto: eager ~{cost.eager:.1f} s of updates < {compiled}"
    return COMPILED, f"auto: {compiled} < eager ~{cost.eager:.1f} s"


def setup_knobs(chosen: str) -> dict:
    """Setup's fast knobs: "auto" decides per job in train(), loading the compiler only for a job
    that compiles (~3 s per process here); "compiled" loads it now, so setup says whether one was
    found; "eager" never loads it."""
    if chosen == "compiled":
        return {"fast_path_setting": chosen, **compiler_knobs()}
    return {"fast_path_setting": chosen, "fast_path": "auto" if chosen == "auto" else EAGER}


@functools.cache
def compiler_knobs() -> dict:
    """Compile the fast step only where inductor finds a C++ compiler; else stacked eager.

    Where it does, the compiler stack is loaded here, once per process and untimed
    (compiled.prepare); the model's own compilation stays in its first epoch.
    """
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        from backends.pytorch.compiled import prepare

        return {"fast_path": COMPILED, "fast_path_compiler": get_cpp_compiler(), **prepare()}
    except Exception as exc:  # private API or no compiler: eager is always available
        return {"fast_path": EAGER, "fast_path_note": f"{type(exc).__name__}: {exc}"}


"""The backend conformance kit: does a backend keep the contract of `backends.base`?

Why: a backend written outside this repository (a plugin, `docs/plugins.md`) must train what the
harness plans, exactly as the built-in ones do, or its records are not comparable. The kit runs
the checks the built-in backends' own tests rely on, in this process, driving the backend as a
worker does, at a budget small enough for a plugin's CI (seconds per scenario on a CPU):

    from harness.testing import check_backend
    report = check_backend("mine")          # raises BackendCheckError naming the failed check
    print(report)                           # what passed, what did not apply and why

Needs numpy only (no pytest). The checks, in order (`CHECKS`): imports, config, training, probes,
determinism, reference, transfer, fast, snapshots, timing; see each one's docstring and
`harness.conformance.compare` for the tolerances.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from harness.conformance.checks_loop import check_determinism, check_fast, check_snapshots, check_timing
from harness.conformance.checks_model import (
    check_config,
    check_imports,
    check_probes,
    check_reference,
    check_training,
    check_transfer,
)
from harness.conformance.compare import FAST_LOSS_RTOL, FAST_PROBA_ATOL, FAST_WEIGHT_ATOL, REFERENCE_ATOL
from harness.conformance.report import BackendCheckError, CheckResult, CheckSkipped, KitReport
from harness.conformance.session import Budget, Session, Sleeper, SleepyProgress
from scenarios import scenario_ids

CHECKS: dict[str, Callable[[Session], str]] = {
    "imports": check_imports,  # the backend module imports no framework
    "config": check_config,  # unsupported execution/device refused, naming the valid choices
    "training": check_training,  # one well-formed SeedTraining per plan, progress whole epochs
    "probes": check_probes,  # the scenario's probes present, well formed, JSON-ready
    "determinism": check_determinism,  # same plans twice: identical, bit for bit
    "reference": check_reference,  # predictions = the numpy reference on the weights
    "transfer": check_transfer,  # set_weights round-trips and predicts as the reference
    "fast": check_fast,  # fast = idiomatic within FAST_* tolerances
    "snapshots": check_snapshots,  # anytime snapshots as requested; the prefix property
    "timing": check_timing,  # Stopwatch rules: callbacks in no figure, first lap = first epoch
}
SEEDS = (0, 1)
EPOCHS = 3


def check_backend(name: str, *, scenarios: Sequence[str] | None = None, seeds: Sequence[int] = SEEDS,
                  epochs: int = EPOCHS, checks: Sequence[str] | None = None) -> KitReport:
    """Run the kit's `checks` (default: all) on backend `name` (any registered backend: built-in,
    entry point or $ALPHABET_BENCH_BACKENDS) over `scenarios` (default: all six; variable_length
    with 100 samples), `seeds` and `epochs`; the report of what passed and what was skipped, or
    BackendCheckError naming the first check that failed."""
    chosen = tuple(checks) if checks is not None else tuple(CHECKS)
    unknown = [c for c in chosen if c not in CHECKS]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; valid choices: {', '.join(CHECKS)}")
    ids = tuple(scenarios) if scenarios is not None else tuple(scenario_ids())
    bad = [sid for sid in ids if sid not in scenario_ids()]
    if bad or not ids:
        raise ValueError(f"scenarios {bad or '(none)'}: valid choices: {', '.join(scenario_ids())}")
    if epochs < 1 or not seeds:
        raise ValueError(f"need at least one seed and one epoch, got seeds {list(seeds)}, epochs {epochs}")
    try:
        session = Session(name, Budget(ids, tuple(seeds), epochs))
    except BackendCheckError:
        raise
    except Exception as exc:
        raise BackendCheckError(name, "load", f"{type(exc).__name__}: {exc}") from exc
    report = KitReport(name)
    for check in chosen:
        began = time.perf_counter()
        try:
            detail, status = CHECKS[check](session), "passed"
        except CheckSkipped as skip:
            detail, status = str(skip), "skipped"
        except BackendCheckError:
            raise
        except Exception as exc:
            raise BackendCheckError(name, check, str(exc) if isinstance(exc, AssertionError)
                                    else f"{type(exc).__name__}: {exc}") from exc
        report.results.append(CheckResult(check, status, detail, time.perf_counter() - began))
    return report


__all__ = [
    "CHECKS",
    "FAST_LOSS_RTOL",
    "FAST_PROBA_ATOL",
    "FAST_WEIGHT_ATOL",
    "REFERENCE_ATOL",
    "BackendCheckError",
    "CheckResult",
    "KitReport",
    "Sleeper",
    "SleepyProgress",
    "check_backend",
]

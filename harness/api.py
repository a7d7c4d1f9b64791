"""The Python API: `harness.run`, `harness.sweep`, `harness.load`, for scripts and Jupyter.

A call is the CLI's command in Python: the same `RunArguments`, the same checks (bad input raises
`ValueError`/`TypeError` with the line the CLI prints), the same request, planner, executors,
resume, records and report (`harness.launch` → the run driver). The progress bar is rich's,
which renders in Jupyter (with ipywidgets: `pip install -e '.[notebook]'`). Where the CLI exits 1
for failed seeds, a call raises `RunFailed` (every seed failed) or warns `SeedsFailedWarning`.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.launch import RunArguments, build_request, build_sweep, launch, output_folder
from harness.records import new_run_id
from harness.results import Results
from harness.runs.display import TerminalDisplay
from harness.runs.driver import RunOutcome
from harness.validate import UsageTypeError, one_line, results_folder

Names = str | Sequence[str] | None
RENAMED = ("scenario", "backend", "seeds", "seed", "anytime")  # RunArguments' names the API spells otherwise
# Every keyword `run` takes, in the order the error names them (`sweep` takes `grid` too).
KEYWORDS = ("scenarios", "backends", "seeds", "epochs", "execution", "out", "fresh", "progress",
            "checkpoints",
            *(f for f in RunArguments.__dataclass_fields__ if f not in (*RENAMED, "epochs", "execution")))


class RunFailed(RuntimeError):
    """Every seed the call trained failed (a worker crashed or raised; a diverged seed is a result,
    not a failure): nothing to analyse, so not a silent return. `.results` holds their rows."""

    def __init__(self, message: str, results: Results) -> None:
        super().__init__(message)
        self.results = results


class SeedsFailedWarning(UserWarning):
    """Some seeds of the call failed: the returned `Results` holds them as rows with their error."""


def _names(flag: str, value: Names) -> tuple[str, ...] | None:
    """One name, several, or None (the default); "all" is every scenario, as `--all` is."""
    if value is None or value == "all":
        return None
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise UsageTypeError(f"{flag}: {value!r} is not a name or a list of names")
    return tuple(value)


def _seed_arguments(seeds: Any) -> tuple[Any, tuple[Any, ...] | None]:
    """(`--seeds N`, `--seed S …`) from `seeds`: a count or an iterable of seeds, not a str."""
    if seeds is None:
        return None, None
    if isinstance(seeds, str | bytes | Mapping):
        raise UsageTypeError(f"seeds: {seeds!r} is not a count or a list of seeds")
    if isinstance(seeds, Iterable):
        return None, tuple(seeds)
    return seeds, None  # a count; `--seeds` checks that it is a positive integer


def _check_keywords(options: Mapping[str, Any], call: str) -> None:
    """An unknown keyword is bad input like any other: one line naming the valid ones."""
    unknown = [key for key in options if key not in KEYWORDS]
    if not unknown:
        return
    named = ", ".join(repr(key) for key in unknown)
    if set(unknown) <= set(RENAMED):
        hint = "use scenarios=, backends=, seeds= or checkpoints="
    else:
        hint = "valid keywords: " + ", ".join(("grid", *KEYWORDS) if call == "sweep" else KEYWORDS)
    plural = "s" if len(unknown) > 1 else ""
    raise UsageTypeError(f"harness.{call}(): unexpected keyword argument{plural} {named}; {hint}")


def _arguments(scenarios: Names, backends: Names, seeds: int | Iterable[int] | None,
               options: dict[str, Any]) -> RunArguments:
    """The CLI's arguments from the API's keywords: `seeds` is a count (`--seeds N`) or a list of
    seeds (`--seed S …`); `checkpoints=False` is `--no-checkpoints`; other keywords are the flags'
    names in snake_case (the caller has checked them with `_check_keywords`)."""
    if "checkpoints" in options:
        options["anytime"] = bool(options.pop("checkpoints"))
    if isinstance(options.get("eval_at"), int):
        options["eval_at"] = (options["eval_at"],)
    count, listed = _seed_arguments(seeds)
    return RunArguments(scenario=_names("--scenario", scenarios), backend=_names("--backend", backends),
                        seeds=count, seed=listed, **options)


def _call(name: str, given: dict[str, Any]) -> str:
    """The call as the records' `command` shows it, e.g. `harness.run(scenarios='one_char', seeds=3)`."""
    shown = ", ".join(f"{k}={v!r}" for k, v in given.items() if v is not None)
    return f"harness.{name}({shown})"


class _Progress(TerminalDisplay):
    """The terminal's progress bar and notes (rich: inline in Jupyter); the summary is the returned
    `Results`' to show."""

    def finished(self, outcome: RunOutcome) -> None:
        if outcome.failed:
            self.console.print(f"[red]{outcome.failed} seed(s) failed[/]: their rows in .frame say why")


def _display(progress: bool) -> _Progress | None:
    return _Progress(Console()) if progress else None  # None: the driver's Silent


def _start(name: str, request_of: Any, given: dict[str, Any], out: str | Path | None,
           timeout: int | None, fresh: bool, progress: bool) -> Results:
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    request = request_of(_call(name, given), started)
    run_id = new_run_id()
    outcome = launch(request, output_folder(out, run_id), run_id, timeout, fresh, _display(progress))
    return _unless_failed(Results.from_folder(outcome.out, outcome), run_id)


def _unless_failed(results: Results, run_id: str) -> Results:
    """The CLI exits 1 when seeds failed; a call raises when all of them did, else warns."""
    outcome = results.outcome
    failed = [r for r in outcome.records if r["run_id"] == run_id and r["status"] == "failed"]
    if not failed:
        return results
    first = one_line(str(failed[0].get("error") or "no error recorded"))
    if len(failed) >= outcome.trained:
        raise RunFailed(f"all {len(failed)} seed run(s) of this call failed; the first: {first} (their rows: "
                        f".results.frame; the workers' logs: {outcome.out / 'logs'})", results)
    warnings.warn(SeedsFailedWarning(f"{len(failed)} of {outcome.trained} seed runs failed; the first: "
                                     f"{first} (their rows in .frame say why)"), stacklevel=4)
    return results


def run(scenarios: Names = None, backends: Names = None, seeds: int | Iterable[int] | None = None,
        epochs: int | None = None, execution: str = "fast", out: str | Path | None = None, *,
        fresh: bool = False, progress: bool = True, **options: Any) -> Results:
    """`python -m harness run` from Python; returns the folder's `Results` (every seed it holds).

    scenarios / backends: a name, a list, or None for all (backends: every installed default one).
    seeds: a count (seeds 0..N-1; default 10, or 2 with quick=True) or a list of seeds. epochs: every
    scenario's epochs (default: the tutorial's). out: the folder; an existing one resumes, as the CLI.
    options: the other `run` flags in snake_case (quick, epochs_scale, workers, timeout, encoding,
    data_seed, init, adam_eps, gate_activation, units, learning_rate, device, executor, ray_address,
    idiomatic_timing, eval_at, time_to_learn) and checkpoints=False for --no-checkpoints.
    Bad input raises ValueError/TypeError with the CLI's message. A failed seed is a row with its
    error; if every seed the call trained failed, `RunFailed` (its `.results` holds them), if some
    did, a `SeedsFailedWarning`.
    """
    _check_keywords(options, "run")
    given = {"scenarios": scenarios, "backends": backends, "seeds": seeds, "epochs": epochs,
             "execution": execution, **options}
    arguments = _arguments(scenarios, backends, seeds, {"epochs": epochs, "execution": execution, **options})
    return _start("run", lambda command, started: build_request(arguments, command, started), given, out,
                  arguments.timeout, fresh, progress)


def _grid_items(grid: Mapping[str, Any]) -> list[str]:
    """A grid {key: values} as the CLI's `key=v1,v2` items, so the same parser checks its values."""
    if not isinstance(grid, Mapping):
        raise UsageTypeError(f"grid: {grid!r} is not a dict such as {{'units': [8, 16, 32]}}")
    items = []
    for key, values in grid.items():
        listed = [values] if isinstance(values, str) or not isinstance(values, Iterable) else list(values)
        items.append(f"{key}={','.join(str(v) for v in listed)}")
    return items


def sweep(grid: Mapping[str, Any], scenarios: Names = None, backends: Names = None,
          seeds: int | Iterable[int] | None = None, execution: str = "fast", out: str | Path | None = None,
          *, fresh: bool = False, progress: bool = True, **options: Any) -> Results:
    """`python -m harness sweep` from Python: every combination of `grid` (e.g. {"units": [8, 16],
    "learning_rate": [0.001, 0.01]}) is an ordinary run's options, into one folder. Takes every
    `run` keyword; a key both in the grid and set as a keyword is refused, as on the command line.
    Failed seeds raise or warn as in `run`."""
    _check_keywords(options, "sweep")
    given = {"grid": dict(grid) if isinstance(grid, Mapping) else grid, "scenarios": scenarios,
             "backends": backends, "seeds": seeds, "execution": execution, **options}
    items = _grid_items(grid)
    arguments = _arguments(scenarios, backends, seeds, {"execution": execution, **options})
    return _start("sweep", lambda command, started: build_sweep(arguments, items, command, started), given,
                  out, arguments.timeout, fresh, progress)


def load(folder: str | Path) -> Results:
    """The `Results` of a folder a run wrote, without training: partial folders load, a torn line is
    skipped and listed in `.warnings` (as `python -m harness report` does); a newer schema raises."""
    return Results.from_folder(results_folder(folder))

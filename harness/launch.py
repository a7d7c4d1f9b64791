"""From arguments to a run, for every front end: the CLI and the Python API fill the same
`RunArguments`, build the request through the same checks (`harness.validate`) and hand it to
the same driver (`harness.runs.driver.run_request`). There is no second code path.

Importing this module stays light (no pandas, no framework): the driver is imported when a run starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from backends import DEVICES, EXECUTIONS, gpu_count
from harness import validate
from harness.machine import cpu_count
from harness.runs.grid import grid_points, parse_grid
from harness.runs.plan import QUICK_SEEDS, RunRequest
from harness.validate import UsageError
from scenarios import ENCODINGS, GATE_ACTIVATIONS, INITS, MAX_UNITS, SCENARIOS, ScenarioOptions

DEFAULT_SEEDS = 10
EXECUTORS = ("local", "ray")
MAX_EPOCHS_SCALE = 1000


@dataclass(frozen=True)
class RunArguments:
    """What `run` and `sweep` take, named as the CLI's argparse destinations (`--seed S …` is
    `seed`, `--no-checkpoints` is `anytime=False`); the defaults are the CLI's."""

    scenario: Sequence[str] | None = None  # None: every scenario
    backend: Sequence[str] | None = None  # None: every installed default backend
    seeds: int | None = None  # seeds 0..N-1 (None: 10, or 2 with quick)
    seed: Sequence[int] | None = None  # explicit seeds instead
    epochs: int | None = None
    epochs_scale: int | None = None  # None: 1
    quick: bool = False
    workers: int | None = None  # None: the cores
    execution: str = "fast"
    idiomatic_timing: bool | None = None  # None: sampled unless the run is one of seconds
    encoding: str = "zero_based"
    init: str = "native"
    adam_eps: float | None = None
    gate_activation: str = "sigmoid"
    device: str = "cpu"
    executor: str = "local"
    ray_address: str | None = None
    data_seed: int = 7
    timeout: int | None = None
    units: int | None = None
    learning_rate: float | None = None
    anytime: bool = True
    eval_at: Sequence[int] | None = None
    time_to_learn: bool = False

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> RunArguments:
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


def _seeds(a: RunArguments) -> tuple[int, ...]:
    if a.seed is not None:
        if isinstance(a.seed, str) or not isinstance(a.seed, Sequence | set | frozenset | range):
            raise validate.UsageTypeError(f"--seed: {a.seed!r} is not a list of seeds")
        if not a.seed:
            raise UsageError("--seed: no seeds given; give at least one, or a count with --seeds")
        return tuple(dict.fromkeys(validate.seed("--seed", s) for s in a.seed))
    if a.seeds is None:
        return tuple(range(QUICK_SEEDS if a.quick else DEFAULT_SEEDS))
    return tuple(range(validate.positive("--seeds", a.seeds)))


def _options(a: RunArguments) -> ScenarioOptions:
    return ScenarioOptions(
        encoding=validate.choice("--encoding", a.encoding, ENCODINGS, "an encoding"),
        data_seed=validate.seed("--data-seed", a.data_seed),
        epochs=None if a.epochs is None else validate.positive("--epochs", a.epochs),
        init=validate.choice("--init", a.init, INITS, "an initialisation"),
        adam_eps=None if a.adam_eps is None else validate.number("--adam-eps", a.adam_eps, False, "1e-7"),
        gate_activation=validate.choice("--gate-activation", a.gate_activation, GATE_ACTIVATIONS,
                                        "a gate activation"),
        units=None if a.units is None else validate.integer("--units", a.units, 1, MAX_UNITS),
        learning_rate=(None if a.learning_rate is None
                       else validate.number("--learning-rate", a.learning_rate, True, "0.001")),
    )


def build_request(a: RunArguments, command: str, started: str) -> RunRequest:
    """The request `run` makes of these arguments, every value and combination checked first."""
    scenarios = validate.names("--scenario", a.scenario, list(SCENARIOS), "a scenario") if a.scenario else ()
    execution = validate.choice("--execution", a.execution, EXECUTIONS, "an execution")
    backends = validate.check_backends(a.backend, (execution,))
    seeds = _seeds(a)
    options = _options(a)
    scale = 1 if a.epochs_scale is None else validate.integer(
        "--epochs-scale", a.epochs_scale, 1, MAX_EPOCHS_SCALE)
    if a.epochs is not None and a.epochs_scale is not None:
        raise UsageError("--epochs-scale is not allowed with --epochs: both set the epochs; give one of them")
    if a.quick and scale != 1:
        raise UsageError("--quick and --epochs-scale both set the epochs; give one of them")
    eval_at = None if a.eval_at is None else tuple(sorted({validate.positive("--eval-at", e)
                                                           for e in a.eval_at}))
    if eval_at is not None and not a.anytime:
        raise UsageError("--eval-at is not allowed with --no-checkpoints (no anytime evaluation); "
                         "give one of them")
    if a.time_to_learn and not a.anytime:
        raise UsageError("--time-to-learn needs anytime evaluation; drop --no-checkpoints")
    device = validate.choice("--device", a.device, DEVICES, "a device")
    executor = validate.choice("--executor", a.executor, EXECUTORS, "an executor")
    if a.ray_address and executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if a.timeout is not None:
        validate.positive("--timeout", a.timeout)
    if device == "cuda" and executor == "local":
        blind = [name for name in backends if gpu_count(name) < 1]
        if blind:
            raise UsageError(f"--device cuda: no GPU visible to {', '.join(blind)} on this machine; "
                             "valid choices here: --device cpu (or --executor ray on a cluster with GPUs)")
    cores = cpu_count()
    workers = cores if a.workers is None else validate.positive("--workers", a.workers)
    return RunRequest(
        scenarios=scenarios or tuple(SCENARIOS), backends=backends, seeds=seeds, options=options,
        quick=bool(a.quick), workers=workers,
        cores=cores, command=command, run_started=started, execution=execution, device=device,
        executor=executor, ray_address=a.ray_address, idiomatic_timing=a.idiomatic_timing,
        eval_at=eval_at or None, epochs_scale=scale, time_to_learn=bool(a.time_to_learn),
        anytime=bool(a.anytime),
    )


def build_sweep(a: RunArguments, grid_items: Sequence[str], command: str, started: str) -> RunRequest:
    """A run whose options are every point of the grid (`key=v1,v2` items); sweeps take no
    idiomatic timing sample (their question is accuracy: `run` measures speed)."""
    try:
        grid = parse_grid(grid_items)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    defaults = RunArguments()
    for key in grid:
        if getattr(a, key) != getattr(defaults, key):
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{key} is set by both {flag} and --grid; give it in one place")
    if (a.quick or a.epochs_scale not in (None, 1)) and "epochs" in grid:
        raise UsageError("--quick and --epochs-scale set the epochs; drop them or drop epochs from --grid")
    request = build_request(a, command, started)
    try:
        points = grid_points(request.options, grid)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return replace(request, grid=points, idiomatic_timing=False)


def output_folder(out: Path | str | None, run_id: str) -> Path:
    """`--out`, or a new `reports/run-<id>/` beside the user (not in site-packages)."""
    if out is not None and not isinstance(out, str | Path):
        raise validate.UsageTypeError(f"--out: {out!r} is not a path")
    folder = Path(out) if out is not None else Path.cwd() / "reports" / f"run-{run_id}"
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} exists and is not a folder; choose a folder path")
    return folder


def launch(request: RunRequest, out: Path, run_id: str, timeout: float | None, fresh: bool,
           display: Any) -> Any:
    """Connect to Ray where asked, pick the folder (`fresh`: a new one beside `out`), run the driver.
    Returns the driver's `RunOutcome`."""
    from harness.lock import FolderBusyError
    from harness.runs.driver import run_request
    from harness.store import has_results

    try:
        if request.executor == "ray":
            connect_ray(request)
        if fresh and has_results(out):  # a packed (committed) folder too
            out = out.with_name(f"{out.name}-{run_id}")
        return run_request(request, out, run_id, timeout, display)
    except FolderBusyError as exc:
        raise UsageError(str(exc)) from None


def connect_ray(request: RunRequest) -> None:
    """Reach (or start) the Ray cluster before anything is written."""
    from harness.runs.ray_cluster import RayUnavailableError, connect

    try:
        connect(request.ray_address, None if request.ray_address else request.cores,
                need_gpu=request.device == "cuda")
    except RayUnavailableError as exc:
        raise UsageError(str(exc)) from None



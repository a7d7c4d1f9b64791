"""`python -m harness`: list scenarios and backends, run the benchmark, render reports."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from backends import (
    backend_names,
    default_backends,
    distribution_versions,
    get_entry,
    gpu_count,
    installed_backends,
    is_installed,
    supported_executions,
)
from harness.cli_parser import DEFAULT_SEEDS, UsageError, build_parser
from harness.machine import cpu_count
from harness.records import SchemaTooNewError, new_run_id
from harness.runs.plan import QUICK_SEEDS, RunRequest
from scenarios import SCENARIOS, ResolvedScenario, ScenarioOptions


def _backends(names: list[str] | None, executions: tuple[str, ...]) -> tuple[str, ...]:
    """The backends asked for (default: every installed one), each installed and able to run
    every execution in `executions`."""
    backends = tuple(dict.fromkeys(names or default_backends()))
    if not backends:
        raise UsageError("no backend is installed; install one: pip install -e '.[torch]' or '.[keras]'")
    for name in backends:
        if not is_installed(name):
            raise UsageError(
                f"backend {name!r} is not installed; install it: pip install -e '.[{get_entry(name).extra}]'"
                f" (installed: {', '.join(installed_backends()) or 'none'})"
            )
        for execution in executions:
            if execution not in supported_executions(name):
                raise UsageError(f"backend {name!r} does not implement {execution!r} execution; "
                                 f"valid choices: {', '.join(supported_executions(name))}")
    return backends


def _run_request(args: argparse.Namespace, command: str, started: str) -> RunRequest:
    backends = _backends(args.backend, (args.execution,))
    if args.seed:
        seeds = tuple(dict.fromkeys(args.seed))
    else:
        seeds = tuple(range(args.seeds or (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)))
    if args.time_to_learn and not args.anytime:
        raise UsageError("--time-to-learn needs anytime evaluation; drop --no-checkpoints")
    if args.quick and args.epochs_scale != 1:
        raise UsageError("--quick and --epochs-scale both set the epochs; give one of them")
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if args.device == "cuda" and args.executor == "local":
        blind = [name for name in backends if gpu_count(name) < 1]
        if blind:
            raise UsageError(f"--device cuda: no GPU visible to {', '.join(blind)} on this machine; "
                             "valid choices here: --device cpu (or --executor ray on a cluster with GPUs)")
    cores = cpu_count()
    return RunRequest(
        scenarios=tuple(dict.fromkeys(args.scenario or SCENARIOS)),
        backends=backends,
        seeds=seeds,
        options=ScenarioOptions(encoding=args.encoding, data_seed=args.data_seed, epochs=args.epochs,
                                init=args.init, adam_eps=args.adam_eps, gate_activation=args.gate_activation,
                                units=args.units, learning_rate=args.learning_rate),
        quick=args.quick,
        workers=args.workers or cores,
        cores=cores,
        command=command,
        run_started=started,
        execution=args.execution,
        device=args.device,
        executor=args.executor,
        ray_address=args.ray_address,
        idiomatic_timing=args.idiomatic_timing,
        eval_at=tuple(sorted(set(args.eval_at))) if args.eval_at else None,
        epochs_scale=args.epochs_scale,
        time_to_learn=args.time_to_learn,
        anytime=args.anytime,
    )


# A grid key's command-line flag, its argparse default, so a key set both ways is refused.
_FLAG_DEFAULTS = {"units": None, "learning_rate": None, "epochs": None, "init": "native",
                  "gate_activation": "sigmoid", "adam_eps": None, "encoding": "zero_based", "data_seed": 7}


def _sweep_request(args: argparse.Namespace, command: str, started: str) -> RunRequest:
    """A run whose options are every point of the grid; sweeps take no idiomatic timing sample
    (their question is accuracy: `run` measures speed)."""
    from harness.runs.grid import grid_points, parse_grid

    try:
        grid = parse_grid(args.grid)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for key in grid:
        if getattr(args, key) != _FLAG_DEFAULTS[key]:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{key} is set by both {flag} and --grid; give it in one place")
    if (args.quick or args.epochs_scale != 1) and "epochs" in grid:
        raise UsageError("--quick and --epochs-scale set the epochs; drop them or drop epochs from --grid")
    request = _run_request(args, command, started)
    try:
        points = grid_points(request.options, grid)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return replace(request, grid=points, idiomatic_timing=False)


def _out_dir(args: argparse.Namespace, run_id: str) -> Path:
    out = args.out or Path.cwd() / "reports" / f"run-{run_id}"  # beside the user, not site-packages
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder; choose a folder path")
    return out


def cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    scenarios = Table(title="Scenarios")
    for column in ("id", "title", "tutorial accuracy %", "epochs", "updates per seed"):
        scenarios.add_column(column)
    for spec in SCENARIOS.values():
        updates = ResolvedScenario(spec).updates_per_seed
        scenarios.add_row(spec.id, spec.title, f"{spec.tutorial_accuracy:.2f}", str(spec.epochs),
                          f"{updates:,}")
    backends = Table(title="Backends")
    for column in ("name", "installed", "default", "GPU", "versions", "pip install -e"):
        backends.add_column(column)
    for name in backend_names():
        versions = ", ".join(f"{k} {v}" for k, v in distribution_versions(name).items() if v)
        installed = is_installed(name)
        default = "yes" if get_entry(name).default else "opt-in"
        gpus = gpu_count(name) if installed else 0
        backends.add_row(name, "yes" if installed else "no", default, f"yes ({gpus})" if gpus else "no",
                         versions or "—", escape(f"'.[{get_entry(name).extra}]'"))
    cluster = _ray_nodes(args.ray_address) if args.ray_address else None  # an error before any table
    console = Console()
    console.print(scenarios)
    console.print(backends)
    if cluster is not None:
        console.print(cluster)
    elif os.environ.get("RAY_ADDRESS"):
        address = os.environ["RAY_ADDRESS"]
        print(f"ray: RAY_ADDRESS={address} is set: --executor ray joins that cluster; "
              f"list --ray-address {address} shows its nodes")
    return 0


def _ray_nodes(address: str) -> object:
    """The cluster's nodes and their resources, joined the way `run --executor ray` joins."""
    from rich.table import Table

    from harness.runs.ray_cluster import RayUnavailableError, cluster_nodes

    try:
        nodes = cluster_nodes(address)
    except RayUnavailableError as exc:
        raise UsageError(str(exc)) from None
    table = Table(title=f"Ray cluster at {address}")
    for column in ("node", "id", "role", "alive", "resources"):
        table.add_column(column)
    for node in nodes:
        resources = ", ".join(f"{k} {v:g}" for k, v in sorted(node["resources"].items()))
        table.add_row(node["node"], node["id"], "head" if node["head"] else "worker",
                      "yes" if node["alive"] else "no", resources or "—")
    return table


def cmd_run(args: argparse.Namespace, argv: list[str], sweep: bool = False) -> int:
    from harness.lock import FolderBusyError
    from harness.runs.display import TerminalDisplay
    from harness.runs.driver import run_request
    from harness.store import results_path

    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    command = "python -m harness " + shlex.join(argv)
    request = (_sweep_request if sweep else _run_request)(args, command, started)
    run_id = new_run_id()
    out = _out_dir(args, run_id)
    try:
        if getattr(args, "verify", False):
            return _verify(request, out)
        if request.executor == "ray":
            _connect_ray(request)
        if args.fresh and results_path(out).is_file():
            out = out.with_name(f"{out.name}-{run_id}")
        return run_request(request, out, run_id, args.timeout, TerminalDisplay()).exit_code
    except FolderBusyError as exc:
        raise UsageError(str(exc)) from None


def cmd_study(args: argparse.Namespace, argv: list[str]) -> int:
    """Each part of the study is an ordinary run into its folder (so each resumes on its own)."""
    from harness.lock import FolderBusyError
    from harness.runs.display import TerminalDisplay
    from harness.runs.driver import run_request
    from harness.runs.study import study_parts

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder; choose a folder path")
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    cores = cpu_count()
    base = RunRequest(scenarios=(), backends=_backends(args.backend, ("fast",)), seeds=(),
                      workers=args.workers or cores, cores=cores, run_started=started,
                      command="python -m harness " + shlex.join(argv))
    code = 0
    display = TerminalDisplay()
    for part in study_parts(base, args.seeds, args.sweep_seeds, args.epochs_scale):
        display.note(f"study: {part.title} → {args.out / part.folder}")
        try:
            outcome = run_request(part.request, args.out / part.folder, new_run_id(), None, display)
        except FolderBusyError as exc:
            raise UsageError(str(exc)) from None
        code = max(code, outcome.exit_code)
    return code


def _connect_ray(request: RunRequest) -> None:
    """Reach (or start) the Ray cluster before anything is written."""
    from harness.runs.ray_cluster import RayUnavailableError, connect

    try:
        connect(request.ray_address, None if request.ray_address else request.cores,
                need_gpu=request.device == "cuda")
    except RayUnavailableError as exc:
        raise UsageError(str(exc)) from None


def _verify(request: RunRequest, out: Path) -> int:
    from harness.runs.verify import verify

    _results_dir(out)
    code = verify(request, out)
    if code is None:
        raise UsageError(f"{out} holds no ok record for this scenario/backend/seed selection to verify")
    return code


def _results_dir(folder: Path) -> Path:
    from harness.store import results_path

    results = results_path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; pass the folder that holds {results.name}")
    if not results.is_file():
        raise UsageError(f"{results} does not exist; pass a folder written by 'python -m harness run'")
    return folder


def cmd_speed(args: argparse.Namespace) -> int:
    from harness.reporting.figures import write_scaling_figure
    from harness.runs.speed import measure, speed_table

    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; pass a file path such as speed.md")
    executions = ("idiomatic", "fast")
    counts = tuple(sorted(set(args.seeds)))
    request = RunRequest(
        scenarios=tuple(dict.fromkeys(args.scenario or ["one_char", "variable_length"])),
        backends=_backends(args.backend, executions),
        seeds=tuple(range(counts[-1])),
        options=ScenarioOptions(epochs=args.epochs),
        cores=cpu_count(),
        command="python -m harness speed",
    )
    frame = measure(request, executions, args.epochs, counts)
    figure = args.out.with_suffix(".png") if args.out is not None else None
    if figure is not None and not write_scaling_figure(frame, figure):
        figure = None
    text = speed_table(frame, figure.name if figure else None)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.reporting.compare import render_comparison

    text = render_comparison(_results_dir(args.dir_a), _results_dir(args.dir_b))
    if args.out is not None:
        if args.out.is_dir():
            raise UsageError(f"--out {args.out} is a folder; pass a file path such as compare.md")
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness.reporting.bench_json import BenchmarkJsonError, load_benchmarks
    from harness.reporting.report import write_report

    if args.benchmark_json is None:
        _results_dir(args.dir)
    elif not args.dir.is_dir():
        raise UsageError(f"{args.dir} is not a folder; pass the folder the report should go to")
    if args.benchmark_json is not None:
        try:
            load_benchmarks(args.benchmark_json)
        except BenchmarkJsonError as exc:
            raise UsageError(str(exc)) from None
    path, warnings = write_report(args.dir, args.benchmark_json)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {path}")
    return 0


def _one_line(text: str) -> str:
    """Control characters escaped (argparse quotes the user's own tokens, newlines included),
    so an error is always exactly one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            return cmd_list(args)
        if args.command in ("run", "sweep"):
            return cmd_run(args, argv, sweep=args.command == "sweep")
        if args.command == "study":
            return cmd_study(args, argv)
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "speed":
            return cmd_speed(args)
        return cmd_report(args)
    except (UsageError, SchemaTooNewError) as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; records written so far are kept", file=sys.stderr)
        return 130

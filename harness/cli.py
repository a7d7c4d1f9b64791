"""`python -m harness`: list scenarios and backends, run the benchmark, render reports."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
from pathlib import Path

from harness.cli_parser import UsageError, build_parser
from harness.launch import RunArguments, build_request, build_sweep, launch, output_folder
from harness.machine import cpu_count
from harness.records import SchemaTooNewError, new_run_id
from harness.runs.plan import RunRequest
from harness.validate import check_backends, one_line, results_folder
from scenarios import ScenarioOptions


def cmd_list(args: argparse.Namespace) -> int:
    """The scenarios and backends (tables that read at 80 columns: `harness.terminal`)."""
    from rich.console import Console

    from harness.terminal import backend_table, scenario_table

    cluster = _ray_nodes(args.ray_address) if args.ray_address else None  # an error before any table
    console = Console()
    console.print(scenario_table())
    console.print()
    console.print(backend_table())
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
    """`run` and `sweep`: the arguments checked and run by `harness.launch`, as the Python API does."""
    from harness.lock import FolderBusyError
    from harness.runs.display import TerminalDisplay

    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    command = "python -m harness " + shlex.join(argv)
    arguments = RunArguments.from_namespace(args)
    request = (build_sweep(arguments, args.grid, command, started) if sweep
               else build_request(arguments, command, started))
    run_id = new_run_id()
    out = output_folder(args.out, run_id)
    if getattr(args, "verify", False):
        try:
            return _verify(request, out)
        except FolderBusyError as exc:
            raise UsageError(str(exc)) from None
    return launch(request, out, run_id, args.timeout, args.fresh, TerminalDisplay()).exit_code


def cmd_study(args: argparse.Namespace, argv: list[str]) -> int:
    """Each part of the study is an ordinary run into its folder (so each resumes on its own)."""
    from harness.lock import FolderBusyError
    from harness.runs.display import TerminalDisplay
    from harness.runs.driver import run_request
    from harness.runs.study import started_now, study_parts

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder; choose a folder path")
    cores = cpu_count()
    base = RunRequest(scenarios=(), backends=check_backends(args.backend, ("fast",)), seeds=(),
                      workers=args.workers or cores, cores=cores,
                      command="python -m harness " + shlex.join(argv))
    code = 0
    display = TerminalDisplay()
    for part in study_parts(base, args.seeds, args.sweep_seeds, args.epochs_scale):
        display.note(f"study: {part.title} → {args.out / part.folder}")
        try:
            # each part its own start, so the report's wall time of each run is that run's own
            request = started_now(part).request
            outcome = run_request(request, args.out / part.folder, new_run_id(), None, display)
        except FolderBusyError as exc:
            raise UsageError(str(exc)) from None
        code = max(code, outcome.exit_code)
    return code


def _verify(request: RunRequest, out: Path) -> int:
    from harness.runs.verify import verify

    results_folder(out)
    code = verify(request, out)
    if code is None:
        raise UsageError(f"{out} holds no ok record for this scenario/backend/seed selection to verify")
    return code


def cmd_speed(args: argparse.Namespace) -> int:
    from harness.reporting.scaling import write_scaling_figure
    from harness.runs.speed import add_floor, measure, speed_table

    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; pass a file path such as speed.md")
    executions = ("idiomatic", "fast")
    counts = tuple(sorted(set(args.seeds)))
    request = RunRequest(
        scenarios=tuple(dict.fromkeys(args.scenario or ["one_char", "variable_length"])),
        backends=check_backends(args.backend, executions),
        seeds=tuple(range(counts[-1])),
        options=ScenarioOptions(epochs=args.epochs),
        cores=1,  # one thread per job, as the floor program and as a run's jobs on a 2-core machine
        command="python -m harness speed",
    )
    frame = measure(request, executions, args.epochs, counts)
    frame, floor_notes = (frame, []) if args.no_floor else add_floor(frame, request)
    figure = args.out.with_suffix(".png") if args.out is not None else None
    if figure is not None and not write_scaling_figure(frame, figure):
        figure = None
    text = speed_table(frame, figure.name if figure else None, floor_notes)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.reporting.compare import render_comparison

    text = render_comparison(results_folder(args.dir_a), results_folder(args.dir_b))
    if args.out is not None:
        if args.out.is_dir():
            raise UsageError(f"--out {args.out} is a folder; pass a file path such as compare.md")
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness.reporting.report import write_report
    from harness.reporting.sections.benchmarks import BenchmarkJsonError, load_benchmarks

    if args.benchmark_json is None:
        results_folder(args.dir)
    elif not args.dir.is_dir():
        raise UsageError(f"{args.dir} is not a folder; pass the folder the report should go to")
    if args.benchmark_json is not None:
        try:
            load_benchmarks(args.benchmark_json)
        except BenchmarkJsonError as exc:
            raise UsageError(str(exc)) from None
    if args.out is not None:
        _check_report_out(args.out)
    path, warnings = write_report(args.dir, args.benchmark_json, args.out)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {path}")
    return 0


def _check_report_out(out: Path) -> None:
    """`report --out` must be, or be creatable as, a folder: checked before anything is written."""
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} exists and is not a folder; choose a folder path")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:  # a bare `python -m harness`: the commands, then a usage error
            print(parser.format_help(), end="")
            raise UsageError("a command is required: one of those above")
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
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; records written so far are kept", file=sys.stderr)
        return 130

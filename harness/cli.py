"""`python -m harness`: list scenarios and backends, run the benchmark, render reports."""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from pathlib import Path
from typing import NoReturn

from backends import (
    EXECUTIONS,
    backend_names,
    distribution_versions,
    get_entry,
    installed_backends,
    is_installed,
    supported_executions,
)
from harness.machine import cpu_count
from harness.plan import RunRequest, updates_per_seed
from harness.records import SchemaTooNewError, new_run_id
from scenarios import ENCODINGS, INITS, SCENARIOS, ResolvedScenario, ScenarioOptions

DEFAULT_SEEDS = 10


class UsageError(Exception):
    """Bad input: reported as one line, exit code 2, nothing written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be a positive integer (≥ 1)")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0 or value >= 2**31:
        raise argparse.ArgumentTypeError(f"{value} must be an integer in 0..2147483647")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="scenarios and backends")
    run = sub.add_parser("run", help="train scenarios × backends × seeds, write results and report")
    which = run.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every scenario (the default)")
    which.add_argument("--scenario", nargs="+", action="extend", choices=list(SCENARIOS),
                       metavar="ID", help=f"one or more of: {', '.join(SCENARIOS)}")
    run.add_argument("--backend", nargs="+", action="extend", choices=backend_names(),
                     metavar="NAME", help=f"one or more of: {', '.join(backend_names())} "
                     "(default: every installed one)")
    seeds = run.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=_positive, metavar="N", help=f"seeds 0..N-1 (default {DEFAULT_SEEDS})")
    seeds.add_argument("--seed", type=_non_negative, nargs="+", action="extend", metavar="S",
                       help="explicit seeds")
    run.add_argument("--epochs", type=_positive, help="override every scenario's epochs")
    run.add_argument("--quick", action="store_true",
                     help="smoke profile: 2 seeds, epochs cut to ~2,500 updates per seed")
    run.add_argument("--workers", type=_positive, default=None,
                     help="parallel worker processes (default: the cores)")
    run.add_argument("--execution", choices=EXECUTIONS, default="fast",
                     help="fast (default): compiled loop, seeds trained together, same updates; "
                     "idiomatic: the way people write it (Keras fit, eager PyTorch)")
    run.add_argument("--encoding", choices=ENCODINGS, default="zero_based",
                     help="zero_based: the tutorial's (26 classes); one_based: the seed notebook's (27)")
    run.add_argument("--init", choices=INITS, default="native",
                     help="weight initialisation: native (each framework's own), keras or torch "
                     "(the other framework's defaults, for the ablation); shown as e.g. torch[init=keras]")
    run.add_argument("--data-seed", type=_non_negative, default=7, help="seed of the variable_length data")
    run.add_argument("--out", type=Path,
                     help="output folder (default: a new folder under reports/); an existing one resumes")
    run.add_argument("--fresh", action="store_true",
                     help="never resume: write into a new folder next to --out")
    run.add_argument("--timeout", type=_positive, metavar="SECONDS",
                     help="kill a job running longer than this; its seeds are recorded as failed")
    run.add_argument("--verify", action="store_true",
                     help="retrain one stored seed of --out and check it reproduces its predictions")
    report = sub.add_parser("report", help="render DIR/report.md again from DIR/results.jsonl")
    report.add_argument("dir", type=Path, metavar="DIR")
    report.add_argument("--benchmark-json", type=Path, metavar="FILE",
                        help="also render the timing table of a pytest-benchmark JSON file")
    speed = sub.add_parser("speed", help="measure idiomatic vs fast execution side by side")
    speed.add_argument("--scenario", nargs="+", action="extend", choices=list(SCENARIOS), metavar="ID",
                       help="default: one_char variable_length")
    speed.add_argument("--backend", nargs="+", action="extend", choices=backend_names(), metavar="NAME")
    speed.add_argument("--seeds", type=_positive, default=10, metavar="N", help="seeds trained per job")
    speed.add_argument("--epochs", type=_positive,
                       help="epochs per job (default: a few seconds of work per scenario)")
    speed.add_argument("--out", type=Path, help="also write the table to this markdown file")
    compare = sub.add_parser("compare", help="markdown table of what changed between two runs")
    compare.add_argument("dir_a", type=Path, metavar="DIR_A")
    compare.add_argument("dir_b", type=Path, metavar="DIR_B")
    compare.add_argument("--out", type=Path, help="also write the table to this file")
    return parser


def _request(args: argparse.Namespace, command: str, started: str) -> RunRequest:
    backends = tuple(dict.fromkeys(args.backend or installed_backends()))
    if not backends:
        raise UsageError("no backend is installed; install one: pip install -e '.[torch]' or '.[keras]'")
    for name in backends:
        if not is_installed(name):
            raise UsageError(
                f"backend {name!r} is not installed; install it: pip install -e '.[{get_entry(name).extra}]'"
                f" (installed: {', '.join(installed_backends()) or 'none'})"
            )
    if args.seed:
        seeds = tuple(dict.fromkeys(args.seed))
    else:
        seeds = tuple(range(args.seeds or (2 if args.quick else DEFAULT_SEEDS)))
    execution = getattr(args, "execution", "idiomatic")
    for name in backends:
        if execution not in supported_executions(name):
            raise UsageError(f"backend {name!r} does not implement {execution!r} execution; "
                             f"valid choices: {', '.join(supported_executions(name))}")
    cores = cpu_count()
    return RunRequest(
        scenarios=tuple(dict.fromkeys(args.scenario or SCENARIOS)),
        backends=backends,
        seeds=seeds,
        options=ScenarioOptions(encoding=args.encoding, data_seed=args.data_seed, epochs=args.epochs,
                                init=getattr(args, "init", "native")),
        quick=args.quick,
        workers=args.workers or cores,
        cores=cores,
        command=command,
        run_started=started,
        execution=execution,
    )


def _out_dir(args: argparse.Namespace, run_id: str) -> Path:
    out = args.out or Path.cwd() / "reports" / f"run-{run_id}"  # beside the user, not site-packages
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder; choose a folder path")
    return out


def cmd_list() -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    scenarios = Table(title="Scenarios")
    for column in ("id", "title", "tutorial accuracy %", "epochs", "updates per seed"):
        scenarios.add_column(column)
    for spec in SCENARIOS.values():
        updates = updates_per_seed(ResolvedScenario(spec))
        scenarios.add_row(spec.id, spec.title, f"{spec.tutorial_accuracy:.2f}", str(spec.epochs),
                          f"{updates:,}")
    backends = Table(title="Backends")
    for column in ("name", "installed", "versions", "install with"):
        backends.add_column(column)
    for name in backend_names():
        versions = ", ".join(f"{k} {v}" for k, v in distribution_versions(name).items() if v)
        backends.add_row(name, "yes" if is_installed(name) else "no", versions or "—",
                         escape(f"pip install -e '.[{get_entry(name).extra}]'"))
    console = Console()
    console.print(scenarios)
    console.print(backends)
    return 0


def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from harness.lock import FolderBusyError
    from harness.runner import run_resumable
    from harness.store import results_path

    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    command = "python -m harness " + shlex.join(argv)
    request = _request(args, command, started)
    run_id = new_run_id()
    out = _out_dir(args, run_id)
    try:
        if args.verify:
            return _verify(request, out)
        if args.fresh and results_path(out).is_file():
            out = out.with_name(f"{out.name}-{run_id}")
        return run_resumable(request, out, run_id, timeout=args.timeout)
    except (FolderBusyError, SchemaTooNewError) as exc:
        raise UsageError(str(exc)) from None


def _verify(request: RunRequest, out: Path) -> int:
    from harness.verify import verify

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
    from harness.speed import measure, speed_table

    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; pass a file path such as speed.md")
    args.seed, args.quick, args.workers = None, False, 1
    args.encoding, args.data_seed = "zero_based", 7
    args.scenario = args.scenario or ["one_char", "variable_length"]
    request = _request(args, "python -m harness speed", "")
    executions = ("idiomatic", "fast")
    for name in request.backends:
        missing = [e for e in executions if e not in supported_executions(name)]
        if missing:
            raise UsageError(f"backend {name!r} does not implement {', '.join(missing)} execution")
    text = speed_table(measure(request, executions, args.epochs))
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.compare import render_comparison

    text = render_comparison(_results_dir(args.dir_a), _results_dir(args.dir_b))
    if args.out is not None:
        if args.out.is_dir():
            raise UsageError(f"--out {args.out} is a folder; pass a file path such as compare.md")
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness.bench_json import BenchmarkJsonError, load_benchmarks
    from harness.report import write_report

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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            return cmd_list()
        if args.command == "run":
            return cmd_run(args, argv)
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "speed":
            return cmd_speed(args)
        return cmd_report(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SchemaTooNewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; records written so far are kept", file=sys.stderr)
        return 130

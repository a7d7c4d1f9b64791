"""The command line of `python -m harness`: every subcommand and flag.

argparse only turns tokens into Python values here ("'x' is not an integer"). What those values
may be is checked by `harness.validate` / `harness.launch`, the one validation layer the Python
API calls too, so both report bad input with the same one-line message and write nothing.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from backends import DEVICES, EXECUTIONS, backend_names
from harness import validate
from harness.launch import DEFAULT_SEEDS, EXECUTORS, MAX_EPOCHS_SCALE
from harness.runs.grid import GRID_KEYS
from harness.validate import UsageError
from scenarios import ENCODINGS, GATE_ACTIVATIONS, INITS, SCENARIOS

__all__ = ["DEFAULT_SEEDS", "EXECUTORS", "UsageError", "build_parser"]

DESCRIPTION = ("alphabet-bench: trains the tutorial's \"learn the alphabet\" LSTM tasks in Keras and "
               "PyTorch over many seeds and reports accuracy, training time, per-letter errors and what "
               "the tutorial's claims are worth.")
EPILOG = ("python -m harness COMMAND --help shows a command's options. A first look: "
          "python -m harness list, then python -m harness run --quick.")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # "argument --seeds: …" -> "--seeds: …", the form the validation layer (and the API) uses
        raise UsageError(message.removeprefix("argument "))


def _token(kind: type, noun: str) -> Callable[[str], int | float]:
    """An argparse type that only parses: the value's range is the validation layer's to check."""

    def parse(text: str) -> int | float:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None

    return parse


_int = _token(int, "an integer")
_float = _token(float, "a number")


def _checked(check: Callable[[str, int], int]) -> Callable[[str], int]:
    """An argparse type for the subcommands the API does not have (study, speed): parsed, then
    checked by the validation layer, argparse naming the flag."""

    def parse(text: str) -> int:
        try:
            return check("", _int(text))
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


_positive = _checked(validate.positive)


def _scale(flag: str, value: int) -> int:
    return validate.integer(flag, value, 1, MAX_EPOCHS_SCALE)


def spec_defaults(field: str) -> str:
    """A tutorial hyper-parameter across the scenarios, e.g. "32; batch_state 16, stateful 50": the
    common value, then the scenarios that differ (read from the specs, so help never goes stale)."""
    values = {spec.id: getattr(spec, field) for spec in SCENARIOS.values()}
    common = Counter(values.values()).most_common(1)[0][0]
    others = ", ".join(f"{sid} {value}" for sid, value in values.items() if value != common)
    return f"{common}; {others}" if others else str(common)


def _choices(values: object) -> str:
    return "{" + ",".join(values) + "}"  # type: ignore[arg-type]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m harness", description=DESCRIPTION, epilog=EPILOG, add_help=False)
    # Not required here: `main` answers a bare `python -m harness` with this help and exit 2.
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND", parser_class=_Parser)
    # -h after the commands, so the help lists the commands right under what the tool does.
    parser.add_argument_group("options").add_argument("-h", "--help", action="help",
                                                      help="show this help and exit")
    listing = sub.add_parser("list", help="scenarios and backends (and a Ray cluster's nodes)")
    listing.add_argument("--ray-address", metavar="ADDRESS",
                         help="also show this Ray cluster's nodes and resources")
    run = sub.add_parser("run", help="train scenarios × backends × seeds into a report")
    _run_arguments(run)
    run.add_argument("--verify", action="store_true",
                     help="retrain one stored seed of --out and check it reproduces its predictions")
    sweep = sub.add_parser("sweep", help="run every point of a grid of options into one folder")
    sweep.add_argument("--grid", nargs="+", action="extend", required=True, metavar="KEY=V1,V2",
                       help="options to sweep, e.g. units=8,16,32 learning_rate=0.001,0.01; keys: "
                       f"{', '.join(GRID_KEYS)}; every combination is an ordinary run into one folder")
    _run_arguments(sweep)
    study = sub.add_parser("study", help="the committed study: long budgets, ablations, a sweep",
                           description="Long budgets with anytime evaluation and time to learn, the "
                           "init and Adam-epsilon ablations, and a units × learning-rate sweep.")
    study.add_argument("--out", type=Path, default=Path("reports/study"),
                       help="study folder (default reports/study); its budget/ and sweep/ resume")
    study.add_argument("--backend", nargs="+", action="extend", choices=backend_names(), metavar="NAME",
                       help="default: keras torch (those installed)")
    study.add_argument("--seeds", type=_positive, default=20, metavar="N", help="seeds of the budget runs")
    study.add_argument("--sweep-seeds", type=_positive, default=10, metavar="N", help="seeds per grid point")
    study.add_argument("--epochs-scale", type=_checked(_scale), default=8, metavar="K",
                       help="the budget runs' epochs: K times the tutorial's (default 8)")
    study.add_argument("--workers", type=_positive, default=None,
                       help="parallel worker processes (default: the cores)")
    report = sub.add_parser("report", help="render DIR/report.md again from DIR/results.jsonl")
    report.add_argument("dir", type=Path, metavar="DIR")
    report.add_argument("--benchmark-json", type=Path, metavar="FILE",
                        help="also render the timing table of a pytest-benchmark JSON file")
    report.add_argument("--out", type=Path, metavar="OUT_DIR",
                        help="write report.md and its figures here instead of DIR (created if missing), "
                        "e.g. to re-render a committed folder without touching it")
    speed = sub.add_parser("speed", help="measure idiomatic vs fast execution side by side")
    speed.add_argument("--scenario", nargs="+", action="extend", choices=list(SCENARIOS), metavar="ID",
                       help="default: one_char variable_length")
    speed.add_argument("--backend", nargs="+", action="extend", choices=backend_names(), metavar="NAME")
    speed.add_argument("--seeds", type=_positive, nargs="+", default=[10], metavar="N",
                       help="seeds trained together per fast job; several (e.g. 1 10 100) show how the cost "
                       "per seed-update grows with them, as a table and a log-log figure beside --out")
    speed.add_argument("--epochs", type=_positive,
                       help="epochs per job (default: a few seconds of work per scenario)")
    speed.add_argument("--out", type=Path, help="also write the tables to this markdown file (and, for "
                       "several --seeds, the figure beside it as .png)")
    speed.add_argument("--no-floor", action="store_true",
                       help="skip the floor: a reference XLA program (needs jax) timed on each scenario's "
                       "shape, to state every engine's µs as a multiple of it (× floor)")
    compare = sub.add_parser("compare", help="markdown table of what changed between two runs")
    compare.add_argument("dir_a", type=Path, metavar="DIR_A")
    compare.add_argument("dir_b", type=Path, metavar="DIR_B")
    compare.add_argument("--out", type=Path, help="also write the table to this file")
    return parser


def _run_arguments(run: argparse.ArgumentParser) -> None:
    """The arguments `run` and `sweep` share: parsed here, checked by `harness.launch.build_request`."""
    which = run.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every scenario (the default)")
    which.add_argument("--scenario", nargs="+", action="extend", metavar="ID",
                       help=f"one or more of: {', '.join(SCENARIOS)}")
    run.add_argument("--backend", nargs="+", action="extend", metavar="NAME",
                     help=f"one or more of: {', '.join(backend_names())} (default: every installed one)")
    seeds = run.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=_int, metavar="N", help=f"seeds 0..N-1 (default {DEFAULT_SEEDS})")
    seeds.add_argument("--seed", type=_int, nargs="+", action="extend", metavar="S", help="explicit seeds")
    run.add_argument("--epochs", type=_int, help="override every scenario's epochs")
    run.add_argument("--epochs-scale", type=_int, metavar="K",
                     help="train every scenario for K times the tutorial's epochs (e.g. 8: one_char 4,000); "
                     "with the default checkpoints the tutorial's epoch is among them")
    run.add_argument("--quick", action="store_true",
                     help="smoke profile: 2 seeds, epochs cut to ~2,500 updates per seed")
    run.add_argument("--workers", type=_int, default=None,
                     help="parallel worker processes (default: the cores)")
    run.add_argument("--execution", default="fast", metavar=_choices(EXECUTIONS),
                     help="fast (default): compiled loop, seeds trained together, same updates; "
                     "idiomatic: the way people write it (Keras fit, eager PyTorch)")
    timing = run.add_mutually_exclusive_group()
    timing.add_argument("--no-idiomatic-timing", dest="idiomatic_timing", action="store_false", default=None,
                        help="skip the short idiomatic timing sample a fast run takes of each scenario × "
                        "backend (how the frameworks run as written: the report's training-time headline)")
    timing.add_argument("--idiomatic-timing", dest="idiomatic_timing", action="store_true", default=None,
                        help="take that sample even in a run of seconds (--quick, a few epochs), which "
                        "by default takes none")
    run.add_argument("--encoding", default="zero_based", metavar=_choices(ENCODINGS),
                     help="zero_based: the tutorial's (26 classes); one_based: the seed notebook's (27)")
    run.add_argument("--init", default="native", metavar=_choices(INITS),
                     help="weight initialisation: native (each framework's own), keras or torch "
                     "(the other framework's defaults, for the ablation); shown as e.g. torch[init=keras]")
    run.add_argument("--adam-eps", type=_float, metavar="EPS",
                     help="Adam epsilon for every backend (default: each framework's own, Keras 1e-7, "
                     "PyTorch and JAX 1e-8); shown as e.g. torch[adam_eps=1e-07]")
    run.add_argument("--gate-activation", default="sigmoid", metavar=_choices(GATE_ACTIVATIONS),
                     help="LSTM gate activation: sigmoid (the default) or hard_sigmoid_2017 "
                     "(Keras 2's clip(0.2x+0.5, 0, 1), which the tutorial's figures came from)")
    run.add_argument("--device", default="cpu", metavar=_choices(DEVICES),
                     help="where models train (default cpu); cuda is refused when no GPU is visible")
    run.add_argument("--executor", default="local", metavar=_choices(EXECUTORS),
                     help="local (default): worker processes on this machine; ray: tasks on a Ray "
                     "cluster (pip install -e '.[ray]')")
    run.add_argument("--ray-address", metavar="ADDRESS",
                     help="Ray cluster to join, e.g. ray://head:10001 or auto (default: start a local one)")
    run.add_argument("--data-seed", type=_int, default=7, help="seed of the variable_length data")
    run.add_argument("--out", type=Path,
                     help="output folder (default: a new folder under reports/); an existing one resumes")
    run.add_argument("--fresh", action="store_true",
                     help="never resume: write into a new folder next to --out")
    run.add_argument("--timeout", type=_int, metavar="SECONDS",
                     help="kill a job running longer than this; its seeds are recorded as failed")
    run.add_argument("--units", type=_int, metavar="N",
                     help=f"LSTM units for every scenario (default: the scenario's, "
                     f"{spec_defaults('units')}); shown as e.g. one_char[units=8]")
    run.add_argument("--learning-rate", type=_float, metavar="LR",
                     help="Adam learning rate (default: the tutorial's 0.001); "
                     "shown as e.g. one_char[learning_rate=0.01]")
    run.add_argument("--no-checkpoints", dest="anytime", action="store_false",
                     help="no anytime evaluation: the model is evaluated once, after its last epoch")
    run.add_argument("--eval-at", type=_int, nargs="+", action="extend", metavar="EPOCH",
                     help="evaluate every seed after these epochs too, during the one run (accuracy, "
                     "predictions, probes); default: 6 log-spaced epochs ending at the last; epochs past a "
                     "scenario's run are skipped, the last is always evaluated")
    run.add_argument("--time-to-learn", action="store_true",
                     help="also evaluate every 1 %% of the epochs (accuracy only), for the report's "
                     "time to learn")

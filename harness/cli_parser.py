"""The command line of `python -m harness`: every subcommand, flag and input check.

Checks that argparse can make (choices, positive numbers) live here, so bad input fails
before anything is imported or written.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from backends import DEVICES, EXECUTIONS, backend_names
from harness.runs.grid import GRID_KEYS
from scenarios import ENCODINGS, GATE_ACTIVATIONS, INITS, MAX_UNITS, SCENARIOS

DEFAULT_SEEDS = 10
EXECUTORS = ("local", "ray")


class UsageError(Exception):
    """Bad input: reported as one line, exit code 2, nothing written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _integer(low: int, high: int | None, meaning: str) -> Callable[[str], int]:
    """An argparse type for integers from low (to high, if given), whose error says which are valid."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} must be {meaning}")
        return value

    return parse


_positive = _integer(1, None, "a positive integer (≥ 1)")
_non_negative = _integer(0, 2**31 - 1, "an integer in 0..2147483647")


def _epsilon(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be a number between 0 and 1, e.g. 1e-7")
    return value


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value} must be a number above 0 and at most 1, e.g. 0.001")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = sub.add_parser("list", help="scenarios and backends (and a Ray cluster's nodes)")
    listing.add_argument("--ray-address", metavar="ADDRESS",
                         help="also show this Ray cluster's nodes and resources")
    run = sub.add_parser("run", help="train scenarios × backends × seeds, write results and report")
    _run_arguments(run)
    run.add_argument("--verify", action="store_true",
                     help="retrain one stored seed of --out and check it reproduces its predictions")
    sweep = sub.add_parser("sweep", help="run every point of a grid of options into one folder")
    sweep.add_argument("--grid", nargs="+", action="extend", required=True, metavar="KEY=V1,V2",
                       help="options to sweep, e.g. units=8,16,32 learning_rate=0.001,0.01; keys: "
                       f"{', '.join(GRID_KEYS)}; every combination is an ordinary run into one folder")
    _run_arguments(sweep)
    study = sub.add_parser("study", help="the committed study: long budgets with anytime evaluation and "
                           "time to learn, the init ablation, and a units × learning-rate sweep")
    study.add_argument("--out", type=Path, default=Path("reports/study"),
                       help="study folder (default reports/study); its budget/ and sweep/ resume")
    study.add_argument("--backend", nargs="+", action="extend", choices=backend_names(), metavar="NAME",
                       help="default: keras torch (those installed)")
    study.add_argument("--seeds", type=_positive, default=20, metavar="N", help="seeds of the budget runs")
    study.add_argument("--sweep-seeds", type=_positive, default=10, metavar="N", help="seeds per grid point")
    study.add_argument("--epochs-scale", type=_integer(1, 1000, "an integer from 1 to 1000"), default=8,
                       metavar="K", help="the budget runs' epochs: K times the tutorial's (default 8)")
    study.add_argument("--workers", type=_positive, default=None,
                       help="parallel worker processes (default: the cores)")
    report = sub.add_parser("report", help="render DIR/report.md again from DIR/results.jsonl")
    report.add_argument("dir", type=Path, metavar="DIR")
    report.add_argument("--benchmark-json", type=Path, metavar="FILE",
                        help="also render the timing table of a pytest-benchmark JSON file")
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
    compare = sub.add_parser("compare", help="markdown table of what changed between two runs")
    compare.add_argument("dir_a", type=Path, metavar="DIR_A")
    compare.add_argument("dir_b", type=Path, metavar="DIR_B")
    compare.add_argument("--out", type=Path, help="also write the table to this file")
    return parser


def _run_arguments(run: argparse.ArgumentParser) -> None:
    """The arguments `run` and `sweep` share."""
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
    budget = run.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=_positive, help="override every scenario's epochs")
    budget.add_argument("--epochs-scale", type=_integer(1, 1000, "an integer from 1 to 1000"), default=1,
                        metavar="K", help="train every scenario for K times the tutorial's epochs (e.g. 8: "
                        "one_char 4,000); with the default checkpoints the tutorial's epoch is among them")
    run.add_argument("--quick", action="store_true",
                     help="smoke profile: 2 seeds, epochs cut to ~2,500 updates per seed")
    run.add_argument("--workers", type=_positive, default=None,
                     help="parallel worker processes (default: the cores)")
    run.add_argument("--execution", choices=EXECUTIONS, default="fast",
                     help="fast (default): compiled loop, seeds trained together, same updates; "
                     "idiomatic: the way people write it (Keras fit, eager PyTorch)")
    run.add_argument("--no-idiomatic-timing", dest="idiomatic_timing", action="store_false",
                     help="skip the short idiomatic timing sample a fast run takes of each scenario × "
                     "backend (how the frameworks run as written: the report's training-time headline)")
    run.add_argument("--encoding", choices=ENCODINGS, default="zero_based",
                     help="zero_based: the tutorial's (26 classes); one_based: the seed notebook's (27)")
    run.add_argument("--init", choices=INITS, default="native",
                     help="weight initialisation: native (each framework's own), keras or torch "
                     "(the other framework's defaults, for the ablation); shown as e.g. torch[init=keras]")
    run.add_argument("--adam-eps", type=_epsilon, metavar="EPS",
                     help="Adam epsilon for every backend (default: each framework's own, Keras 1e-7, "
                     "PyTorch 1e-8); shown as e.g. torch[adam_eps=1e-07]")
    run.add_argument("--gate-activation", choices=GATE_ACTIVATIONS, default="sigmoid",
                     help="LSTM gate activation: sigmoid (the default) or hard_sigmoid_2017 "
                     "(Keras 2's clip(0.2x+0.5, 0, 1), which the tutorial's figures came from)")
    run.add_argument("--device", choices=DEVICES, default="cpu",
                     help="where models train (default cpu); cuda is refused when no GPU is visible")
    run.add_argument("--executor", choices=EXECUTORS, default="local",
                     help="local (default): worker processes on this machine; ray: tasks on a Ray "
                     "cluster (pip install -e '.[ray]')")
    run.add_argument("--ray-address", metavar="ADDRESS",
                     help="Ray cluster to join, e.g. ray://head:10001 or auto (default: start a local one)")
    run.add_argument("--data-seed", type=_non_negative, default=7, help="seed of the variable_length data")
    run.add_argument("--out", type=Path,
                     help="output folder (default: a new folder under reports/); an existing one resumes")
    run.add_argument("--fresh", action="store_true",
                     help="never resume: write into a new folder next to --out")
    run.add_argument("--timeout", type=_positive, metavar="SECONDS",
                     help="kill a job running longer than this; its seeds are recorded as failed")

    run.add_argument("--units", type=_integer(1, MAX_UNITS, f"an integer from 1 to {MAX_UNITS}"),
                     metavar="N", help="LSTM units for every scenario (default: the tutorial's 32); "
                     "shown as e.g. one_char[units=8]")
    run.add_argument("--learning-rate", type=_learning_rate, metavar="LR",
                     help="Adam learning rate (default: the tutorial's 0.001); "
                     "shown as e.g. one_char[learning_rate=0.01]")
    anytime = run.add_mutually_exclusive_group()
    anytime.add_argument("--no-checkpoints", dest="anytime", action="store_false",
                         help="no anytime evaluation: the model is evaluated once, after its last epoch")
    anytime.add_argument("--eval-at", type=_positive, nargs="+", action="extend", metavar="EPOCH",
                     help="evaluate every seed after these epochs too, during the one run (accuracy, "
                     "predictions, probes); default: 6 log-spaced epochs ending at the last; epochs past a "
                     "scenario's run are skipped, the last is always evaluated")
    run.add_argument("--time-to-learn", action="store_true",
                     help="also evaluate every 1 %% of the epochs (accuracy only), for the report's "
                     "time to learn")

"""The one validation layer of `run` and `sweep`: the CLI and the Python API call these checks.

Every check raises `UsageError` (a `ValueError`; `UsageTypeError` is also a `TypeError`) with
one line that names the option by its command-line flag (the API's keyword is the flag in
snake_case), the bad value and what is valid. The CLI prints that line and exits 2; the API
raises it. Nothing here imports a framework, pandas or the run machinery.
"""

from __future__ import annotations

import numbers
import operator
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from backends import (
    backend_names,
    default_backends,
    install_hint,
    installed_backends,
    is_installed,
    supported_executions,
)

MAX_SEED = 2**31 - 1
# A user's own default backends for a run without --backend, comma-separated: e.g. keras,torch,jax.
DEFAULTS_ENV = "ALPHABET_BENCH_DEFAULT_BACKENDS"


class UsageError(ValueError):
    """Bad input: reported as one line (the CLI: exit code 2), nothing written."""


class UsageTypeError(UsageError, TypeError):
    """An argument of the wrong type (only the API can pass one: the CLI's tokens are parsed)."""


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _say(flag: str, problem: str) -> str:
    """`--flag: problem`; without a flag the problem alone (argparse puts the flag before it)."""
    return f"{flag}: {problem}" if flag else problem


def integer(flag: str, value: Any, low: int, high: int | None = None, meaning: str | None = None) -> int:
    """`value` as an int from low (to high), e.g. `--seeds: 0 must be a positive integer (≥ 1)`."""
    if isinstance(value, bool):
        raise UsageTypeError(_say(flag, f"{value} is not an integer"))
    try:
        value = operator.index(value)  # numpy integers too
    except TypeError:
        raise UsageTypeError(_say(flag, f"{_shown(value)} is not an integer")) from None
    if value < low or (high is not None and value > high):
        meaning = meaning or (f"an integer from {low} to {high}" if high is not None
                              else f"an integer ≥ {low}")
        raise UsageError(_say(flag, f"{value} must be {meaning}"))
    return value


def positive(flag: str, value: Any) -> int:
    return integer(flag, value, 1, None, "a positive integer (≥ 1)")


def seed(flag: str, value: Any) -> int:
    return integer(flag, value, 0, MAX_SEED, f"an integer in 0..{MAX_SEED}")


def number(flag: str, value: Any, high_included: bool, example: str) -> float:
    """A float above 0 and below 1 (or at most 1), e.g. a learning rate or Adam's epsilon."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageTypeError(_say(flag, f"{_shown(value)} is not a number"))
    value = float(value)
    if not (0 < value < 1 or (high_included and value == 1)):
        bound = "above 0 and at most 1" if high_included else "between 0 and 1"
        raise UsageError(_say(flag, f"{value:g} must be a number {bound}, e.g. {example}"))
    return value


def choice(flag: str, value: Any, choices: Sequence[str], what: str) -> str:
    """One of `choices`, e.g. `--encoding: 'two_based' is not an encoding; valid choices: …`."""
    if not isinstance(value, str):
        raise UsageTypeError(_say(flag, f"{_shown(value)} is not a string; "
                                        f"valid choices: {', '.join(choices)}"))
    if value not in choices:
        raise UsageError(_say(flag, f"{value!r} is not {what}; valid choices: {', '.join(choices)}"))
    return value


def names(flag: str, values: Iterable[Any], choices: Sequence[str], what: str) -> tuple[str, ...]:
    """Several of `choices`, in the order given, without repeats."""
    return tuple(dict.fromkeys(choice(flag, v, choices, what) for v in values))


def check_backends(asked: Sequence[str] | None, executions: Sequence[str]) -> tuple[str, ...]:
    """The backends asked for (default: $ALPHABET_BENCH_DEFAULT_BACKENDS, e.g. "keras,torch,jax", else
    every installed default one), each known, installed and able to run every execution in `executions`."""
    if asked:
        chosen = names("--backend", asked, backend_names(), "a backend")
    elif os.environ.get(DEFAULTS_ENV, "").strip():  # the user's own default set, checked as --backend is
        chosen = names(DEFAULTS_ENV, [n.strip() for n in os.environ[DEFAULTS_ENV].split(",") if n.strip()],
                       backend_names(), "a backend")
    else:
        chosen = tuple(default_backends())
    if not chosen:
        raise UsageError("no backend is installed; install one: pip install -e '.[torch]' or '.[keras]'")
    for name in chosen:
        if not is_installed(name):
            raise UsageError(
                f"backend {name!r} is not installed; install it: {install_hint(name)}"
                f" (installed: {', '.join(installed_backends()) or 'none'})"
            )
        for execution in executions:
            if execution not in supported_executions(name):
                raise UsageError(f"backend {name!r} does not implement {execution!r} execution; "
                                 f"valid choices: {', '.join(supported_executions(name))}")
    return chosen


def results_folder(folder: Path | str) -> Path:
    """A folder written by a run: it exists and holds its results file (which may be partial), or
    the gzipped one a committed folder holds."""
    from harness.store import PACKED_FILE, has_results, results_path

    if not isinstance(folder, str | Path):
        raise UsageTypeError(f"{folder!r} is not a path; pass the folder a run wrote")
    folder = Path(folder)
    results = results_path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; pass the folder that holds {results.name}")
    if not has_results(folder):
        raise UsageError(f"{results} does not exist (nor {PACKED_FILE}); pass a folder written by "
                         "'python -m harness run'")
    return folder


def one_line(text: str) -> str:
    """Control characters escaped (argparse quotes the user's own tokens, newlines included),
    so an error is always exactly one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

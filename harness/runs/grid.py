"""Sweep grids: `key=v1,v2 …` items -> the Cartesian product of scenario options.

Each grid point is an ordinary run's options, so a sweep plans, resumes, fails and reports
seed by seed exactly as `run` does. Values are checked here, before anything runs, with
errors that name the valid keys or values.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from scenarios import ENCODINGS, GATE_ACTIVATIONS, INITS, MAX_UNITS, ScenarioOptions


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is not an integer from {low} to {high}")
        return value

    return parse


def _number(low: float, high: float, high_included: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not (low < value < high or (high_included and value == high)):
            bound = "≤" if high_included else "<"
            raise ValueError(f"{value:g} is not a number with {low:g} < value {bound} {high:g}")
        return value

    return parse


def _choice(choices: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    return parse


# What a grid may sweep: every training option `run` takes, with the parser of its values.
GRID_KEYS: dict[str, Callable[[str], Any]] = {
    "units": _integer(1, MAX_UNITS),
    "learning_rate": _number(0.0, 1.0, high_included=True),
    "epochs": _integer(1, 10**7),
    "init": _choice(INITS),
    "gate_activation": _choice(GATE_ACTIVATIONS),
    "adam_eps": _number(0.0, 1.0, high_included=False),
    "encoding": _choice(ENCODINGS),
    "data_seed": _integer(0, 2**31 - 1),
}


def parse_grid(items: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """{key: values} from ["units=8,16", "learning_rate=0.001,0.01"], in the order given."""
    grid: dict[str, tuple[Any, ...]] = {}
    if not items:
        raise ValueError(f"an empty grid; give KEY=V1,V2 … with KEY one of {', '.join(GRID_KEYS)}")
    for item in items:
        key, sep, values = item.partition("=")
        if not sep:
            raise ValueError(f"grid item {item!r} is not KEY=V1,V2 …; e.g. units=8,16,32")
        if key not in GRID_KEYS:
            raise ValueError(f"unknown grid key {key!r}; valid keys: {', '.join(GRID_KEYS)}")
        if key in grid:
            raise ValueError(f"grid key {key!r} is given twice; list all its values in one item")
        texts = [v.strip() for v in values.split(",")]
        if not values.strip() or any(not t for t in texts):
            raise ValueError(f"grid key {key!r} has an empty value; e.g. {key}=V1,V2")
        try:
            parsed = tuple(dict.fromkeys(GRID_KEYS[key](t) for t in texts))
        except ValueError as exc:
            raise ValueError(f"grid key {key!r}: {exc}") from None
        grid[key] = parsed
    return grid


def grid_points(base: ScenarioOptions, grid: dict[str, tuple[Any, ...]]) -> tuple[ScenarioOptions, ...]:
    """Every combination of the grid's values applied to `base` (the last key varies fastest)."""
    keys = list(grid)
    return tuple(replace(base, **dict(zip(keys, values, strict=True)))
                 for values in itertools.product(*(grid[k] for k in keys)))

"""How a record is named in every table and figure: its scenario label and its backend label.

One place, so a row of the accuracy table, a box of a figure and a line of a verdict always name
the same experiment the same way, and sort it the same way (registry order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from scenarios import ScenarioOptions, scenario_ids

DEFAULT_OPTIONS = ScenarioOptions().as_dict()
# How a backend trains: shown with the backend label, not the scenario label.
TRAINING_OPTIONS = ("init", "adam_eps", "gate_activation")

Label = Callable[[dict[str, Any]], str]  # record → the label a table shows for it

# The frameworks the report compares pairwise, in the order every pair is read (A − B, A before B):
# the mission's pair first, so a two-framework report reads as it always did, then any other.
FRAMEWORKS = ("keras", "torch", "jax")
DISPLAY = {"keras": "Keras", "torch": "PyTorch", "jax": "JAX"}


def scenario_label(record: dict[str, Any]) -> str:
    """The scenario id, plus any data option that differs from the default (epochs aside)."""
    options = record.get("options") or {}
    changed = [
        f"{k}={v}" for k, v in sorted(options.items())
        if k != "epochs" and k not in TRAINING_OPTIONS and DEFAULT_OPTIONS.get(k) != v
    ]
    return record["scenario"] + (f"[{','.join(changed)}]" if changed else "")


def backend_label(record: dict[str, Any]) -> str:
    """e.g. `torch`, `keras[fast]`, `torch[fast,init=keras]`: execution and training options."""
    options = record.get("options") or {}
    marks = [] if record.get("execution", "idiomatic") == "idiomatic" else [record["execution"]]
    marks += [] if record.get("device", "cpu") == "cpu" else [record["device"]]
    marks += [f"{k}={options[k]}" for k in TRAINING_OPTIONS
              if k in options and options[k] != DEFAULT_OPTIONS.get(k)]
    return record["backend"] + (f"[{','.join(marks)}]" if marks else "")


def framework_of(label: str) -> str:
    """The framework of a backend label: `torch[fast,init=keras]` -> `torch`."""
    return label.split("[")[0]


def display(framework: str) -> str:
    """How sentences name a framework: `torch` -> `PyTorch`; an unknown one as it is."""
    return DISPLAY.get(framework, framework)


def pair_words(a: str, b: str, sep: str = " − ") -> str:
    """Two backend labels' frameworks as sentences name them: `keras[fast]`, `torch[fast]` ->
    'Keras − PyTorch'."""
    return f"{display(framework_of(a))}{sep}{display(framework_of(b))}"


def pair_order(label: str) -> tuple[int, str]:
    """Sort key of backend labels before pairing them (A before B): alphabetical as the mission's pair
    always was, the frameworks added since (JAX) after every other, so they are B of each pair."""
    newer = FRAMEWORKS[2:]
    framework = framework_of(label)
    return (newer.index(framework) + 1 if framework in newer else 0, label)


def framework_pairs(keys: list[tuple[Any, str]]) -> list[tuple[Any, str, str]]:
    """(cell, A label, B label) for every two rows of a cell that differ only by framework: keras[x] ↔
    torch[x], and with a third framework keras[x] ↔ jax[x] and torch[x] ↔ jax[x]; A comes first in
    `labels.FRAMEWORKS` order, pairs in the order of their A rows (keras ↔ torch alone as always)."""
    present = set(keys)
    pairs = []
    for cell, backend in keys:
        framework = framework_of(backend)
        if framework not in FRAMEWORKS:
            continue
        rest = backend[len(framework):]
        for other in FRAMEWORKS[FRAMEWORKS.index(framework) + 1:]:
            if (cell, other + rest) in present:
                pairs.append((cell, backend, other + rest))
    return pairs


def scenario_sort_key(label: str) -> tuple[int, str]:
    """Registry order, option variants right after their base scenario, unknown ids last."""
    ids, base = scenario_ids(), label.split("[")[0]
    return (ids.index(base) if base in ids else len(ids), label)


def scenario_order(labels: pd.Series) -> pd.Series:
    """`scenario_sort_key` for a column, for sorting frames."""
    return labels.map(scenario_sort_key)

"""Where a Keras–PyTorch accuracy gap comes from: the same comparison with the defaults matched.

The native gap is keras − torch, each on its own defaults. A matched pair is a Keras row and a
PyTorch row that trained with the same initialisation, Adam epsilon and gate activation, e.g.
keras against torch[init=keras] (both Keras's initialisation) or keras[init=torch] against
torch. The share of the native gap left in a matched pair says how much of it those defaults
explained; what is left belongs to the frameworks themselves (or to seed noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import aggregate, stats
from harness.reporting.markdown import interval, md
from scenarios import NATIVE_ADAM_EPS

FRAMEWORKS = ("keras", "torch")
DISPLAY = {"keras": "Keras", "torch": "PyTorch"}
# The native gap must be at least this many points (and significant) to ask what explains it.
MIN_GAP_POINTS = 1.0


@dataclass(frozen=True)
class Settings:
    """What a model effectively trained with, whatever the flags said."""

    init: str
    adam_eps: float
    gate_activation: str



def shared(keras: Settings, torch: Settings) -> str | None:
    """What a Keras and a PyTorch group share beyond the native pair, or None if not comparable.

    Natively the two differ in init and epsilon and share the gate; a pair counts when both
    use the same gate activation and match at least one of what natively differs (or both run
    the 2017 gate).
    """
    if keras.gate_activation != torch.gate_activation:
        return None
    native_k, native_t = NATIVE["keras"], NATIVE["torch"]
    if (keras.init, torch.init) not in {(native_k.init, native_t.init), (keras.init, keras.init)}:
        return None  # e.g. the inits swapped: that compares nothing the native pair does not
    if (keras.adam_eps, torch.adam_eps) not in {(native_k.adam_eps, native_t.adam_eps),
                                                 (keras.adam_eps, keras.adam_eps)}:
        return None
    same = []
    if keras.init == torch.init:
        same.append(f"same init ({DISPLAY[keras.init]}'s)")
    if keras.adam_eps == torch.adam_eps:
        same.append(f"same Adam eps ({keras.adam_eps:g})")
    if keras.gate_activation != "sigmoid":
        same.append(f"both {keras.gate_activation}")
    return ", ".join(same) or None


NATIVE = {fw: Settings(fw, NATIVE_ADAM_EPS[fw], "sigmoid") for fw in FRAMEWORKS}


def effective_settings(record: dict[str, Any]) -> Settings:
    framework = record["backend"]
    options = record.get("options") or {}
    init = options.get("init", "native")
    eps = options.get("adam_eps")
    return Settings(framework if init == "native" else init,
                    NATIVE_ADAM_EPS[framework] if eps is None else float(eps),
                    options.get("gate_activation", "sigmoid"))


def _groups(records: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """(scenario, execution, framework, settings) → label, accuracies (%), native flag."""
    groups: dict[tuple, dict[str, Any]] = {}
    for r in records:
        if r["status"] != "ok" or r["backend"] not in FRAMEWORKS or r.get("accuracy") is None:
            continue
        settings = effective_settings(r)
        native = settings == effective_settings({**r, "options": {}})
        key = (aggregate.scenario_label(r), r.get("execution", "idiomatic"), r["backend"], settings)
        group = groups.setdefault(key, {"label": aggregate.backend_label(r), "acc": [], "native": native})
        group["acc"].append(100.0 * r["accuracy"])
    return groups


def _row(scenario: str, kind: str, keras: dict, torch: dict, native_gap: float | None) -> dict[str, Any]:
    diff = stats.diff_of_means(keras["acc"], torch["acc"])
    test = stats.mann_whitney(keras["acc"], torch["acc"])
    remaining = (diff.diff / native_gap if native_gap is not None and abs(native_gap) >= MIN_GAP_POINTS
                 else np.nan)
    return {
        "scenario": scenario, "pair": f"{keras['label']} − {torch['label']}", "settings": kind,
        "n": f"{len(keras['acc'])}/{len(torch['acc'])}", "gap (points)": diff.diff,
        "95 % CI": interval(diff.low, diff.high),
        "Mann–Whitney p": test.p_value, "share of native gap left": remaining,
    }


def gap_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per scenario × execution for the native gap and each matched pair found."""
    groups = _groups(records)
    rows = []
    cells = sorted({(k[0], k[1]) for k in groups}, key=lambda c: (aggregate.scenario_sort_key(c[0]), c[1]))
    for scenario, execution in cells:
        mine = {(k[2], k[3]): g for k, g in groups.items() if k[:2] == (scenario, execution)}
        natives = {fw: g for (fw, _), g in mine.items() if g["native"]}
        if len(natives) < 2:
            continue
        native_row = _row(scenario, "each framework's own defaults", natives["keras"], natives["torch"], None)
        matched = [
            _row(scenario, kind, k_group, t_group, native_row["gap (points)"])
            for (k_fw, k_set), k_group in mine.items() if k_fw == "keras"
            for (t_fw, t_set), t_group in mine.items() if t_fw == "torch"
            if not (k_group["native"] and t_group["native"]) and (kind := shared(k_set, t_set))
        ]
        if matched:
            rows += [native_row, *matched]
    return pd.DataFrame(rows)


def verdict(table: pd.DataFrame, scenario: str) -> str:
    """One sentence per scenario: is there a gap, and does matching the defaults close it?"""
    rows = table[table["scenario"] == scenario]
    native, matched = rows.iloc[0], rows.iloc[1:]
    gap, p = native["gap (points)"], native["Mann–Whitney p"]
    if np.isnan(p) or p >= stats.ALPHA or abs(gap) < MIN_GAP_POINTS:
        return (f"**{scenario}**: no significant native gap ({gap:+.1f} points, p = {p:.2g}): "
                "nothing for the defaults to explain.")
    parts = []
    for _, row in matched.iterrows():
        closed = row["Mann–Whitney p"] >= stats.ALPHA
        parts.append(f"with {row['settings']} it is {row['gap (points)']:+.1f} points "
                     f"(p = {row['Mann–Whitney p']:.2g}; {row['share of native gap left']:.0%} of it left"
                     f"{', no longer significant' if closed else ', still significant'})")
    closing = [row["settings"] for _, row in matched.iterrows()
               if row["Mann–Whitney p"] >= stats.ALPHA and abs(row["share of native gap left"]) <= 0.5]
    if closing and len(closing) == len(matched):
        cause = "matching the defaults closes most of it: they, not the framework, explain it"
    elif closing:
        cause = (f"{' and '.join(closing)} closes most of it, the other matchings do not: the gap "
                 "comes from those defaults, not from the framework alone")
    elif all(row["Mann–Whitney p"] < stats.ALPHA for _, row in matched.iterrows()):
        cause = "a framework difference remains beyond these defaults"
    else:
        cause = "inconclusive at this number of seeds"
    return (f"**{scenario}**: Keras − PyTorch is {gap:+.1f} points natively (p = {p:.2g}); "
            + "; ".join(parts) + f" → {cause}.")


def ablation_section(records: list[dict[str, Any]]) -> str:
    """Rendered only when the run holds a matched pair (e.g. `--init keras` rows beside native)."""
    table = gap_table(records)
    if table.empty:
        return ""
    sentences = "\n".join(f"- {verdict(table, s)}" for s in dict.fromkeys(table["scenario"]))
    intro = ("## Where the Keras–PyTorch gap comes from\n\nThe native gap (each framework on its own "
             "defaults) beside the same comparison with the defaults matched: a Keras row and a PyTorch "
             "row that share what natively differs (initialisation, Adam epsilon) or both run the 2017 gate. "
             "`share of native gap left` = matched gap / native gap (shown when the native gap is at "
             f"least {MIN_GAP_POINTS:g} point). Significance at α = {stats.ALPHA}.\n\n")
    return intro + sentences + "\n\n" + md(table, ".3g")

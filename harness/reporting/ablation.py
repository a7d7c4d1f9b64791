"""Where a Keras–PyTorch accuracy gap comes from: the same comparison with the defaults matched.

The native gap is keras − torch, each on its own defaults. A matched pair is a Keras row and a
PyTorch row that trained with the same initialisation, Adam epsilon and gate activation, e.g.
keras against torch[init=keras] (both Keras's initialisation) or keras[init=torch] against
torch. The share of the native gap left in a matched pair says how much of it those defaults
explained; what is left belongs to the frameworks themselves (or to seed noise).

Accuracy is read here; where the seeds carry accuracy curves, `ablation_time` reads the same pairs
on time to 100 %. Each table's tests are one Benjamini–Hochberg family and every verdict uses the
adjusted p, as the rest of the report does, so no sentence calls significant what a table does not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import aggregate, stats
from harness.reporting.ablation_time import NATIVE_KIND, TimePair, TimeRow, compare, time_text, time_verdict
from harness.reporting.learning import Times, first_epoch
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


@dataclass
class Group:
    """One (scenario, execution, framework, effective settings) cell's seeds."""

    label: str
    native: bool
    acc: list[float] = field(default_factory=list)  # %
    times: list[tuple[int, bool]] = field(default_factory=list)  # seeds with a curve: (epoch, learned)
    step: int = 0  # the coarsest evaluation step of those curves

    def learning_times(self) -> Times:
        return Times(tuple(float(e) for e, _ in self.times), tuple(ok for _, ok in self.times))


@dataclass(frozen=True)
class Pair:
    """A Keras group against a PyTorch group of one scenario: the native pair or a matched one."""

    scenario: str
    settings: str
    keras: Group
    torch: Group

    @property
    def name(self) -> str:
        return f"{self.keras.label} − {self.torch.label}"


def _groups(records: list[dict[str, Any]]) -> dict[tuple, Group]:
    """(scenario, execution, framework, settings) → its Group."""
    groups: dict[tuple, Group] = {}
    for r in records:
        if r["status"] != "ok" or r["backend"] not in FRAMEWORKS or r.get("accuracy") is None:
            continue
        settings = effective_settings(r)
        native = settings == effective_settings({**r, "options": {}})
        key = (aggregate.scenario_label(r), r.get("execution", "idiomatic"), r["backend"], settings)
        group = groups.setdefault(key, Group(aggregate.backend_label(r), native))
        group.acc.append(100.0 * r["accuracy"])
        found = first_epoch(r.get("accuracy_curve"), 1.0)
        if found is not None:
            group.times.append(found)
            epochs = r["accuracy_curve"]["epochs"]
            group.step = max(group.step, int(epochs[1] - epochs[0] if len(epochs) > 1 else epochs[0]))
    return groups


def pairs(records: list[dict[str, Any]]) -> list[Pair]:
    """Per scenario × execution with a matched pair: the native pair first, then each matched one (the
    scenario named with its execution when it has pairs in more than one, so each reads on its own)."""
    groups = _groups(records)
    found: list[tuple[str, str, list[Pair]]] = []
    cells = sorted({(k[0], k[1]) for k in groups}, key=lambda c: (aggregate.scenario_sort_key(c[0]), c[1]))
    for scenario, execution in cells:
        mine = {(k[2], k[3]): g for k, g in groups.items() if k[:2] == (scenario, execution)}
        natives = {fw: g for (fw, _), g in mine.items() if g.native}
        if len(natives) < 2:
            continue
        matched = [
            Pair(scenario, kind, k_group, t_group)
            for (k_fw, k_set), k_group in mine.items() if k_fw == "keras"
            for (t_fw, t_set), t_group in mine.items() if t_fw == "torch"
            if not (k_group.native and t_group.native) and (kind := shared(k_set, t_set))
        ]
        if matched:
            found.append((scenario, execution,
                          [Pair(scenario, NATIVE_KIND, natives["keras"], natives["torch"]), *matched]))
    repeated = Counter(scenario for scenario, _, _ in found)  # a scenario in two executions: name both
    return [replace(p, scenario=f"{s} ({e})") if repeated[s] > 1 else p for s, e, cell in found for p in cell]


def power_cell(keras: list[float], torch: list[float], gap: float) -> str:
    """Seeds per framework for 80 % power at the observed gap, or why there is no such number."""
    sd = stats.pooled_sd(keras, torch)
    if not np.isfinite(sd):
        return "too few seeds"
    if sd == 0:
        return "zero spread"
    needed = stats.seeds_for_power(gap, sd)
    return "no gap" if not np.isfinite(needed) else f"{needed:.0f}"


def gap_table(records: list[dict[str, Any]], found: list[Pair] | None = None) -> pd.DataFrame:
    """One accuracy row per pair; the Mann–Whitney tests of the whole table are one family (BH)."""
    rows, native_gap = [], np.nan
    for pair in pairs(records) if found is None else found:
        diff = stats.diff_of_means(pair.keras.acc, pair.torch.acc)
        if pair.settings == NATIVE_KIND:
            native_gap = diff.diff if abs(diff.diff) >= MIN_GAP_POINTS else np.nan
        rows.append({
            "scenario": pair.scenario, "pair": pair.name, "settings": pair.settings,
            "n": f"{len(pair.keras.acc)}/{len(pair.torch.acc)}", "gap (points)": diff.diff,
            "95 % CI": interval(diff.low, diff.high),
            "Mann–Whitney p": stats.mann_whitney(pair.keras.acc, pair.torch.acc).p_value,
            "BH-adjusted p": np.nan,
            "share of native gap left": np.nan if pair.settings == NATIVE_KIND else diff.diff / native_gap,
            "seeds for 80 % power": power_cell(pair.keras.acc, pair.torch.acc, diff.diff),
        })
    table = pd.DataFrame(rows)
    if not table.empty:
        table["BH-adjusted p"] = stats.adjusted_p_values(table["Mann–Whitney p"])
    return table


def time_rows(found: list[Pair]) -> list[TimeRow]:
    """The pairs whose two sides both carry accuracy curves, compared on time to 100 %, in scenarios
    where the native pair and at least one matched pair do."""
    curved = [p for p in found if p.keras.times and p.torch.times]
    native = {p.scenario for p in curved if p.settings == NATIVE_KIND}
    matched = {p.scenario for p in curved if p.settings != NATIVE_KIND}
    time_pairs = [
        TimePair(p.scenario, (p.keras.label, p.torch.label), p.settings, p.keras.learning_times(),
                 p.torch.learning_times(), _swapped(p), float(max(p.keras.step, p.torch.step)))
        for p in curved if p.scenario in native & matched
    ]
    return compare(time_pairs)


def _swapped(pair: Pair) -> str | None:
    """The one side trained off its own defaults (its native group is the baseline), if only one is."""
    if pair.keras.native == pair.torch.native:
        return None
    return "torch" if pair.keras.native else "keras"


def _p(row: pd.Series) -> str:
    return f"p = {row['Mann–Whitney p']:.2g}, adjusted {row['BH-adjusted p']:.2g}"


def _power_words(native: pd.Series) -> str:
    cell = native["seeds for 80 % power"]
    if cell == "zero spread":
        return "; every seed of each framework scored the same"
    if cell.isdigit():
        return f"; 80 % power for a gap this size needs {cell} seeds per framework (here {native['n']})"
    return ""


def verdict(table: pd.DataFrame, scenario: str) -> str:
    """One sentence per scenario: is there a gap, and does matching the defaults close it? Verdicts
    use the BH-adjusted p."""
    rows = table[table["scenario"] == scenario]
    native, matched = rows.iloc[0], rows.iloc[1:]
    gap, q = native["gap (points)"], native["BH-adjusted p"]
    if np.isnan(q) or q >= stats.ALPHA or abs(gap) < MIN_GAP_POINTS:
        return (f"**{scenario}**: no significant native gap ({gap:+.1f} points, {_p(native)}"
                f"{_power_words(native)}): nothing established for the defaults to explain.")
    parts = []
    for _, row in matched.iterrows():
        closed = not row["BH-adjusted p"] < stats.ALPHA
        parts.append(f"with {row['settings']} it is {row['gap (points)']:+.1f} points "
                     f"({_p(row)}; {row['share of native gap left']:.0%} of it left"
                     f"{', no longer significant' if closed else ', still significant'})")
    closing = [row["settings"] for _, row in matched.iterrows()
               if not row["BH-adjusted p"] < stats.ALPHA and abs(row["share of native gap left"]) <= 0.5]
    if closing and len(closing) == len(matched):
        cause = "matching the defaults closes most of it: they, not the framework, explain it"
    elif closing:
        cause = (f"{' and '.join(closing)} closes most of it, the other matchings do not: the gap "
                 "comes from those defaults, not from the framework alone")
    elif all(row["BH-adjusted p"] < stats.ALPHA for _, row in matched.iterrows()):
        cause = "a framework difference remains beyond these defaults"
    else:
        cause = "inconclusive at this number of seeds"
    return (f"**{scenario}**: Keras − PyTorch is {gap:+.1f} points natively ({_p(native)}); "
            + "; ".join(parts) + f" → {cause}.")


def ablation_section(records: list[dict[str, Any]]) -> str:
    """Rendered only when the run holds a matched pair (e.g. `--init keras` rows beside native); its
    time-to-learn part only when those rows carry accuracy curves."""
    found = pairs(records)
    if not found:
        return ""
    table, times = gap_table(records, found), time_rows(found)
    by_scenario = {s: [r for r in times if r.pair.scenario == s] for s in dict.fromkeys(table["scenario"])}
    sentences = "\n".join(f"- {verdict(table, s)}" + (f"\n  - {time_verdict(t)}" if t else "")
                          for s, t in by_scenario.items())
    family = int(np.isfinite(table["BH-adjusted p"]).sum())
    intro = ("## Where the Keras–PyTorch gap comes from\n\nThe native gap (each framework on its own "
             "defaults) beside the same comparison with the defaults matched: a Keras row and a PyTorch "
             "row that share what natively differs (initialisation, Adam epsilon) or both run the 2017 gate. "
             "`share of native gap left` = matched gap / native gap (shown when the native gap is at "
             f"least {MIN_GAP_POINTS:g} point). Each table of tests is one family: its p-values are "
             "Benjamini–Hochberg-adjusted together (scipy's `false_discovery_control`), the raw p shown "
             f"beside the adjusted one, and every verdict uses the adjusted p at α = {stats.ALPHA}; the "
             "native rows repeat tests of Backends compared, whose family is another, so their adjusted p "
             "can differ from that table's."
             + (" Where the seeds carry accuracy curves, each scenario's second line reads the same pairs "
                "on time to 100 %." if times else "") + "\n\n")
    accuracy = (f"Accuracy at the end of training: Mann–Whitney U (two-sided), the {family} tests of this "
                f"table one family. `seeds for 80 % power`: seeds per framework to detect the observed gap "
                f"with {100 * stats.POWER:.0f} % power at two-sided α = {stats.ALPHA} (normal approximation "
                "to a two-sample t-test on per-seed accuracies, pooled SD; 'zero spread': every seed of "
                "each framework scored the same, so no count exists).\n\n" + md(table, ".3g"))
    return "\n\n".join(s for s in (intro + sentences, accuracy, time_text(times)) if s)

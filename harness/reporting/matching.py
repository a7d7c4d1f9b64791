"""Which rows of two frameworks compare like with like: the native pair and the matched pairs.

The native gap is keras − torch, each on its own defaults. A matched pair is a Keras row and a
PyTorch row that trained with the same initialisation, Adam epsilon and gate activation, e.g.
keras against torch[init=keras] (both Keras's initialisation) or keras[init=torch] against
torch. The share of the native gap left in a matched pair says how much of it those defaults
explained; what is left belongs to the frameworks themselves (or to seed noise). Pairs are read on
final accuracy and, where seeds carry accuracy curves, on time to learn for good (`TimeRow`).

With more frameworks (JAX) every two of them whose native defaults are known (`NATIVE_ADAM_EPS`) form
such a block of pairs, A − B in `labels.FRAMEWORKS` order: keras − torch, keras − jax, torch − jax.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np

from harness.reporting import stats
from harness.reporting.labels import FRAMEWORKS, backend_label, display, scenario_label, scenario_sort_key
from harness.reporting.survival import (
    Median,
    Times,
    as_times,
    bootstrap_medians,
    curve_step,
    logrank,
    median_time,
    relapse,
    settled_epoch,
)
from scenarios import NATIVE_ADAM_EPS

NATIVE_KIND = "each framework's own defaults"
MIN_GAP_STEPS = 2  # a native time gap smaller than two evaluation steps could be the curve's grain alone


@dataclass(frozen=True)
class Settings:
    """What a model effectively trained with, whatever the flags said."""

    init: str
    adam_eps: float
    gate_activation: str


def matchable() -> tuple[str, ...]:
    """The frameworks whose native defaults are known, in pair order: read when asked, so a framework
    that registers its Adam epsilon joins the pairs."""
    return tuple(fw for fw in FRAMEWORKS if fw in NATIVE_ADAM_EPS)


def native(framework: str) -> Settings:
    return Settings(framework, NATIVE_ADAM_EPS[framework], "sigmoid")


def shared(a: Settings, b: Settings, frameworks: tuple[str, str] = ("keras", "torch")) -> str | None:
    """What a group of framework A and one of B share beyond the native pair, or None if not comparable.

    Natively the two differ in init and epsilon and share the gate; a pair counts when both
    use the same gate activation and match at least one of what natively differs (or both run
    the 2017 gate).
    """
    if a.gate_activation != b.gate_activation:
        return None
    native_a, native_b = (native(fw) for fw in frameworks)
    if (a.init, b.init) not in {(native_a.init, native_b.init), (a.init, a.init)}:
        return None  # e.g. the inits swapped: that compares nothing the native pair does not
    if (a.adam_eps, b.adam_eps) not in {(native_a.adam_eps, native_b.adam_eps), (a.adam_eps, a.adam_eps)}:
        return None
    same = []
    if a.init == b.init:
        same.append(f"same init ({display(a.init)}'s)")
    if a.adam_eps == b.adam_eps and native_a.adam_eps != native_b.adam_eps:  # named where it differs natively
        same.append(f"same Adam eps ({a.adam_eps:g})")
    if a.gate_activation != "sigmoid":
        same.append(f"both {a.gate_activation}")
    return ", ".join(same) or None


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
    framework: str = ""
    acc: list[float] = field(default_factory=list)  # %
    found: list[tuple[int, bool] | None] = field(default_factory=list)  # per seed: `settled_epoch` at 100 %
    relapsed: list[bool] = field(default_factory=list)  # per seed that touched 100 %: did it drop again
    step: int = 0  # the coarsest evaluation step of those curves

    @property
    def times(self) -> Times | None:
        """Time to learn for good of the seeds that carry a curve (None when none does)."""
        return as_times(self.found)


@dataclass(frozen=True)
class Pair:
    """A group of framework A against one of B (a Keras group against a PyTorch group) of one scenario:
    the native pair or a matched one."""

    scenario: str
    settings: str
    a: Group
    b: Group

    @property
    def name(self) -> str:
        return f"{self.a.label} − {self.b.label}"

    @property
    def frameworks(self) -> tuple[str, str]:
        return self.a.framework, self.b.framework

    @property
    def block(self) -> tuple[str, str, str]:
        """What a native pair and its matched pairs share: the scenario and the two frameworks."""
        return (self.scenario, *self.frameworks)


def framework_names(found: list[Pair] | list[TimePair]) -> tuple[str, str]:
    """How tables head the two sides: ('Keras', 'PyTorch') when every pair is of those two frameworks,
    ('A', 'B') when the pairs are of several."""
    kinds = {p.frameworks for p in found}
    if len(kinds) != 1:
        return "A", "B"
    a, b = kinds.pop()
    return display(a), display(b)


def several(found: list[Pair] | list[TimePair]) -> bool:
    """Whether the pairs are of more than one pair of frameworks (then each sentence names its pair)."""
    return len({p.frameworks for p in found}) > 1


def _groups(records: list[dict[str, Any]]) -> dict[tuple, Group]:
    """(scenario, execution, framework, settings) → its Group."""
    groups: dict[tuple, Group] = {}
    for r in records:
        if r["status"] != "ok" or r["backend"] not in matchable() or r.get("accuracy") is None:
            continue
        settings = effective_settings(r)
        is_native = settings == effective_settings({**r, "options": {}})
        key = (scenario_label(r), r.get("execution", "idiomatic"), r["backend"], settings)
        group = groups.setdefault(key, Group(backend_label(r), is_native, r["backend"]))
        group.acc.append(100.0 * r["accuracy"])
        group.found.append(settled_epoch(r.get("accuracy_curve"), 1.0))
        fell = relapse(r.get("accuracy_curve"), 1.0)
        if fell is not None and fell.touched:
            group.relapsed.append(fell.relapsed)
        if group.found[-1] is not None:
            group.step = max(group.step, curve_step(r["accuracy_curve"]))
    return groups


def pairs(records: list[dict[str, Any]]) -> list[Pair]:
    """Per scenario × execution × two frameworks with a matched pair: the native pair first, then each
    matched one (the scenario named with its execution when it has pairs in more than one, so each
    reads on its own)."""
    groups = _groups(records)
    found: list[tuple[str, str, list[Pair]]] = []
    cells = sorted({(k[0], k[1]) for k in groups}, key=lambda c: (scenario_sort_key(c[0]), c[1]))
    for scenario, execution in cells:
        mine = {(k[2], k[3]): g for k, g in groups.items() if k[:2] == (scenario, execution)}
        natives = {fw: g for (fw, _), g in mine.items() if g.native}
        for fa, fb in combinations([fw for fw in matchable() if fw in natives], 2):
            matched = [
                Pair(scenario, kind, a_group, b_group)
                for (a_fw, a_set), a_group in mine.items() if a_fw == fa
                for (b_fw, b_set), b_group in mine.items() if b_fw == fb
                if not (a_group.native and b_group.native) and (kind := shared(a_set, b_set, (fa, fb)))
            ]
            if matched:
                found.append((scenario, execution, [Pair(scenario, NATIVE_KIND, natives[fa], natives[fb]),
                                                    *matched]))
    executions = Counter(s for s, _ in {(s, e) for s, e, _ in found})  # in two executions: name both
    return [replace(p, scenario=f"{s} ({e})") if executions[s] > 1 else p
            for s, e, cell in found for p in cell]


@dataclass(frozen=True)
class TimePair:
    """A group of framework A and one of B (Keras and PyTorch) of one pair, their seeds' times to learn
    for good."""

    scenario: str
    labels: tuple[str, str]  # the A and the B group's backend labels
    settings: str  # NATIVE_KIND, or what the two share (`shared`)
    a: Times
    b: Times
    swapped: str | None  # "a"/"b": the side trained off its own defaults, if only one is
    step: float  # the coarsest evaluation step of the curves: times are known to within it
    frameworks: tuple[str, str] = ("keras", "torch")

    @property
    def pair(self) -> str:
        return " − ".join(self.labels)


@dataclass(frozen=True)
class TimeRow:
    """A pair's medians, gap in median epochs, share of the native gap left and logrank p (raw, BH)."""

    pair: TimePair
    a: Median
    b: Median
    gap: float
    left: float
    p: float
    q: float
    explained_ci: tuple[float, float] = (math.nan, math.nan)  # bootstrap CI of 1 − left, over seeds

    @property
    def significant(self) -> bool:
        return self.q < stats.ALPHA  # False for NaN: an untestable pair is never called different


def _swapped(pair: Pair) -> str | None:
    """The one side trained off its own defaults (its native group is the baseline), if only one is."""
    if pair.a.native == pair.b.native:
        return None
    return "b" if pair.a.native else "a"


def time_pairs(found: list[Pair]) -> list[TimePair]:
    """The pairs whose two sides both carry accuracy curves, in blocks (scenario, two frameworks) where
    the native pair and at least one matched pair do."""
    curved = [p for p in found if p.a.times and p.b.times]
    native = {p.block for p in curved if p.settings == NATIVE_KIND}
    matched = {p.block for p in curved if p.settings != NATIVE_KIND}
    return [TimePair(p.scenario, (p.a.label, p.b.label), p.settings, p.a.times, p.b.times,
                     _swapped(p), float(max(p.a.step, p.b.step)), p.frameworks)
            for p in curved if p.block in native & matched]


RESAMPLES = 1_000  # bootstrap resamples of the share of a time gap explained (seeded)


def explained_interval(native: TimePair, matched: TimePair, seed: int = 0) -> tuple[float, float]:
    """Seeded percentile bootstrap 95 % CI of 1 − matched gap / native gap in median epochs: each of
    the four groups' seeds resampled; resamples where the native gap falls under the curve's grain
    are left out (they say nothing about a share of it)."""
    rng = np.random.default_rng(seed)
    medians = [bootstrap_medians(t, RESAMPLES, rng)
               for t in (native.a, native.b, matched.a, matched.b)]
    gap, matched_gap = medians[0] - medians[1], medians[2] - medians[3]
    fine = np.isfinite(gap) & (np.abs(gap) >= MIN_GAP_STEPS * native.step) & np.isfinite(matched_gap)
    shares = 1 - matched_gap[fine] / gap[fine]
    if shares.size < RESAMPLES / 2:
        return math.nan, math.nan
    low, high = np.percentile(shares, [2.5, 97.5])
    return float(low), float(high)


def compare_times(found: list[TimePair]) -> list[TimeRow]:
    """Every pair's row; the logrank tests of all of them are one family (Benjamini–Hochberg)."""
    rows: list[TimeRow] = []
    native_gap, native = math.nan, None
    for pair in found:
        ma, mb = median_time(pair.a), median_time(pair.b)
        gap = ma.value - mb.value
        if pair.settings == NATIVE_KIND:
            native_gap = gap if abs(gap) >= MIN_GAP_STEPS * pair.step else math.nan
            native = pair
        left = math.nan if pair.settings == NATIVE_KIND else gap / native_gap
        ci = (explained_interval(native, pair) if native is not None and math.isfinite(left)
              else (math.nan, math.nan))
        rows.append(TimeRow(pair, ma, mb, gap, left, logrank(pair.a, pair.b), math.nan, ci))
    adjusted = stats.adjusted_p_values([row.p for row in rows])
    return [replace(r, q=q) for r, q in zip(rows, adjusted, strict=True)]

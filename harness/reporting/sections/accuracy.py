"""The report's "Accuracy": per scenario × backend across seeds, and where the tutorial's single run
(and the seed notebook's) falls among the seeds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from harness.reporting import stats
from harness.reporting.frames import identified, ok
from harness.reporting.labels import backend_label, scenario_label
from harness.reporting.markdown import md, mean_interval
from harness.reporting.plotting import WIDTH_IN, cell, colours, ok_records, scenarios
from harness.reporting.section import Plot, Section
from harness.reporting.view import ReportView
from scenarios import ResolvedScenario, UnknownScenarioError, get_scenario


def _pattern_counts(records: list[dict[str, Any]] | None) -> dict[tuple[str, str], int]:
    """Evaluated patterns per (scenario, backend) row: the n of every attainable accuracy k/n."""
    counts: dict[tuple[str, str], int] = {}
    for r in records or []:
        if r["status"] == "ok" and r.get("patterns"):
            counts.setdefault((scenario_label(r), backend_label(r)), len(r["patterns"]))
    return counts


def _registry_count(label: str) -> int | None:
    """The registry's pattern count for a scenario label, for callers that pass no records: the same
    n as a record's `patterns` (every training pattern is evaluated)."""
    try:
        return ResolvedScenario(get_scenario(label.split("[")[0])).n_samples
    except UnknownScenarioError:
        return None


def _placed(name: str, printed: float | None, values: list[float], patterns: int | None,
            same_budget: bool) -> dict[str, Any]:
    """A published figure as numbers: as printed (%), the k of the attainable k/n it snaps to, and its
    percentile among the seeds; no percentile when the seeds trained for other epochs than the
    figure's run (like with like)."""
    if printed is None or pd.isna(printed):
        return {f"{name}_accuracy": np.nan, f"{name}_k": None, f"{name}_pct": np.nan}
    k = stats.snap_to_attainable(printed, patterns)[0] if patterns else None
    if not same_budget:
        pct = np.nan
    elif patterns:
        pct = stats.percentile_of_attainable(printed, values, patterns)
    else:
        pct = stats.percentile_of(printed, values)
    return {f"{name}_accuracy": float(printed), f"{name}_k": k, f"{name}_pct": pct}


def _same_budget(epochs: object, tutorial_epochs: object) -> bool:
    """Whether seeds trained for the tutorial's epochs (unknown counts as the same)."""
    return tutorial_epochs is None or pd.isna(tutorial_epochs) or tutorial_epochs == epochs


INTEGERS = ("epochs", "tutorial_epochs", "patterns", "tutorial_k", "notebook_k")


def summary_table(frame: pd.DataFrame, records: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """The Accuracy section's figures as numbers, per scenario × backend label of a `frames.to_frame`
    frame: the source of both the report's table (`accuracy_table`) and the API's (`table`). `records`
    give each row's pattern count for the snap (else the scenario registry's)."""
    if frame.empty:
        return pd.DataFrame()
    counts = _pattern_counts(records)
    failed = frame[frame["status"] != "ok"].groupby(["scenario", "backend"]).size().to_dict()
    rows = []
    for (scenario, backend), group in frame.groupby(["scenario", "backend"], sort=False):
        acc = ok(group)["accuracy"].tolist()
        s = stats.summary(acc)
        patterns = counts.get((scenario, backend)) or _registry_count(scenario)
        epochs = group["epochs"].iloc[0]
        budget = group["tutorial_epochs"].iloc[0] if "tutorial_epochs" in group else None
        same = _same_budget(epochs, budget)
        rows.append({
            "scenario": scenario, "backend": backend, "epochs": epochs, "n": s.n,
            "failed": failed.get((scenario, backend), 0), "mean": s.mean, "std": s.std,
            "median": s.median, "min": s.min, "max": s.max, "ci_low": s.ci_low, "ci_high": s.ci_high,
            "patterns": patterns, "tutorial_epochs": budget,
            **_placed("tutorial", group["tutorial"].iloc[0], acc, patterns, same),
            **_placed("notebook", group["notebook"].iloc[0], acc, patterns, same),
        })
    table = pd.DataFrame(rows)
    for column in INTEGERS:
        table[column] = pd.array([None if v is None or pd.isna(v) else int(v) for v in table[column]],
                                 dtype="Int64")
    return table


def _value(v: object) -> object:
    """A cell for the markdown table: missing (NaN, NA) as None, which `md` shows as "—"."""
    return None if v is None or pd.isna(v) else v


def _shown(printed: float, k: object, patterns: object, same_budget: bool) -> object:
    """A published figure as the report shows it: with the k/n it was snapped to."""
    if pd.isna(printed):
        return None
    if not same_budget:
        return f"{printed:.2f} (other epochs)"
    if pd.isna(patterns):
        return printed
    return f"{printed:.2f} → {k}/{patterns}"


def display_table(numbers: pd.DataFrame) -> pd.DataFrame:
    """The report's Accuracy table from `summary_table`'s numbers: the CI and each published figure
    with its k/n as text, the column names the report prints."""
    rows = []
    for r in numbers.itertuples(index=False):
        same = _same_budget(_value(r.epochs), _value(r.tutorial_epochs))
        s = stats.Summary(r.n, r.mean, r.std, r.median, r.min, r.max, r.ci_low, r.ci_high)
        rows.append({
            "scenario": r.scenario, "backend": r.backend, "epochs": _value(r.epochs), "n": r.n,
            "mean": r.mean, "std": r.std, "median": r.median, "min": r.min, "max": r.max,
            "95 % CI of mean": mean_interval(s),
            "tutorial": _shown(r.tutorial_accuracy, r.tutorial_k, r.patterns, same),
            "tutorial pct": r.tutorial_pct,
            "notebook": _shown(r.notebook_accuracy, r.notebook_k, r.patterns, same),
            "notebook pct": r.notebook_pct, "failed": r.failed,
        })
    return pd.DataFrame(rows)


def accuracy_table(frame: pd.DataFrame, records: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """The report's Accuracy table (display text) of a `frames.to_frame` frame; see `summary_table`."""
    return display_table(summary_table(frame, records))


def table(view: ReportView) -> pd.DataFrame:
    """The API's Accuracy table: tidy, numeric, one row per scenario × backend label (docs/api.md)."""
    numbers = summary_table(view.frame)
    return identified(numbers, view.reference) if not numbers.empty else numbers


def shown(view: ReportView) -> pd.DataFrame:
    """The Accuracy table as the report prints it."""
    return accuracy_table(view.frame)


TEXT = (
    "Share of the scenario's own training patterns predicted right (%), across "
    "seeds. 95 % CI: seeded percentile bootstrap of the mean. `tutorial` is the tutorial's single "
    "run, `notebook` the seed notebook's. Both printed their figure rounded to two decimals, while "
    "a seed can only score k/n (n = the scenario's evaluated patterns), so each figure is snapped "
    "to the nearest attainable k/n, shown after the arrow (86.96 → 20/23), before it is placed "
    "among the seeds; a run of other epochs than the tutorial's is not placed among them (`other "
    "epochs`). Where every seed scored the same the bootstrap has nothing to resample: the CI column "
    "says so, with how large a share of seeds could still score otherwise (exact one-sided 95 % bound "
    "for none of n seen). `pct` is that snapped figure's percentile in this run's seed distribution: "
    "the share of seeds below it plus half of those that scored exactly it (scipy's "
    "`percentileofscore`, kind=\"mean\"): 0 = below every seed, 50 = typical or tied with every "
    "seed, 100 = above every seed."
)


def draw(fig: Figure, view: ReportView) -> bool:
    """Accuracy per seed (dots), spread per backend (boxes), the tutorial's single run (a line)."""
    good = [r for r in ok_records(view.reference) if r.get("accuracy") is not None]
    if not good:
        return False
    labels, colour_of = scenarios(good), colours(good)
    backends = list(colour_of)
    fig.set_size_inches(WIDTH_IN, 5.5)
    ax = fig.subplots()
    rng = np.random.default_rng(0)  # fixed: the same records always give the same picture
    width, grey = 0.8 / len(backends), {"color": "#444444"}
    all_values: list[float] = []
    for j, backend in enumerate(backends):
        for i, scenario in enumerate(labels):
            values = [100.0 * a for a in cell(good, scenario, backend, "accuracy")]
            if not values:
                continue
            x = i - 0.4 + width * (j + 0.5)
            all_values += values
            ax.boxplot(values, positions=[x], widths=width * 0.7, showfliers=False, manage_ticks=False,
                       medianprops={"color": colour_of[backend], "linewidth": 2},
                       boxprops=grey, whiskerprops=grey, capprops=grey)
            jitter = rng.uniform(-width * 0.3, width * 0.3, len(values))
            ax.scatter(x + jitter, values, s=36, color=colour_of[backend], alpha=0.85, edgecolor="white",
                       linewidth=0.6, zorder=4)
    tutorial_label = "tutorial (1 run)"
    for i, scenario in enumerate(labels):
        spec = next((r.get("spec") or {}) for r in good if scenario_label(r) == scenario)
        if spec.get("tutorial_accuracy") is not None:
            all_values.append(spec["tutorial_accuracy"])
            ax.hlines(spec["tutorial_accuracy"], i - 0.45, i + 0.45, color="black", linewidth=2, zorder=3,
                      label=tutorial_label)
            tutorial_label = None
    low = max(0.0, 10.0 * math.floor((min(all_values) - 3.0) / 10.0))
    ax.set_ylim(low, 102)
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set(xlabel="scenario", ylabel="accuracy on training patterns (%)",
           title="Accuracy per seed (dots), spread per backend (boxes), tutorial's single run (black line)")
    ax.grid(axis="y", alpha=0.3)
    handles = [Patch(color=c, label=b) for b, c in colour_of.items()] + ax.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return True


PLOT = Plot("accuracy", "accuracy per scenario", draw)


def body(view: ReportView) -> str:
    return TEXT + "\n\n" + md(shown(view), ".1f") + PLOT.link(view, "\n\n")


SECTION = Section("Accuracy", body, (PLOT,), {"accuracy": table})

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
from harness.reporting.frames import ok
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


def _reference(printed: float | None, values: list[float], n: int | None,
               same_budget: bool = True) -> tuple[object, float]:
    """A published figure as shown (with the k/n it was snapped to) and its percentile among seeds;
    no percentile when the seeds trained for other epochs than the figure's run (like with like)."""
    if printed is None or pd.isna(printed):
        return None, np.nan
    if not same_budget:
        return f"{printed:.2f} (other epochs)", np.nan
    if not n:
        return printed, stats.percentile_of(printed, values)
    k, _ = stats.snap_to_attainable(printed, n)
    return f"{printed:.2f} → {k}/{n}", stats.percentile_of_attainable(printed, values, n)


def accuracy_table(frame: pd.DataFrame, records: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """Per scenario × backend of a `frames.to_frame` frame; `records` give each row's pattern count for
    the snap (else the scenario registry's)."""
    counts = _pattern_counts(records)
    rows = []
    for (scenario, backend), group in frame.groupby(["scenario", "backend"], sort=False):
        acc = ok(group)["accuracy"].tolist()
        s = stats.summary(acc)
        n_patterns = counts.get((scenario, backend)) or _registry_count(scenario)
        budget = group["tutorial_epochs"].iloc[0] if "tutorial_epochs" in group else None
        same = budget is None or pd.isna(budget) or budget == group["epochs"].iloc[0]
        tutorial, tutorial_pct = _reference(group["tutorial"].iloc[0], acc, n_patterns, same)
        notebook, notebook_pct = _reference(group["notebook"].iloc[0], acc, n_patterns, same)
        rows.append({
            "scenario": scenario, "backend": backend, "epochs": group["epochs"].iloc[0], "n": s.n,
            "mean": s.mean, "std": s.std, "median": s.median, "min": s.min, "max": s.max,
            "95 % CI of mean": mean_interval(s),
            "tutorial": tutorial, "tutorial pct": tutorial_pct,
            "notebook": notebook, "notebook pct": notebook_pct,
        })
    failed = frame[frame["status"] != "ok"].groupby(["scenario", "backend"]).size().to_dict()
    table = pd.DataFrame(rows)
    if not table.empty:
        table["failed"] = [failed.get((r.scenario, r.backend), 0) for r in table.itertuples()]
    return table


def table(view: ReportView) -> pd.DataFrame:
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
    return TEXT + "\n\n" + md(table(view), ".1f") + PLOT.link(view, "\n\n")


SECTION = Section("Accuracy", body, (PLOT,), {"accuracy": table})

"""The report's "Time to learn": when each seed first gets every training pattern right (`survival`).

Why: two frameworks can both end at 100 % and still differ in how long they take. Censored seeds
are kept (see `survival`); beside them, clearly labelled, the running training accuracy's first 100 %.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from harness.reporting import stats
from harness.reporting.labels import Label, backend_label, scenario_label, scenario_sort_key
from harness.reporting.markdown import md
from harness.reporting.plotting import colours, legend, log_epochs, panels
from harness.reporting.section import Plot, Section
from harness.reporting.survival import (
    CI_METHOD,
    CONFIDENCE,
    LEARNED,
    band,
    curve_step,
    curved,
    first_running_epoch,
    fmt_median,
    framework_pairs,
    logrank,
    median_time,
    survival,
    times_by_cell,
)
from harness.reporting.view import ReportView


def resolution(records: list[dict[str, Any]]) -> dict[str, int]:
    """Scenario → the curve's step in epochs (the first gap of its evaluated epochs)."""
    out: dict[str, set[int]] = {}
    for r in curved(records):
        out.setdefault(r["scenario"], set()).add(curve_step(r["accuracy_curve"]))
    return {s: min(v) for s, v in sorted(out.items(), key=lambda kv: scenario_sort_key(kv[0]))}


def _running(records: list[dict[str, Any]], scenario: str, backend: str, label: Label) -> str:
    """The running training accuracy's first 100 % epoch: median over the seeds that got there."""
    mine = [r for r in curved(records) if label(r) == scenario and backend_label(r) == backend
            and r.get("epoch_accuracy")]
    firsts = [first_running_epoch(r["epoch_accuracy"]) for r in mine]
    reached = [e for e in firsts if e is not None]
    if not mine:
        return "—"
    median = f"{np.median(reached):,.0f}, " if reached else ""
    return f"{median}{len(reached)}/{len(mine)} seeds"


def learning_table(records: list[dict[str, Any]], label: Label = scenario_label) -> pd.DataFrame:
    full, near = times_by_cell(records, 1.0, label), times_by_cell(records, LEARNED[1], label)
    rows = []
    for (scenario, backend), times in full.items():
        censor = max(times.epochs)
        near_times = near[(scenario, backend)]
        rows.append({
            "scenario": scenario, "backend": backend, "n": times.n,
            "learned 100 %": f"{sum(times.learned)}/{times.n} ({np.mean(times.learned):.0%})",
            "median epoch to 100 % (95 % CI)": fmt_median(median_time(times), censor),
            "learned ≥ 95 %": f"{sum(near_times.learned)}/{near_times.n}",
            "median epoch to ≥ 95 % (95 % CI)": fmt_median(median_time(near_times), censor),
            "running train acc first 100 % (median, seeds)": _running(records, scenario, backend, label),
        })
    return pd.DataFrame(rows)


def logrank_table(records: list[dict[str, Any]], label: Label = scenario_label,
                  alpha: float = stats.ALPHA) -> pd.DataFrame:
    """Keras vs PyTorch time to 100 % per scenario: logrank p raw and BH-adjusted across the table."""
    cells = times_by_cell(records, 1.0, label)
    rows = []
    for scenario, keras, torch in framework_pairs(list(cells)):
        a, b = cells[(scenario, keras)], cells[(scenario, torch)]
        rows.append({"scenario": scenario, "A": keras, "B": torch, "n A/B": f"{a.n}/{b.n}",
                     "learned A/B": f"{sum(a.learned)}/{sum(b.learned)}",
                     "median A": fmt_median(median_time(a), max(a.epochs)),
                     "median B": fmt_median(median_time(b), max(b.epochs)), "logrank p": logrank(a, b)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table[stats.P_ADJUSTED] = stats.adjusted_p_values(table["logrank p"])
    table["verdict"] = [stats.verdict(q, untestable="not testable", alpha=alpha)
                        for q in table[stats.P_ADJUSTED]]
    return table


def draw(fig: Figure, view: ReportView) -> bool:
    """Kaplan–Meier share of seeds at 100 % (and ≥ 95 %) by each epoch, per scenario."""
    records = view.reference
    full, near = times_by_cell(records, 1.0), times_by_cell(records, LEARNED[1])
    if not full:
        return False
    labels = list(dict.fromkeys(s for s, _ in full))
    colour_of = colours([r for r in records if r.get("status") == "ok"])
    first = {}  # scenario → its first evaluated epoch: every curve starts at 0 % there
    for r in curved(records):
        label = scenario_label(r)
        first[label] = min(first.get(label, math.inf), r["accuracy_curve"]["epochs"][0])
    for ax, scenario in zip(panels(fig, len(labels)), labels, strict=True):
        for backend, colour in colour_of.items():
            times = full.get((scenario, backend))
            if times is None:
                continue
            for which, style in ((near[(scenario, backend)], ":"), (times, "-")):
                cdf = survival(which).cdf
                q, p = cdf.quantiles, cdf.probabilities
                ax.step(np.r_[first[scenario], q], 100 * np.r_[0.0, p], where="post", color=colour,
                        linestyle=style, linewidth=2 if style == "-" else 1.2)
            low, high = band(cdf)  # the last drawn: time to 100 %
            ax.fill_between(q, 100 * low, 100 * high, step="post", color=colour, alpha=0.2, linewidth=0)
            censored = [e for e, ok in zip(times.epochs, times.learned, strict=True) if not ok]
            if censored:
                ax.plot(censored, 100 * cdf.evaluate(np.asarray(censored)), linestyle="none", marker="|",
                        markersize=12, markeredgewidth=2, color=colour)
        log_epochs(ax)
        ax.set(ylim=(-2, 102), title=scenario)
    fig.supylabel("seeds that learned by this epoch (%)")
    extra = [Line2D([], [], color="grey", linewidth=2, label="100 % right (band: 95 % CI)"),
             Line2D([], [], color="grey", linestyle=":", label="≥ 95 % right"),
             Line2D([], [], color="grey", linestyle="none", marker="|", markersize=10, label="censored seed")]
    legend(fig, colour_of, extra)
    fig.suptitle("Time to learn (Kaplan–Meier, censored seeds kept): share of seeds at 100 % by each epoch")
    return True


PLOT = Plot("time_to_learn", "share of seeds that learned by each epoch", draw)


def body(view: ReportView) -> str:
    """Shown only when some seed carries an accuracy curve."""
    records, label = view.reference, scenario_label
    if not curved(records):
        return ""
    steps = resolution(records)
    by_step: dict[int, list[str]] = {}
    for scenario, step in steps.items():
        by_step.setdefault(step, []).append(scenario)
    res = "; ".join(f"every {f'{step:,} epochs' if step != 1 else 'epoch'} ({', '.join(s)})"
                    for step, s in by_step.items())
    parts = [
        "Per seed, the first evaluated epoch at which the model gets 100 % of the "
        "training patterns right (and ≥ 95 %), read from its accuracy curve. "
        f"Resolution: {res}, so a time is known to within one step. A seed that never gets there is "
        "censored at its last evaluated epoch: it counts in `n` and in the share, and the median comes "
        "from scipy's Kaplan–Meier estimate (`scipy.stats.ecdf` of `CensoredData`), its "
        f"{CONFIDENCE:.0%} CI where scipy's {CI_METHOD} band of the survival function crosses one half; "
        "'not reached': fewer than half the seeds got there. The last column is a different quantity: "
        "the running training accuracy Keras and PyTorch report during an epoch (the weights change "
        "while it is measured), its first epoch at 100 %.",
        md(learning_table(records, label)),
        PLOT.link(view),
    ]
    tests = logrank_table(records, label)
    if not tests.empty:
        parts.append(f"Keras vs PyTorch, time to 100 %: scipy's logrank test (two-sided, censoring-aware); "
                     f"p-values Benjamini–Hochberg-adjusted across the {len(tests)} rows, verdict on the "
                     f"adjusted p at α = {stats.ALPHA}.\n\n" + md(tests, ".3g"))
    return "\n\n".join(p for p in parts if p)


SECTION = Section("Time to learn", body, (PLOT,), {
    "time_to_learn": lambda view: learning_table(view.reference),
    "logrank": lambda view: logrank_table(view.reference),
})

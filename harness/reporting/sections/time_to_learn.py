"""The report's "Time to learn": when each seed learns every training pattern, on two clocks (`survival`).

Why: two frameworks can both end at 100 % and still differ in how long they take, and most seeds
touch 100 % and drop below it again: *first touch* alone would call a framework fast that cannot
keep what it touched. The headline is *learned for good* (within the seed's budget); first touch,
the relapses between the two and the late collapses are shown beside it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats as sps

from harness.reporting import stats
from harness.reporting.anytime import collapse_text, late_collapses
from harness.reporting.labels import (
    Label,
    backend_label,
    framework_pairs,
    pair_words,
    scenario_label,
    scenario_sort_key,
)
from harness.reporting.markdown import interval, md
from harness.reporting.plotting import colours, legend, log_epochs, panels
from harness.reporting.section import Plot, Section
from harness.reporting.survival import (
    CI_METHOD,
    CONFIDENCE,
    RATIO_MARGIN,
    Median,
    Times,
    band,
    curve_step,
    curved,
    first_epoch,
    first_running_epoch,
    fmt_median,
    logrank,
    median_ratio_interval,
    median_time,
    relapse,
    settled_epoch,
    survival,
    times_by_cell,
)
from harness.reporting.view import ReportView

THETA = 1.0  # every training pattern right
EQUIVALENT_TIMES = f"equivalent within ×{RATIO_MARGIN:g}"
FOR_GOOD, FIRST_TOUCH = "learned for good", "first touch"
CLOCKS = ((FOR_GOOD, settled_epoch), (FIRST_TOUCH, first_epoch))


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


def share_learned(times: Times) -> str:
    """'k/n (lo–hi %)': seeds learned, with the exact (Clopper–Pearson) 95 % CI of the share."""
    k = sum(times.learned)
    ci = sps.binomtest(k, times.n).proportion_ci(CONFIDENCE, method="exact")
    return f"{k}/{times.n} ({100 * ci.low:.0f}–{100 * ci.high:.0f} %)"


def _relapses(records: list[dict[str, Any]], scenario: str, backend: str, label: Label) -> str:
    """'k/m, to x %': seeds that fell below 100 % after their first touch, of those that touched it,
    and the lowest accuracy any of them fell to."""
    found = [relapse(r["accuracy_curve"], THETA) for r in curved(records)
             if label(r) == scenario and backend_label(r) == backend]
    touched = [f for f in found if f is not None and f.touched]
    fell = [f for f in touched if f.relapsed]
    if not touched:
        return "—"
    return f"{len(fell)}/{len(touched)}" + (f", to {100 * min(f.lowest for f in fell):.0f} %" if fell else "")


def learning_table(records: list[dict[str, Any]], label: Label = scenario_label) -> pd.DataFrame:
    good, first = (times_by_cell(records, THETA, label, clock) for _, clock in CLOCKS)
    steps = resolution(records)
    rows = []
    for (scenario, backend), times in good.items():
        touch, censor = first[(scenario, backend)], max(times.epochs)
        step = steps.get(scenario.split("[")[0], 0)
        rows.append({
            "scenario": scenario, "backend": backend, "n": times.n,
            "learned for good (95 % CI)": share_learned(times),
            "median epoch, for good (95 % CI)": fmt_median(median_time(times), censor, step),
            "touched 100 %": f"{sum(touch.learned)}/{touch.n}",
            "median epoch, first touch (95 % CI)": fmt_median(median_time(touch), censor, step),
            "relapsed after first touch": _relapses(records, scenario, backend, label),
            "running train acc first 100 % (median, seeds)": _running(records, scenario, backend, label),
        })
    return pd.DataFrame(rows)


def logrank_table(records: list[dict[str, Any]], label: Label = scenario_label, clock: str = FOR_GOOD,
                  alpha: float = stats.ALPHA) -> pd.DataFrame:
    """Each pair of frameworks per scenario on one clock (Keras vs PyTorch; with JAX too, every pair):
    logrank p raw and BH-adjusted across the table (every pair of every scenario one family), and
    the ratio of the medians with its bootstrap 90 % CI: equivalent when that CI lies within
    [1/RATIO_MARGIN, RATIO_MARGIN] (two one-sided 5 % tests) and the logrank finds no difference."""
    cells = times_by_cell(records, THETA, label, dict(CLOCKS)[clock])
    steps = resolution(records)
    rows, equal = [], []
    for scenario, first, second in framework_pairs(list(cells)):
        a, b = cells[(scenario, first)], cells[(scenario, second)]
        step = steps.get(scenario.split("[")[0], 0)
        ma, mb = median_time(a), median_time(b)
        low, high = median_ratio_interval(a, b)
        equal.append(low >= 1 / RATIO_MARGIN and high <= RATIO_MARGIN)
        rows.append({"scenario": scenario, "A": first, "B": second, "n A/B": f"{a.n}/{b.n}",
                     "learned A/B": f"{sum(a.learned)}/{sum(b.learned)}",
                     "median A": fmt_median(ma, max(a.epochs), step),
                     "median B": fmt_median(mb, max(b.epochs), step),
                     "median A / B (90 % CI)": (f"{ma.value / mb.value:.2f} ({interval(low, high, '.2f')})"
                                                if math.isfinite(ma.value / mb.value) else "—"),
                     "logrank p": logrank(a, b)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table[stats.P_ADJUSTED] = stats.adjusted_p_values(table["logrank p"])
    table["verdict"] = [stats.verdict(q, untestable="not testable", alpha=alpha,
                                      equivalence=0.0 if same else 1.0, equivalent=EQUIVALENT_TIMES)
                        for q, same in zip(table[stats.P_ADJUSTED], equal, strict=True)]
    return table


def _sooner(a: Median, b: Median, names: tuple[str, str]) -> str | None:
    """Which side's median comes first (a median not reached comes last); None when they tie."""
    ka, kb = (math.inf if math.isnan(m.value) else m.value for m in (a, b))
    return None if ka == kb else names[0] if ka < kb else names[1]


def _median_words(m: Median, times: Times) -> str:
    return f"{m.value:,.0f}" if math.isfinite(m.value) else f"not reached (> {max(times.epochs):,.0f})"


def _clause(row: pd.Series, cells: dict[tuple[str, str], Times], verb: str, what: str) -> str:
    """e.g. 'keras[fast] learns for good sooner (median 96 vs 1,680 epochs, adjusted p = 0.0012)'."""
    a, b = cells[(row["scenario"], row["A"])], cells[(row["scenario"], row["B"])]
    ma, mb = median_time(a), median_time(b)
    q = row[stats.P_ADJUSTED]
    facts = (f"median {_median_words(ma, a)} vs {_median_words(mb, b)} epochs, "
             + (f"adjusted p = {q:.2g}" if math.isfinite(q) else "not testable"))
    first = _sooner(ma, mb, (row["A"], row["B"]))
    if row["verdict"] == stats.DIFFERENT and first:
        return f"{first} {verb} sooner ({facts})"
    if row["verdict"] == EQUIVALENT_TIMES:
        return (f"they {what} within ×{RATIO_MARGIN:g} of each other ({facts}, median ratio "
                f"{row['median A / B (90 % CI)']})")
    return f"inconclusive on when they {what} ({facts})"


def headline(records: list[dict[str, Any]], label: Label = scenario_label,
             tables: dict[str, pd.DataFrame] | None = None) -> list[str]:
    """Per scenario and pair of frameworks: learned for good first, first touch beside it.
    `tables`: each clock's `logrank_table`, when the caller has them already."""
    tables = tables or {clock: logrank_table(records, label, clock) for clock, _ in CLOCKS}
    cells = {clock: times_by_cell(records, THETA, label, fn) for clock, fn in CLOCKS}
    if tables[FOR_GOOD].empty:
        return []
    several = len(compared(tables[FOR_GOOD])) > 1  # then each sentence names its pair
    out = []
    for (_, good), (_, touch) in zip(tables[FOR_GOOD].iterrows(), tables[FIRST_TOUCH].iterrows(),
                                     strict=True):
        which = f" ({good['A']} vs {good['B']})" if several else ""
        out.append(f"**{good['scenario']}**{which}: "
                   f"{_clause(good, cells[FOR_GOOD], 'learns for good', 'learn for good')}; "
                   f"by first touch, {_clause(touch, cells[FIRST_TOUCH], 'touches 100 %', 'touch 100 %')}.")
    return out


def compared(table: pd.DataFrame) -> list[str]:
    """The pairs of frameworks a table's A and B rows compare, e.g. ['Keras vs PyTorch']."""
    if table.empty:
        return []
    return list(dict.fromkeys(pair_words(a, b, " vs ") for a, b in zip(table["A"], table["B"], strict=True)))


def compared_words(table: pd.DataFrame) -> str:
    """'Keras vs PyTorch', or with more pairs 'Every pair of frameworks (Keras vs PyTorch, …)'."""
    pairs = compared(table)
    return pairs[0] if len(pairs) == 1 else f"Every pair of frameworks ({', '.join(pairs)})"


def draw(fig: Figure, view: ReportView) -> bool:
    """Kaplan–Meier share of seeds learned for good (solid, with band) and at first touch (dashed)."""
    records = view.reference
    good, first = (times_by_cell(records, THETA, scenario_label, clock) for _, clock in CLOCKS)
    if not good:
        return False
    labels = list(dict.fromkeys(s for s, _ in good))
    colour_of = colours([r for r in records if r.get("status") == "ok"])
    start = {}  # scenario → its first evaluated epoch: every curve starts at 0 % there
    for r in curved(records):
        label = scenario_label(r)
        start[label] = min(start.get(label, math.inf), r["accuracy_curve"]["epochs"][0])
    for ax, scenario in zip(panels(fig, len(labels)), labels, strict=True):
        for backend, colour in colour_of.items():
            times = good.get((scenario, backend))
            if times is None:
                continue
            for which, style in ((first[(scenario, backend)], "--"), (times, "-")):
                cdf = survival(which).cdf
                q, p = cdf.quantiles, cdf.probabilities
                ax.step(np.r_[start[scenario], q], 100 * np.r_[0.0, p], where="post", color=colour,
                        linestyle=style, linewidth=2 if style == "-" else 1.2)
            low, high = band(cdf)  # the last drawn: learned for good
            ax.fill_between(q, 100 * low, 100 * high, step="post", color=colour, alpha=0.2, linewidth=0)
            censored = [e for e, ok in zip(times.epochs, times.learned, strict=True) if not ok]
            if censored:
                ax.plot(censored, 100 * cdf.evaluate(np.asarray(censored)), linestyle="none", marker="|",
                        markersize=12, markeredgewidth=2, color=colour)
        log_epochs(ax)
        ax.set(ylim=(-2, 102), title=scenario)
    fig.supylabel("seeds at 100 % by this epoch (%)")
    extra = [Line2D([], [], color="grey", linewidth=2, label="learned for good (band: 95 % CI)"),
             Line2D([], [], color="grey", linestyle="--", label="first touch"),
             Line2D([], [], color="grey", linestyle="none", marker="|", markersize=10, label="censored seed")]
    legend(fig, colour_of, extra)
    fig.suptitle("Time to learn (Kaplan–Meier, censored seeds kept): learned for good and first touch")
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
        "Two clocks per seed, read from its accuracy curve (resolution: "
        f"{res}, so a time is known to within one step). **Learned for good**: the first evaluated epoch "
        "from which every later evaluation, up to the end of the seed's budget, gets 100 % of the "
        "training patterns right — for good *within this budget*: a seed whose last evaluation is below "
        "100 % is censored at it. **First touch**: the first evaluated epoch at 100 %. A seed that "
        "touches 100 % and drops below it later has *relapsed* (`relapsed after first touch`: seeds that "
        "did, of those that touched, and the lowest accuracy they fell to). Censored seeds count in `n` "
        "and in the share (exact Clopper–Pearson 95 % CI); the medians come from scipy's Kaplan–Meier "
        f"estimate (`scipy.stats.ecdf` of `CensoredData`), their {CONFIDENCE:.0%} CI where scipy's "
        f"{CI_METHOD} band of the survival function crosses one half (a time read at an evaluated epoch t "
        "lies in (t − step, t], so a CI that would collapse to one epoch is widened to the step; `*`: a "
        "limit read off the estimate itself, where scipy's band is undefined because every seed had "
        "learned by then); 'not "
        "reached': fewer than half the seeds got there; exactly half: the midpoint to the next epoch "
        "at which more seeds learned. The last column is a different quantity: the running training "
        "accuracy Keras "
        "and PyTorch report during an epoch (the weights change while it is measured), its first epoch "
        "at 100 %.",
        md(learning_table(records, label)),
        PLOT.link(view),
    ]
    tables = {clock: logrank_table(records, label, clock) for clock, _ in CLOCKS}
    sentences = headline(records, label, tables)
    if sentences:
        parts.append(f"{compared_words(tables[FOR_GOOD])}:\n\n" + "\n".join(f"- {s}" for s in sentences))
    for clock, tests in tables.items():
        if not tests.empty:
            across = " (every pair of every scenario)" if len(compared(tests)) > 1 else ""
            parts.append(f"{compared_words(tests)}, {clock} at 100 %: scipy's logrank test (two-sided, "
                         f"censoring-aware); the {len(tests)} tests of this table{across} are one family, "
                         f"Benjamini–Hochberg-adjusted, verdict on the adjusted p at α = {stats.ALPHA}: "
                         f"different, or `{EQUIVALENT_TIMES}` when instead the seeded bootstrap 90 % CI "
                         f"of the ratio of the medians lies within 1/{RATIO_MARGIN:g}–{RATIO_MARGIN:g} "
                         "(two one-sided 5 % tests, unadjusted), else inconclusive.\n\n"
                         + md(tests, ".3g"))
    parts.append(collapse_text(view.grid, view.label))
    return "\n\n".join(p for p in parts if p)


SECTION = Section("Time to learn", body, (PLOT,), {
    "time_to_learn": lambda view: learning_table(view.reference),
    "logrank": lambda view: logrank_table(view.reference),
    "late_collapses": lambda view: late_collapses(view.grid, view.label),
})

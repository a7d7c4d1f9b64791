"""The report's analytical sections: accuracy statistics, backend comparison, findings,
per-letter errors and probes. Each takes records and returns markdown."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import aggregate, stats
from harness.reporting.findings import THRESHOLDS, Finding, evaluate_findings
from harness.reporting.markdown import interval, md
from scenarios import ALPHABET, ResolvedScenario, UnknownScenarioError, get_scenario

PROBE_MEANING = {
    "generate_from_A": "reset, feed A, feed predictions back 25 steps: % of B…Z generated right",
    "cold_start_K": "reset, feed K, feed back 5 steps: % of seeds whose first letter is B "
    "(the model replays the alphabet from its start, as in the tutorial)",
    "random_patterns": "20 random training patterns predicted one at a time: % right",
    "reset_each_sample": "stateful model scored with a reset before every sample: % right "
    "(compare with the carried-state accuracy)",
    "state_carried": "from a reset, the same input fed twice: % of seeds whose two outputs differ, i.e. "
    "whose framework carries the LSTM state between calls at all",
}
POWER_POINTS = 2.0  # the fixed Keras–PyTorch difference every comparison is powered for


def _pattern_counts(records: list[dict[str, Any]] | None) -> dict[tuple[str, str], int]:
    """Evaluated patterns per (scenario, backend) row: the n of every attainable accuracy k/n."""
    counts: dict[tuple[str, str], int] = {}
    for r in records or []:
        if r["status"] == "ok" and r.get("patterns"):
            counts.setdefault((aggregate.scenario_label(r), aggregate.backend_label(r)), len(r["patterns"]))
    return counts


def _registry_count(label: str) -> int | None:
    """The registry's pattern count for a scenario label, for callers that pass no records: the same
    n as a record's `patterns` (every training pattern is evaluated)."""
    try:
        return ResolvedScenario(get_scenario(label.split("[")[0])).n_samples
    except UnknownScenarioError:
        return None


def _reference(printed: float | None, values: list[float], n: int | None) -> tuple[object, float]:
    """A published figure as shown (with the k/n it was snapped to) and its percentile among seeds."""
    if printed is None or pd.isna(printed):
        return None, np.nan
    if not n:
        return printed, stats.percentile_of(printed, values)
    k, _ = stats.snap_to_attainable(printed, n)
    return f"{printed:.2f} → {k}/{n}", stats.percentile_of_attainable(printed, values, n)


def accuracy_table(frame: pd.DataFrame, records: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """The Accuracy section's table: per scenario × backend; `records` give each row's pattern count for
    the snap (else the scenario registry's)."""
    counts = _pattern_counts(records)
    rows = []
    for (scenario, backend), group in frame.groupby(["scenario", "backend"], sort=False):
        acc = aggregate.ok(group)["accuracy"].tolist()
        s = stats.summary(acc)
        n_patterns = counts.get((scenario, backend)) or _registry_count(scenario)
        tutorial, tutorial_pct = _reference(group["tutorial"].iloc[0], acc, n_patterns)
        notebook, notebook_pct = _reference(group["notebook"].iloc[0], acc, n_patterns)
        rows.append({
            "scenario": scenario, "backend": backend, "epochs": group["epochs"].iloc[0], "n": s.n,
            "mean": s.mean, "std": s.std, "median": s.median, "min": s.min, "max": s.max,
            "95 % CI of mean": interval(s.ci_low, s.ci_high),
            "tutorial": tutorial, "tutorial pct": tutorial_pct,
            "notebook": notebook, "notebook pct": notebook_pct,
        })
    failed = frame[frame["status"] != "ok"].groupby(["scenario", "backend"]).size().to_dict()
    table = pd.DataFrame(rows)
    if not table.empty:
        table["failed"] = [failed.get((r.scenario, r.backend), 0) for r in table.itertuples()]
    return table


def accuracy_section(frame: pd.DataFrame, records: list[dict[str, Any]] | None = None) -> str:
    """Accuracy per scenario × backend (`accuracy_table`), with what its columns mean."""
    table = accuracy_table(frame, records)
    return (
        "## Accuracy\n\nShare of the scenario's own training patterns predicted right (%), across "
        "seeds. 95 % CI: seeded percentile bootstrap of the mean. `tutorial` is the tutorial's single "
        "run, `notebook` the seed notebook's. Both printed their figure rounded to two decimals, while "
        "a seed can only score k/n (n = the scenario's evaluated patterns), so each figure is snapped "
        "to the nearest attainable k/n, shown after the arrow (86.96 → 20/23), before it is placed "
        "among the seeds. `pct` is that snapped figure's percentile in this run's seed distribution: "
        "the share of seeds below it plus half of those that scored exactly it (scipy's "
        "`percentileofscore`, kind=\"mean\"): 0 = below every seed, 50 = typical or tied with every "
        "seed, 100 = above every seed.\n\n" + md(table, ".1f")
    )


def _power_cells(a: list[float], b: list[float], diff: float) -> tuple[str, str, str]:
    """Seeds per backend for 80 % power at the observed difference and at POWER_POINTS, and the
    plain-words note (zero spread, too few seeds) that goes with them: a 'no difference' verdict
    means little when the run could not have seen one."""
    sd = stats.pooled_sd(a, b)
    if not np.isfinite(sd):
        return "—", "—", "too few seeds to estimate the spread"
    if sd == 0:
        return ("zero spread", "zero spread",
                "zero spread: every seed of each backend scored the same, so no seed count is computed")
    observed = stats.seeds_for_power(diff, sd)
    fixed = f"{stats.seeds_for_power(POWER_POINTS, sd):.0f}"
    if not np.isfinite(observed):
        return "no difference", fixed, ""
    n = min(len(a), len(b))
    note = (f"too few seeds for the observed difference: {n} per backend, {observed:.0f} needed"
            if n < observed else "")
    return f"{observed:.0f}", fixed, note


def _settings(label: str) -> str:
    """A backend label's settings, without the framework: `torch[fast,init=keras]` -> `[fast,init=keras]`."""
    return label[label.find("["):] if "[" in label else ""


def matched_pairs(labels: list[str]) -> list[tuple[str, str]]:
    """Backends run with the same settings (keras[fast] vs torch[fast]): what differs is the framework.
    Rows with changed defaults are compared by the ablation section; a scenario with no matched pair
    compares every pair."""
    pairs = list(combinations(sorted(labels), 2))
    matched = [(a, b) for a, b in pairs if _settings(a) == _settings(b)]
    return matched or pairs


def comparison_section(frame: pd.DataFrame, alpha: float = stats.ALPHA) -> str:
    """Backends of the same settings per scenario; the table's tests are one family (Benjamini–Hochberg)."""
    good = aggregate.ok(frame)
    rows, tests = [], []
    for scenario, group in good.groupby("scenario", sort=False):
        by_backend = {b: g["accuracy"].tolist() for b, g in group.groupby("backend", sort=True)}
        for a, b in matched_pairs(list(by_backend)):
            diff = stats.diff_of_means(by_backend[a], by_backend[b])
            test = stats.mann_whitney(by_backend[a], by_backend[b])
            observed, fixed, power_note = _power_cells(by_backend[a], by_backend[b], diff.diff)
            notes = ([] if test.can_reach(alpha)
                     else [f"n too small: p can never go below {test.min_p_value:.3g}"])
            tests.append(test)
            rows.append({
                "scenario": scenario, "A": a, "B": b,
                "n A/B": f"{len(by_backend[a])}/{len(by_backend[b])}",
                "mean A − B (points)": diff.diff, "95 % CI": interval(diff.low, diff.high),
                "P(A seed beats B seed)": test.prob_superiority,
                "Mann–Whitney p": test.p_value, "p BH-adjusted": np.nan, "verdict": "",
                "seeds for observed Δ": observed, f"seeds for {POWER_POINTS:g} points": fixed,
                "note": "; ".join([*notes, power_note] if power_note else notes),
            })
    adjusted = stats.adjusted_p_values([t.p_value for t in tests])
    for row, test, q in zip(rows, tests, adjusted, strict=True):
        row["p BH-adjusted"], row["verdict"] = q, _difference_verdict(test, q, alpha)
    family = sum(np.isfinite(q) for q in adjusted)
    text = ("## Backends compared\n\nPer scenario, backends run with the same settings (e.g. keras[fast] vs "
            "torch[fast]; rows with changed defaults are compared in the ablation section when there is "
            "one): difference of mean accuracy (bootstrap CI), the "
            "probability that a random seed of A beats a random seed of B (ties count half), and a "
            f"two-sided Mann–Whitney U test. Many comparisons: the {family} tests of this table are one "
            "family, their p-values adjusted together by Benjamini–Hochberg (false discovery rate, "
            "scipy's `false_discovery_control`); the raw p is shown beside the adjusted one and the "
            f"verdict uses the adjusted one, significant when it is < {alpha}. Power: seeds per backend "
            f"needed to detect the observed difference, and a fixed {POWER_POINTS:g}-point difference, "
            f"with {100 * stats.POWER:.0f} % power at two-sided α = {stats.ALPHA} (unadjusted): normal "
            "approximation to a two-sample t-test on per-seed accuracies in points, with the pooled SD, "
            "n = 2 (z(1 − α/2) + z(power))² σ² / Δ², rounded up.\n\n")
    return text + md(pd.DataFrame(rows), ".3g")


def _difference_verdict(test: stats.MannWhitney, adjusted: float, alpha: float) -> str:
    if np.isnan(test.p_value):
        return "no data"
    if not test.can_reach(alpha):
        return "undecidable at this n"
    return "different" if adjusted < alpha else "no significant difference"


def findings_table(found: list[Finding]) -> pd.DataFrame:
    """The findings section's table: one row per claim and backend."""
    return pd.DataFrame([
        {"#": f.number, "tutorial's claim": f.claim, "backend": f.backend, "verdict": f.wording or f.verdict,
         "evidence": f.evidence} for f in found
    ])


def findings_section(records: list[dict[str, Any]]) -> str:
    found = evaluate_findings(records)
    table = findings_table(found)
    tested = sorted({f.number for f in found if np.isfinite(f.p_adjusted)})
    family = sum(np.isfinite(f.p_adjusted) for f in found)
    numbers = " and ".join(", ".join(map(str, tested)).rsplit(", ", 1))
    adjusted = (f"Many comparisons: the {family} tests behind finding{'s' if len(tested) > 1 else ''} "
                f"{numbers} (one per finding and backend) are one family, their "
                "p-values adjusted together by Benjamini–Hochberg; the evidence shows the raw p beside "
                "the adjusted one and the verdict uses the adjusted one. " if family else "")
    return ("## The tutorial's findings, tested\n\nEach verdict is worded in the claim's own terms and, "
            f"with every sentence, computed from the records. {adjusted}Thresholds: {THRESHOLDS}\n\n"
            + md(table))


def letters_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Error rate (%) per target letter (rows B–Z) × "scenario backend" column, from `pattern_frame`."""
    wide = frame.pivot_table(index="target", columns=["scenario", "backend"], values="error_pct",
                             aggfunc="mean", sort=False)
    wide = wide.reindex(list(ALPHABET[1:]))
    wide.columns = [f"{s} {b}" for s, b in wide.columns]
    return wide.reset_index().rename(columns={"target": "letter"})


def letters_section(records: list[dict[str, Any]]) -> str:
    frame = aggregate.pattern_frame(records)
    if frame.empty:
        return "## Per-letter errors\n\n_no data_"
    parts = [
        "## Per-letter errors\n\nError rate (%) per target letter across seeds; blank where the "
        "letter is never a target. ![per-letter error heatmap](letter_errors.png)",
        md(letters_table(frame), ".0f").replace("—", " "),
    ]
    mistakes = aggregate.letter_errors(records)
    if mistakes:
        parts.append("### Most common wrong predictions")
        for scenario, table in mistakes.items():
            parts.append(f"**{scenario}**\n\n" + md(table, ".0f"))
    variable = frame[frame["scenario"] == "variable_length"]
    if not variable.empty:
        variable = variable.assign(length=variable["input"].str.len())
        by_length = variable.pivot_table(index="length", columns="backend", values="error_pct",
                                         aggfunc="mean")
        one_run = next(r for r in records if r["status"] == "ok" and r["scenario"] == "variable_length")
        lengths = pd.Series([len(p["input"]) for p in one_run["patterns"]]).value_counts()
        by_length.insert(0, "patterns", lengths.reindex(by_length.index).fillna(0).astype(int))
        parts.append("### variable_length: error rate (%) by input length\n\n"
                     + md(by_length.reset_index(), ".1f"))
    return "\n\n".join(parts)


def probes_section(records: list[dict[str, Any]]) -> str:
    table = aggregate.probe_table(records)
    meaning = "\n".join(f"- `{name}`: {text}" for name, text in PROBE_MEANING.items())
    return "## Probes\n\n" + meaning + "\n\n" + md(table.rename(columns={"mean": "mean %"}))

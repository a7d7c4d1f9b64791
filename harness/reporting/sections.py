"""The report's analytical sections: accuracy statistics, backend comparison, findings,
per-letter errors and probes. Each takes records and returns markdown."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import aggregate, stats
from harness.reporting.findings import THRESHOLDS, evaluate_findings
from harness.reporting.markdown import interval, md
from scenarios import ALPHABET

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


def _percentile(reference: float | None, values: list[float]) -> float:
    return np.nan if reference is None or pd.isna(reference) else stats.percentile_of(reference, values)


def accuracy_section(frame: pd.DataFrame) -> str:
    rows = []
    for (scenario, backend), group in frame.groupby(["scenario", "backend"], sort=False):
        acc = aggregate.ok(group)["accuracy"].tolist()
        s = stats.summary(acc)
        tutorial, notebook = group["tutorial"].iloc[0], group["notebook"].iloc[0]
        rows.append({
            "scenario": scenario, "backend": backend, "epochs": group["epochs"].iloc[0], "n": s.n,
            "mean": s.mean, "std": s.std, "median": s.median, "min": s.min, "max": s.max,
            "95 % CI of mean": interval(s.ci_low, s.ci_high),
            "tutorial": tutorial, "tutorial pct": _percentile(tutorial, acc),
            "notebook": notebook, "notebook pct": _percentile(notebook, acc),
        })
    failed = frame[frame["status"] != "ok"].groupby(["scenario", "backend"]).size().to_dict()
    table = pd.DataFrame(rows)
    if not table.empty:
        table["failed"] = [failed.get((r.scenario, r.backend), 0) for r in table.itertuples()]
    return (
        "## Accuracy\n\nShare of the scenario's own training patterns predicted right (%), across "
        "seeds. 95 % CI: seeded percentile bootstrap of the mean. `tutorial` is the tutorial's single "
        "run, `notebook` the seed notebook's; `pct` is where that figure falls in this run's seed "
        "distribution (percentile: 50 = typical, 100 = above every seed).\n\n" + md(table, ".1f")
    )


def comparison_section(frame: pd.DataFrame, alpha: float = stats.ALPHA) -> str:
    good = aggregate.ok(frame)
    rows = []
    for scenario, group in good.groupby("scenario", sort=False):
        by_backend = {b: g["accuracy"].tolist() for b, g in group.groupby("backend", sort=True)}
        for a, b in combinations(sorted(by_backend), 2):
            diff = stats.diff_of_means(by_backend[a], by_backend[b])
            test = stats.mann_whitney(by_backend[a], by_backend[b])
            note = ("" if test.can_reach(alpha) else
                    f"n too small: p can never go below {test.min_p_value:.3g}")
            rows.append({
                "scenario": scenario, "A": a, "B": b,
                "n A/B": f"{len(by_backend[a])}/{len(by_backend[b])}",
                "mean A − B (points)": diff.diff, "95 % CI": interval(diff.low, diff.high),
                "Mann–Whitney p": test.p_value, "P(A seed beats B seed)": test.prob_superiority,
                "verdict": _difference_verdict(test, alpha), "note": note,
            })
    text = ("## Backends compared\n\nPer scenario: difference of mean accuracy (bootstrap CI), a "
            "two-sided Mann–Whitney U test, and the probability that a random seed of A beats a "
            f"random seed of B (ties count half). Significant at α = {alpha}.\n\n")
    return text + md(pd.DataFrame(rows), ".3g")


def _difference_verdict(test: stats.MannWhitney, alpha: float) -> str:
    if np.isnan(test.p_value):
        return "no data"
    if not test.can_reach(alpha):
        return "undecidable at this n"
    return "different" if test.p_value < alpha else "no significant difference"


def findings_section(records: list[dict[str, Any]]) -> str:
    found = evaluate_findings(records)
    table = pd.DataFrame([
        {"#": f.number, "tutorial's claim": f.claim, "backend": f.backend, "verdict": f.verdict,
         "evidence": f.evidence} for f in found
    ])
    return ("## The tutorial's findings, tested\n\nEach verdict and sentence is computed from the "
            f"records. Thresholds: {THRESHOLDS}\n\n" + md(table))


def letters_section(records: list[dict[str, Any]]) -> str:
    frame = aggregate.pattern_frame(records)
    if frame.empty:
        return "## Per-letter errors\n\n_no data_"
    wide = frame.pivot_table(index="target", columns=["scenario", "backend"], values="error_pct",
                             aggfunc="mean", sort=False)
    wide = wide.reindex(list(ALPHABET[1:]))
    wide.columns = [f"{s} {b}" for s, b in wide.columns]
    parts = [
        "## Per-letter errors\n\nError rate (%) per target letter across seeds; blank where the "
        "letter is never a target. ![per-letter error heatmap](letter_errors.png)",
        md(wide.reset_index().rename(columns={"target": "letter"}), ".0f").replace("—", " "),
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

"""The report's "Budget": accuracy against training epochs, and the tutorial's findings re-judged
at every checkpoint epoch.

Why: the tutorial judged each task at one budget. A verdict that flips between two checkpoints
is a statement about the budget, not about the framework; a seed that was right at epoch 250 and
wrong at 500 collapsed late. Everything here reads the records' `checkpoints` (accuracy, every
pattern's prediction and the probes at an epoch) and `accuracy_curve` (accuracy alone, denser).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from harness.reporting import stats
from harness.reporting.anytime import (
    as_of,
    checkpoint_epochs,
    collapse_text,
    has_anytime,
    has_checkpoints,
    scored,
    seed_points,
)
from harness.reporting.claims import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    MIXED,
    NO_DATA,
    draft_findings,
    judge_findings,
)
from harness.reporting.labels import backend_label, scenario_label, scenario_sort_key
from harness.reporting.markdown import md
from harness.reporting.plotting import colours, legend, log_epochs, panels, scenarios
from harness.reporting.section import Plot, Section
from harness.reporting.survival import curved
from harness.reporting.view import ReportView

BAND_RESAMPLES = 2_000  # bootstrap resamples per epoch for the figure's band (seeded: deterministic)
# The findings' coarse verdicts (`Finding.verdict`, the category meant for comparing across epochs).
SYMBOLS = {HOLDS: "✓", FAILS: "✗", MIXED: "~", INCONCLUSIVE: "?", NO_DATA: ""}


def verdicts_by_epoch(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, dict[int, str]]:
    """Verdict per (finding, backend) × checkpoint epoch (NO_DATA where the records have no checkpoint
    there), and each finding's claim. A finding's tests at every checkpoint epoch (and backend) are one
    family, adjusted together: re-asking the same question at many budgets is many tests."""
    drafts = [(epoch, d) for epoch in checkpoint_epochs(records)
              for d in draft_findings([s for s in (as_of(r, epoch) for r in records) if s is not None])]
    adjusted, equivalent = [math.nan] * len(drafts), [math.nan] * len(drafts)
    for number in {d[0] for _, d in drafts}:
        family = [i for i, (_, d) in enumerate(drafts) if d[0] == number]
        for i, q, e in zip(family, stats.adjusted_p_values([drafts[i][1][3].p_value for i in family]),
                           stats.adjusted_p_values([drafts[i][1][3].equivalence_p for i in family]),
                           strict=True):
            adjusted[i], equivalent[i] = q, e
    found = judge_findings([d for _, d in drafts], adjusted, equivalent)
    rows: dict[tuple[int, str], dict[int, str]] = {}
    claims: dict[int, str] = {}
    for (epoch, _), finding in zip(drafts, found, strict=True):
        claims[finding.number] = finding.claim
        rows.setdefault((finding.number, finding.backend), {})[epoch] = finding.verdict
    table = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    table = table.reindex(columns=sorted(table.columns)).fillna(NO_DATA)
    return table.loc[(table != NO_DATA).any(axis=1), (table != NO_DATA).any()], claims


def _epochs(n: int) -> str:
    return f"{n:,}"


def change_sentence(sequence: list[tuple[int, str]]) -> str:
    """e.g. 'holds up to 500 epochs, does not hold from 1,000 on', or that it never changes."""
    runs: list[list] = []  # [verdict, first epoch, last epoch, checkpoints]
    for epoch, verdict in sequence:
        if runs and runs[-1][0] == verdict:
            runs[-1][2:] = [epoch, runs[-1][3] + 1]
        else:
            runs.append([verdict, epoch, epoch, 1])
    if not runs:
        return "no checkpoint with data"
    if len(runs) == 1:
        verdict, first, last, n = runs[0]
        return (f"{verdict} at every budget run ({_epochs(first)}–{_epochs(last)} epochs, {n} checkpoints): "
                "it never changes")
    parts = []
    for i, (verdict, first, last, _) in enumerate(runs):
        if i == 0:
            parts.append(f"{verdict} up to {_epochs(last)} epochs")
        elif i == len(runs) - 1:
            parts.append(f"{verdict} from {_epochs(first)} on")
        else:
            where = "around" if verdict == INCONCLUSIVE else "at"  # no budget effect is read into it
            parts.append(f"{verdict} {where} {_epochs(first)}" if first == last
                         else f"{verdict} from {_epochs(first)} to {_epochs(last)}")
    return ", ".join(parts)


def change_sentences(table: pd.DataFrame, claims: dict[int, str]) -> list[str]:
    """One sentence per finding with data at some checkpoint; backends whose verdicts change alike
    share a clause."""
    out = []
    for number in sorted({n for n, _ in table.index}):
        clauses: dict[str, list[str]] = {}
        for (n, backend), row in table.iterrows():
            if n == number:
                sequence = [(int(e), v) for e, v in row.items() if v != NO_DATA]
                clauses.setdefault(change_sentence(sequence), []).append(backend)
        text = "; ".join(f"{' and '.join(b)}: {c}" for c, b in clauses.items())
        out.append(f"**({number}) {claims[number]}** — {text}.")
    return out


def verdict_table(table: pd.DataFrame, records: list[dict[str, Any]]) -> pd.DataFrame:
    """The markdown form: symbols, an epoch header that marks the tutorial's budgets with †."""
    tutorial = {int((r.get("spec") or {}).get("epochs") or 0) for r in records}
    shown = table.map(lambda v: SYMBOLS.get(v, v))
    shown.columns = [f"{_epochs(e)}{' †' if e in tutorial else ''}" for e in table.columns]
    shown.insert(0, "backend", [b for _, b in table.index])
    shown.insert(0, "#", [n for n, _ in table.index])
    return shown.reset_index(drop=True)


def accuracy_at_checkpoints(records: list[dict[str, Any]]) -> list[pd.DataFrame]:
    """Mean accuracy (%) with its bootstrap CI per scenario × backend at each checkpoint epoch; one
    table per checkpoint schedule (scenarios of different lengths are evaluated at different epochs)."""
    cells: dict[tuple[str, str], dict[int, list[float]]] = {}
    for r in scored(records):
        cell = cells.setdefault((scenario_label(r), backend_label(r)), {})
        for epoch, acc in seed_points(r, curve=False).items():
            cell.setdefault(epoch, []).append(100.0 * acc)
    tables: dict[tuple[int, ...], list[dict[str, Any]]] = {}
    for (scenario, backend), by_epoch in sorted(cells.items(),
                                                key=lambda kv: (scenario_sort_key(kv[0][0]), kv[0][1])):
        if not by_epoch:
            continue
        row: dict[str, Any] = {"scenario": scenario, "backend": backend}
        for epoch, values in by_epoch.items():
            s = stats.summary(values)
            ci = ("" if s.n < 2 else f" (all {s.n})" if s.min == s.max
                  else f" ({s.ci_low:.1f}–{s.ci_high:.1f})")
            row[_epochs(epoch)] = f"{s.mean:.1f}{ci}"
        tables.setdefault(tuple(sorted(by_epoch)), []).append(row)
    return [pd.DataFrame(rows) for rows in tables.values()]


def _seed_matrix(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Seeds × epochs accuracy (%): checkpoints, plus the curve when every seed of the cell has one."""
    dense = all((r.get("accuracy_curve") or {}).get("epochs") for r in runs)
    frame = pd.DataFrame([seed_points(r, curve=dense) for r in runs])
    return 100.0 * frame.reindex(columns=sorted(frame.columns))


def draw(fig: Figure, view: ReportView) -> bool:
    """Accuracy against epochs per scenario: mean across seeds, bootstrap band, seeds faint."""
    good = [r for r in scored(view.reference) if seed_points(r)]
    if not good:
        return False
    colour_of = colours(good)
    labels = scenarios(good)
    for ax, scenario in zip(panels(fig, len(labels)), labels, strict=True):
        mine = [r for r in good if scenario_label(r) == scenario]
        for backend, colour in colour_of.items():
            runs = [r for r in mine if backend_label(r) == backend]
            if not runs:
                continue
            matrix = _seed_matrix(runs)
            epochs = matrix.columns.to_numpy(dtype=float)
            for _, row in matrix.iterrows():
                ax.plot(epochs, row.to_numpy(), color=colour, alpha=0.18, linewidth=0.7)
            bands = [stats.bootstrap_mean_ci(matrix[e], n_resamples=BAND_RESAMPLES, seed=0)
                     for e in matrix.columns]
            ax.fill_between(epochs, [b.low for b in bands], [b.high for b in bands], color=colour, alpha=0.3,
                            linewidth=0)
            ax.plot(epochs, matrix.mean(axis=0).to_numpy(), color=colour, linewidth=2)
        tutorial = (mine[0].get("spec") or {}).get("epochs")
        if tutorial:
            ax.axvline(tutorial, color="black", linestyle="--", linewidth=1)
        log_epochs(ax)
        ax.set(ylim=(-2, 102), title=scenario)
    fig.supylabel("accuracy on training patterns (%)")
    legend(fig, colour_of, [Line2D([], [], color="black", linestyle="--", label="tutorial's epochs")])
    fig.suptitle("Accuracy against training epochs: mean across seeds, 95 % bootstrap band, seeds faint")
    return True


PLOT = Plot("budget", "accuracy against epochs", draw)


def body(view: ReportView) -> str:
    """Shown only when some seed carries checkpoints or an accuracy curve; late collapses are searched
    in every grid point."""
    records = view.reference
    if not has_anytime(records):
        return ""
    parts = ["Each seed evaluated during its one training "
             "run (checkpoints: accuracy, every prediction and the probes; accuracy curve: accuracy alone, "
             "denser). Figure: mean across seeds with its 95 % bootstrap band, every seed a faint line, the "
             "tutorial's epochs dashed." + PLOT.link(view, "\n\n")]
    notes = sorted({f"{backend_label(r)}: {r['anytime_note']}" for r in records if r.get("anytime_note")})
    if notes:
        parts.append("No anytime evaluation for:\n\n" + "\n".join(f"- {n}" for n in notes))
    tables = accuracy_at_checkpoints(records)
    if tables:
        parts.append("Accuracy (%) at each checkpoint epoch: mean across seeds (95 % CI of the mean, seeded "
                     "percentile bootstrap; `all n`: every seed scored the same).\n\n"
                     + "\n\n".join(md(t) for t in tables))
    if has_checkpoints(records):
        table, claims = verdicts_by_epoch(records)
        legend = ", ".join(f"{s} {v}" for v, s in SYMBOLS.items() if s)
        parts.append(
            "### The tutorial's findings at every budget\n\nEach finding re-judged on the records as of a "
            "checkpoint epoch (accuracy, each pattern's predicted letter and the probes taken from the "
            "checkpoint; only seeds evaluated there), with the thresholds of the findings section. A "
            "finding's tests at every checkpoint epoch and backend are one family, Benjamini–Hochberg-"
            "adjusted together (asking the same question at many budgets is many tests); a verdict that "
            "turns inconclusive between two decided ones is read as such ('inconclusive around E'), not as "
            f"an effect of the budget. {legend}; blank: no checkpoint of that finding's scenarios at that "
            "epoch; † the tutorial's "
            "epochs for some scenario.\n\n" + md(verdict_table(table, records)) + "\n\n"
            + "\n".join(f"- {s}" for s in change_sentences(table, claims)))
        silent = sorted(set(claims) - {n for n, _ in table.index})
        if silent:
            parts[-1] += ("\n\nNo checkpoint of their scenarios for finding" + "s" * (len(silent) > 1) + " "
                          + ", ".join(map(str, silent)) + ".")
    if not curved(records):  # with accuracy curves, Time to learn lists them beside the relapses
        parts.append(collapse_text(view.grid, view.label))
    return "\n\n".join(parts)


SECTION = Section("Budget: accuracy against training epochs", body, (PLOT,))

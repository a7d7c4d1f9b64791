"""The report's "Budget": accuracy against training epochs, and the tutorial's findings re-judged
at every checkpoint epoch.

Why: the tutorial judged each task at one budget. A verdict that flips between two checkpoints
is a statement about the budget, not about the framework; a seed that was right at epoch 250 and
wrong at 500 collapsed late. Everything here reads the records' `checkpoints` (accuracy, every
pattern's prediction and the probes at an epoch) and `accuracy_curve` (accuracy alone, denser).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from harness.reporting import stats
from harness.reporting.claims import FAILS, HOLDS, INCONCLUSIVE, MIXED, NO_DATA, evaluate_findings
from harness.reporting.labels import Label, backend_label, scenario_label, scenario_sort_key
from harness.reporting.markdown import md
from harness.reporting.plotting import colours, legend, log_epochs, panels, scenarios
from harness.reporting.section import Plot, Section
from harness.reporting.view import ReportView

COLLAPSE_POINTS = 10.0  # best checkpoint/curve accuracy minus final accuracy that counts as a collapse
BAND_RESAMPLES = 2_000  # bootstrap resamples per epoch for the figure's band (seeded: deterministic)
# The findings' coarse verdicts (`Finding.verdict`, the category meant for comparing across epochs).
SYMBOLS = {HOLDS: "✓", FAILS: "✗", MIXED: "~", INCONCLUSIVE: "?", NO_DATA: ""}


def ok_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") == "ok" and r.get("accuracy") is not None]


def has_checkpoints(records: list[dict[str, Any]]) -> bool:
    return any(r.get("checkpoints") for r in ok_records(records))


def has_anytime(records: list[dict[str, Any]]) -> bool:
    """Whether the Budget section has anything to show: checkpoints or accuracy curves."""
    return any(r.get("checkpoints") or (r.get("accuracy_curve") or {}).get("epochs")
               for r in ok_records(records))


def seed_points(record: dict[str, Any], curve: bool = True) -> dict[int, float]:
    """epoch → accuracy (0–1) of one seed: its checkpoints, and its accuracy curve when `curve`."""
    points = {int(c["epoch"]): float(c["accuracy"]) for c in record.get("checkpoints") or []}
    data = record.get("accuracy_curve") or {}
    if curve:
        points.update(zip(map(int, data.get("epochs") or []), map(float, data.get("accuracy") or []),
                          strict=False))
    return dict(sorted(points.items()))


def as_of(record: dict[str, Any], epoch: int) -> dict[str, Any] | None:
    """The record as if training had stopped at `epoch`, from its checkpoint there (None if it has none,
    or one whose predictions do not match its patterns)."""
    checkpoint = next((c for c in record.get("checkpoints") or [] if c["epoch"] == epoch), None)
    if checkpoint is None or record.get("status") != "ok":
        return None
    predicted, patterns = checkpoint.get("predicted") or "", record.get("patterns") or []
    if len(predicted) != len(patterns):
        return None
    return {**record, "accuracy": checkpoint["accuracy"], "epochs": epoch,
            "probes": checkpoint.get("probes") or {},
            "patterns": [{**p, "predicted": letter} for p, letter in zip(patterns, predicted, strict=True)],
            "checkpoints": [], "accuracy_curve": None}


def checkpoint_epochs(records: list[dict[str, Any]]) -> list[int]:
    return sorted({int(c["epoch"]) for r in ok_records(records) for c in r.get("checkpoints") or []})


def verdicts_by_epoch(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, dict[int, str]]:
    """Verdict per (finding, backend) × checkpoint epoch (NO_DATA where the records have no checkpoint
    there), and each finding's claim."""
    rows: dict[tuple[int, str], dict[int, str]] = {}
    claims: dict[int, str] = {}
    for epoch in checkpoint_epochs(records):
        then = [s for s in (as_of(r, epoch) for r in records) if s is not None]
        for found in evaluate_findings(then):
            claims[found.number] = found.claim
            rows.setdefault((found.number, found.backend), {})[epoch] = found.verdict
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
            parts.append(f"{verdict} at {_epochs(first)}" if first == last
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
    for r in ok_records(records):
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
            ci = "" if s.n < 2 else f" ({s.ci_low:.1f}–{s.ci_high:.1f})"
            row[_epochs(epoch)] = f"{s.mean:.1f}{ci}"
        tables.setdefault(tuple(sorted(by_epoch)), []).append(row)
    return [pd.DataFrame(rows) for rows in tables.values()]


def late_collapses(records: list[dict[str, Any]], label: Label = scenario_label) -> pd.DataFrame:
    """Seeds whose final accuracy is at least COLLAPSE_POINTS below their best evaluated accuracy."""
    rows = []
    for r in ok_records(records):
        points = seed_points(r)
        if not points:
            continue
        best_epoch = max(points, key=lambda e: (points[e], -e))  # the earliest epoch of the best value
        drop = 100.0 * (points[best_epoch] - r["accuracy"])
        if drop >= COLLAPSE_POINTS - 1e-9:
            rows.append({"backend": backend_label(r), "scenario": label(r), "seed": r["seed"],
                         "best %": 100.0 * points[best_epoch], "at epoch": best_epoch,
                         "final %": 100.0 * r["accuracy"], "final epoch": r.get("epochs"),
                         "drop (points)": drop})
    columns = ["backend", "scenario", "seed", "best %", "at epoch", "final %", "final epoch", "drop (points)"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["backend", "scenario", "seed"], key=lambda c: c.map(scenario_sort_key)
                             if c.name == "scenario" else c).reset_index(drop=True)


def _collapse_text(records: list[dict[str, Any]], label: Label) -> str:
    table = late_collapses(records, label)
    evaluated: dict[str, int] = {}
    for r in ok_records(records):
        if seed_points(r):
            evaluated[backend_label(r)] = evaluated.get(backend_label(r), 0) + 1
    counts = "; ".join(f"{b}: {(table['backend'] == b).sum()} of {n} seeds"
                       for b, n in sorted(evaluated.items()))
    text = (f"### Late collapses\n\nSeeds whose final accuracy is at least {COLLAPSE_POINTS:g} points below "
            f"the best accuracy they had at any checkpoint or curve point. {counts}.")
    return text + "\n\n" + (md(table, ".1f") if not table.empty else "_none_")


def _seed_matrix(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Seeds × epochs accuracy (%): checkpoints, plus the curve when every seed of the cell has one."""
    dense = all((r.get("accuracy_curve") or {}).get("epochs") for r in runs)
    frame = pd.DataFrame([seed_points(r, curve=dense) for r in runs])
    return 100.0 * frame.reindex(columns=sorted(frame.columns))


def draw(fig: Figure, view: ReportView) -> bool:
    """Accuracy against epochs per scenario: mean across seeds, bootstrap band, seeds faint."""
    good = [r for r in ok_records(view.reference) if seed_points(r)]
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
                     "percentile bootstrap).\n\n" + "\n\n".join(md(t) for t in tables))
    if has_checkpoints(records):
        table, claims = verdicts_by_epoch(records)
        legend = ", ".join(f"{s} {v}" for v, s in SYMBOLS.items() if s)
        parts.append(
            "### The tutorial's findings at every budget\n\nEach finding re-judged on the records as of a "
            "checkpoint epoch (accuracy, each pattern's predicted letter and the probes taken from the "
            "checkpoint; only seeds evaluated there), with the thresholds of the findings section. "
            f"{legend}; blank: no checkpoint of that finding's scenarios at that epoch; † the tutorial's "
            "epochs for some scenario.\n\n" + md(verdict_table(table, records)) + "\n\n"
            + "\n".join(f"- {s}" for s in change_sentences(table, claims)))
        silent = sorted(set(claims) - {n for n, _ in table.index})
        if silent:
            parts[-1] += ("\n\nNo checkpoint of their scenarios for finding" + "s" * (len(silent) > 1) + " "
                          + ", ".join(map(str, silent)) + ".")
    parts.append(_collapse_text(view.grid, view.label))
    return "\n\n".join(parts)


SECTION = Section("Budget: accuracy against training epochs", body, (PLOT,),
                  {"late_collapses": lambda view: late_collapses(view.grid, view.label)})

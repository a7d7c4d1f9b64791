"""The report's "Per-letter errors": which target letters each backend gets wrong, a table per
scenario of the most common wrong predictions, and the heatmap."""

from __future__ import annotations

from collections import Counter
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from harness.reporting.frames import identified, pattern_frame
from harness.reporting.labels import backend_label
from harness.reporting.markdown import md
from harness.reporting.plotting import WIDTH_IN, colours, ok_records, scenarios
from harness.reporting.section import Plot, Section
from harness.reporting.view import ReportView
from scenarios import ALPHABET

HEATMAP_CMAP = "viridis"
MISSING_GREY = "#d9d9d9"


def letter_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Per scenario × backend label × target letter (alphabetical) of a `pattern_frame`: the wrong
    predictions, the predictions, and the error rate (%) the report prints. Only letters that are
    targets there: a letter never asked has no row, not a rate of 0."""
    keys = ["scenario", "backend"]
    counts = frame.groupby([*keys, "target"], sort=False)["wrong"].agg(errors="sum", n="size").reset_index()
    counts = counts.rename(columns={"target": "letter"}).astype({"errors": int, "n": int})
    counts["error_rate"] = 100.0 * counts["errors"] / counts["n"]
    group = counts.groupby(keys, sort=False).ngroup()  # report order: scenarios as the registry lists
    return counts.assign(_group=group).sort_values(["_group", "letter"], kind="stable") \
        .drop(columns="_group").reset_index(drop=True)


def wide_table(counts: pd.DataFrame) -> pd.DataFrame:
    """The report's table from `letter_counts`: error rate per letter B–Z × "scenario backend" column,
    NaN where the letter is never a target."""
    wide = pd.DataFrame({"letter": list(ALPHABET[1:])})
    for (scenario, backend), group in counts.groupby(["scenario", "backend"], sort=False):
        wide[f"{scenario} {backend}"] = wide["letter"].map(group.set_index("letter")["error_rate"])
    return wide


def letters_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Error rate (%) per target letter (rows B–Z) × "scenario backend" column, from `pattern_frame`."""
    return wide_table(letter_counts(frame))


def table(view: ReportView) -> pd.DataFrame:
    """The API's table: long, one row per scenario × backend × target letter (docs/api.md)."""
    patterns = pattern_frame(view.reference)
    return pd.DataFrame() if patterns.empty else identified(letter_counts(patterns), view.reference)


def _top_mistake(counts: Counter) -> str:
    letter, n = counts.most_common(1)[0]
    return f"{letter} ({n}×)"


def mistakes(records: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Per scenario: target letters any backend gets wrong, error rate per backend, top mistake."""
    frame = pattern_frame(records)
    out: dict[str, pd.DataFrame] = {}
    for scenario, group in frame.groupby("scenario", sort=False):
        rates = group.pivot_table(index="target", columns="backend", values="error_pct", aggfunc="mean")
        wrong = group[group["wrong"]]
        if wrong.empty:
            continue
        rates = rates.loc[sorted(set(wrong["target"]))]
        top = wrong.groupby("target")["predicted"].agg(lambda s: _top_mistake(Counter(s)))
        found = rates.rename(columns=lambda b: f"{b} error %")
        found["most common wrong prediction"] = top
        out[str(scenario)] = found.reset_index().rename(columns={"target": "target letter"})
    return out


def by_length(frame: pd.DataFrame, records: list[dict[str, Any]]) -> pd.DataFrame:
    """variable_length: error rate (%) per input length × backend, with the patterns of each length."""
    variable = frame[frame["scenario"] == "variable_length"]
    if variable.empty:
        return pd.DataFrame()
    variable = variable.assign(length=variable["input"].str.len())
    rates = variable.pivot_table(index="length", columns="backend", values="error_pct", aggfunc="mean")
    one_run = next(r for r in records if r["status"] == "ok" and r["scenario"] == "variable_length")
    lengths = pd.Series([len(p["input"]) for p in one_run["patterns"]]).value_counts()
    rates.insert(0, "patterns", lengths.reindex(rates.index).fillna(0).astype(int))
    return rates.reset_index()


def letter_error_matrix(records: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Per backend: error rate % per target letter (rows) × scenario (columns), all seeds pooled.

    A letter that is never a target in a scenario is NaN, so it reads as "not asked", not "never wrong".
    Every backend gets the same rows and columns so panels line up.
    """
    frame = pattern_frame(records)
    if frame.empty:
        return {}
    letters = sorted(set(ALPHABET[1:]) | set(frame["target"]))
    columns = scenarios(ok_records(records))
    return {
        str(backend): group.pivot_table(index="target", columns="scenario", values="error_pct",
                                        aggfunc="mean")
        .reindex(index=letters, columns=columns)
        for backend, group in frame.groupby("backend")
    }


def draw(fig: Figure, view: ReportView) -> bool:
    """A heatmap per backend: error rate per target letter × scenario."""
    records = view.reference
    matrices = letter_error_matrix(records)
    if not matrices:
        return False
    fig.set_size_inches(WIDTH_IN, 8.0)
    backends = [b for b in colours(ok_records(records)) if b in matrices]
    axes = fig.subplots(1, len(backends), sharey=True, squeeze=False)[0]
    cmap = mpl.colormaps[HEATMAP_CMAP].with_extremes(bad=MISSING_GREY)
    n_cells = sum(matrices[b].shape[1] for b in backends)
    image = None
    for ax, backend in zip(axes, backends, strict=True):
        matrix = matrices[backend]
        values = matrix.to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=100, aspect="auto",
                          interpolation="nearest")
        ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=35, ha="right")
        ax.set_yticks(range(matrix.shape[0]), matrix.index)
        n_seeds = len({r["seed"] for r in ok_records(records) if backend_label(r) == backend})
        # one option per line: long ablation labels would run into the next panel's title
        title = backend.replace("[", "\n[").replace(",", ",\n")
        ax.set_title(f"{title}\n({n_seeds} seed{'s' * (n_seeds != 1)})", fontsize="small")
        ax.set_xlabel("scenario")
        ax.set_xticks(np.arange(matrix.shape[1] + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(matrix.shape[0] + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
        if n_cells <= 16:  # annotate only where the text fits the cell
            for (i, j), v in np.ndenumerate(values):
                if not np.isnan(v) and v > 0:
                    ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=9,
                            color="black" if v > 60 else "white")
    axes[0].set_ylabel("target letter (to be predicted)")
    fig.colorbar(image, ax=list(axes), label="error rate (% of predictions, all seeds)", shrink=0.8)
    fig.suptitle("Which target letters each backend gets wrong (grey: not a target there, or not run)")
    return True


PLOT = Plot("letter_errors", "per-letter error heatmap", draw)


def body(view: ReportView) -> str:
    records = view.reference
    frame = pattern_frame(records)
    if frame.empty:
        return "_no data_"
    parts = [
        "Error rate (%) per target letter across seeds; blank where the letter is never a target."
        + PLOT.link(view, " "),
        md(letters_table(frame), ".0f").replace("—", " "),
    ]
    found = mistakes(records)
    if found:
        parts.append("### Most common wrong predictions")
        for scenario, table_ in found.items():
            parts.append(f"**{scenario}**\n\n" + md(table_, ".0f"))
    lengths = by_length(frame, records)
    if not lengths.empty:
        parts.append("### variable_length: error rate (%) by input length\n\n" + md(lengths, ".1f"))
    return "\n\n".join(parts)


SECTION = Section("Per-letter errors", body, (PLOT,), {"letters": table})

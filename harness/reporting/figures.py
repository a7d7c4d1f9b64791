"""Records → PNG figures for the report. Reads stored records only; never trains or imports a framework.

Figures use `matplotlib.figure.Figure` directly (no pyplot), so repeated calls share no global
state, and each figure is skipped, not raised, when its data is missing: a report must still render.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from harness.reporting.aggregate import backend_label, pattern_frame, scenario_label, scenario_sort_key
from scenarios import ALPHABET

log = logging.getLogger(__name__)

WIDTH_IN = 10.0
DPI = 110
FONT_PT = 10
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
KNOWN_COLOURS = {"keras": "#0072B2", "torch": "#E69F00"}
EXTRA_COLOURS = ("#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
HEATMAP_CMAP = "viridis"
MISSING_GREY = "#d9d9d9"


def _ok(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") == "ok"]


def _scenarios(records: list[dict[str, Any]]) -> list[str]:
    """Registry order, option variants right after their base scenario (as the tables sort)."""
    return sorted({scenario_label(r) for r in records}, key=scenario_sort_key)


def _colours(records: list[dict[str, Any]]) -> dict[str, str]:
    """Backend → colour, keras then torch then the rest alphabetically: stable order across figures.
    Keras blue and PyTorch orange go to each framework's plain row (`keras`, `keras[fast]`), a
    variant (`torch[fast,init=keras]`) takes a spare colour."""
    rank = {"keras": 0, "torch": 1}
    backends = sorted({backend_label(r) for r in records}, key=lambda b: (rank.get(b, 2), "=" in b, b))
    spare = iter(EXTRA_COLOURS * (1 + len(backends) // len(EXTRA_COLOURS)))
    colours: dict[str, str] = {}
    for b in backends:
        base = b.split("[")[0]
        plain = base in KNOWN_COLOURS and "=" not in b and KNOWN_COLOURS[base] not in colours.values()
        colours[b] = KNOWN_COLOURS[base] if plain else next(spare)
    return colours


def _cell(records: list[dict[str, Any]], scenario: str, backend: str, field: str) -> list[Any]:
    return [r[field] for r in records if scenario_label(r) == scenario and backend_label(r) == backend]


def letter_error_matrix(records: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Per backend: error rate % per target letter (rows) × scenario (columns), all seeds pooled.

    A letter that is never a target in a scenario is NaN, so it reads as "not asked", not "never wrong".
    Every backend gets the same rows and columns so panels line up.
    """
    frame = pattern_frame(records)
    if frame.empty:
        return {}
    letters = sorted(set(ALPHABET[1:]) | set(frame["target"]))
    columns = _scenarios(_ok(records))
    return {
        str(backend): group.pivot_table(index="target", columns="scenario", values="error_pct",
                                        aggfunc="mean")
        .reindex(index=letters, columns=columns)
        for backend, group in frame.groupby("backend")
    }


def _plot_letter_errors(fig: Figure, records: list[dict[str, Any]]) -> bool:
    matrices = letter_error_matrix(records)
    if not matrices:
        return False
    fig.set_size_inches(WIDTH_IN, 8.0)
    backends = [b for b in _colours(_ok(records)) if b in matrices]
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
        n_seeds = len({r["seed"] for r in _ok(records) if backend_label(r) == backend})
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


def _plot_accuracy(fig: Figure, records: list[dict[str, Any]]) -> bool:
    good = [r for r in _ok(records) if r.get("accuracy") is not None]
    if not good:
        return False
    scenarios, colours = _scenarios(good), _colours(good)
    backends = list(colours)
    fig.set_size_inches(WIDTH_IN, 5.5)
    ax = fig.subplots()
    rng = np.random.default_rng(0)  # fixed: the same records always give the same picture
    width, grey = 0.8 / len(backends), {"color": "#444444"}
    all_values: list[float] = []
    for j, backend in enumerate(backends):
        for i, scenario in enumerate(scenarios):
            values = [100.0 * a for a in _cell(good, scenario, backend, "accuracy")]
            if not values:
                continue
            x = i - 0.4 + width * (j + 0.5)
            all_values += values
            ax.boxplot(values, positions=[x], widths=width * 0.7, showfliers=False, manage_ticks=False,
                       medianprops={"color": colours[backend], "linewidth": 2},
                       boxprops=grey, whiskerprops=grey, capprops=grey)
            jitter = rng.uniform(-width * 0.3, width * 0.3, len(values))
            ax.scatter(x + jitter, values, s=36, color=colours[backend], alpha=0.85, edgecolor="white",
                       linewidth=0.6, zorder=4)
    tutorial_label = "tutorial (1 run)"
    for i, scenario in enumerate(scenarios):
        spec = next((r.get("spec") or {}) for r in good if scenario_label(r) == scenario)
        if spec.get("tutorial_accuracy") is not None:
            all_values.append(spec["tutorial_accuracy"])
            ax.hlines(spec["tutorial_accuracy"], i - 0.45, i + 0.45, color="black", linewidth=2, zorder=3,
                      label=tutorial_label)
            tutorial_label = None
    low = max(0.0, 10.0 * math.floor((min(all_values) - 3.0) / 10.0))
    ax.set_ylim(low, 102)
    ax.set_xticks(range(len(scenarios)), scenarios, rotation=20, ha="right")
    ax.set_xlim(-0.6, len(scenarios) - 0.4)
    ax.set(xlabel="scenario", ylabel="accuracy on training patterns (%)",
           title="Accuracy per seed (dots), spread per backend (boxes), tutorial's single run (black line)")
    ax.grid(axis="y", alpha=0.3)
    handles = [Patch(color=c, label=b) for b, c in colours.items()] + ax.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return True


def _plot_learning_curves(fig: Figure, records: list[dict[str, Any]]) -> bool:
    good = [r for r in _ok(records) if r.get("epoch_loss")]
    if not good:
        return False
    scenarios, colours = _scenarios(good), _colours(good)
    backends = list(colours)
    ncols = min(3, len(scenarios))
    nrows = math.ceil(len(scenarios) / ncols)
    fig.set_size_inches(WIDTH_IN, 3.4 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, scenario in zip(axes, scenarios, strict=False):
        for backend in backends:
            curves = _cell(good, scenario, backend, "epoch_loss")
            if not curves:
                continue
            # Seeds × epochs, NaN-padded (one label may mix epoch counts); log axes cannot show 0.
            loss = np.clip(pd.DataFrame([pd.Series(c, dtype=float) for c in curves]).to_numpy(), 1e-8, None)
            epochs = np.arange(1, loss.shape[1] + 1)
            ax.plot(epochs, np.nanmean(loss, axis=0), color=colours[backend], linewidth=1.5,
                    label=f"{backend} (mean of {len(curves)})")
            ax.fill_between(epochs, np.nanmin(loss, axis=0), np.nanmax(loss, axis=0),
                            color=colours[backend], alpha=0.25, linewidth=0)
        ax.set_yscale("log")
        ax.set(title=scenario, xlabel="epoch")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=9)
    for ax in axes[::ncols]:
        ax.set_ylabel("training loss (cross-entropy, log)")
    for ax in axes[len(scenarios):]:
        ax.set_visible(False)
    fig.suptitle("Training loss per epoch: mean across seeds, band = min–max")
    return True


def _plot_speed(fig: Figure, records: list[dict[str, Any]]) -> bool:
    good = [r for r in _ok(records) if r.get("us_per_update")]
    if not good:
        return False
    scenarios, colours = _scenarios(good), _colours(good)
    backends = list(colours)
    fig.set_size_inches(WIDTH_IN, max(3.5, 1.5 + 0.35 * len(scenarios) * len(backends)))
    ax = fig.subplots()
    height = 0.8 / len(backends)
    top, bottom = 0.0, math.inf
    for j, backend in enumerate(backends):
        for i, scenario in enumerate(scenarios):
            values = _cell(good, scenario, backend, "us_per_update")
            if not values:
                continue
            median = float(np.median(values))
            top, bottom = max(top, median), min(bottom, median)
            y = i - 0.4 + height * (j + 0.5)
            ax.barh(y, median, height=height * 0.9, color=colours[backend])
            ax.text(median * 1.08, y, f"{median:,.0f} µs", va="center", fontsize=9)
    ax.set_xscale("log")
    # Bars on a log axis start at an arbitrary left edge; a whole decade keeps their lengths honest.
    ax.set_xlim(10.0 ** math.floor(math.log10(bottom)), top * 6)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_yticks(range(len(scenarios)), scenarios)
    ax.invert_yaxis()  # registry order top to bottom, like the report's tables
    ax.set(xlabel="time per weight update (µs, median across seeds, log scale)", ylabel="scenario",
           title="Training speed: lower is faster")
    ax.grid(axis="x", alpha=0.3, which="both")
    handles = [Patch(color=c, label=b) for b, c in colours.items()]  # one entry per backend, not per bar
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return True


# Each plotter sizes and fills a blank figure, or returns False when its data is missing.
PLOTTERS: tuple[tuple[str, Callable[[Figure, list[dict[str, Any]]], bool]], ...] = (
    ("letter_errors", _plot_letter_errors),
    ("accuracy", _plot_accuracy),
    ("learning_curves", _plot_learning_curves),
    ("speed", _plot_speed),
)


Plotters = tuple[tuple[str, Callable[[Figure, list[dict[str, Any]]], bool]], ...]


def write_figures(records: list[dict[str, Any]], out_dir: Path,
                  plotters: Plotters = PLOTTERS) -> dict[str, Path]:
    """Write each figure its data allows as out_dir/KEY.png; returns {key: path} for those written."""
    written: dict[str, Path] = {}
    for key, plot in plotters:
        fig = Figure(figsize=(WIDTH_IN, 6.0), dpi=DPI, layout="constrained")
        try:
            with mpl.rc_context({"font.size": FONT_PT}):
                if not plot(fig, records):
                    continue
                out_dir.mkdir(parents=True, exist_ok=True)
                path = out_dir / f"{key}.png"
                fig.savefig(path, dpi=DPI)
            written[key] = path
        except Exception:  # a broken figure must not cost the user the report
            log.warning("figure %s skipped", key, exc_info=True)
        finally:
            fig.clear()
    return written


def write_scaling_figure(frame: pd.DataFrame, path: Path) -> bool:
    """`speed --seeds 1 10 100`: µs per seed-update against seeds trained together, log–log, one
    panel per scenario; `fast` as lines, idiomatic (one seed at a time) as a dashed reference."""
    data = frame.dropna(subset=["µs after epoch 1"])
    if data.empty or data["seeds"].nunique() < 2:
        return False
    scenarios = sorted(set(data["scenario"]), key=scenario_sort_key)
    colours = _colours([{"backend": b, "scenario": s} for s, b in zip(data["scenario"], data["backend"],
                                                                          strict=True)])
    columns = min(3, len(scenarios))
    rows = math.ceil(len(scenarios) / columns)
    fig = Figure(figsize=(WIDTH_IN, 3.2 * rows), dpi=DPI, layout="constrained")
    with mpl.rc_context({"font.size": FONT_PT}):
        axes = fig.subplots(rows, columns, squeeze=False, sharex=True)
        counts = sorted(set(data["seeds"]))
        for ax, scenario in zip(axes.flat, scenarios, strict=False):
            mine = data[data["scenario"] == scenario]
            for (backend, execution), group in mine.groupby(["backend", "execution"], sort=True):
                group = group.sort_values("seeds")
                if execution == "fast":
                    ax.plot(group["seeds"], group["µs after epoch 1"], "o-", color=colours[backend],
                            label=f"{backend} fast")
                else:
                    ax.hlines(group["µs after epoch 1"].iloc[0], counts[0], counts[-1],
                              colors=colours[backend], linestyles="dashed", label=f"{backend} idiomatic")
            ax.set(xscale="log", yscale="log", title=scenario)
            ax.set_xticks(counts, [f"{n:,}" for n in counts])
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:.2g}"))
            ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
            ax.grid(alpha=0.3, which="both")
        for ax in axes.flat[len(scenarios):]:
            ax.set_visible(False)
        fig.supxlabel("seeds trained together")
        fig.supylabel("µs per seed-update after epoch 1")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=max(1, len(labels)))
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    return True

"""What every figure shares: size, colours per backend, scenario order, panel grids, log-epoch axes,
and writing a section's figures as PNGs.

Figures use `matplotlib.figure.Figure` directly (no pyplot), so repeated calls share no global
state, and each figure is skipped, not raised, when its data is missing: a report must still render.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator

from harness.reporting.labels import (
    backend_label,
    framework_of,
    pair_order,
    scenario_label,
    scenario_sort_key,
)
from harness.reporting.section import Plot
from harness.reporting.view import ReportView

log = logging.getLogger(__name__)

WIDTH_IN = 10.0
DPI = 110
FONT_PT = 10
# Okabe–Ito: distinguishable with the common colour-vision deficiencies. Each framework compared has
# its own (Keras blue, PyTorch orange, JAX bluish green); variants take the spare ones.
KNOWN_COLOURS = {"keras": "#0072B2", "torch": "#E69F00", "jax": "#009E73"}
EXTRA_COLOURS = ("#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
PLAIN = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")  # 1,000 rather than 10³


def ok_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") == "ok"]


def scenarios(records: list[dict[str, Any]]) -> list[str]:
    """Registry order, option variants right after their base scenario (as the tables sort)."""
    return sorted({scenario_label(r) for r in records}, key=scenario_sort_key)


def colours(records: list[dict[str, Any]]) -> dict[str, str]:
    """Backend → colour, keras then torch then jax then the rest alphabetically (a newer framework's
    rows after the others): stable order across figures. Each framework's colour goes to its plain row
    (`keras`, `keras[fast]`), a variant (`torch[fast,init=keras]`) takes a spare colour, never one a
    framework in the figure holds (the spares start with JAX's green, which only a figure with a plain
    JAX row reserves: a two-framework figure keeps its colours)."""
    rank = {"keras": 0, "torch": 1, "jax": 2}
    backends = sorted({backend_label(r) for r in records},
                      key=lambda b: (rank.get(b, 3), pair_order(b)[0], "=" in b, b))
    plain_rows = [b for b in backends if framework_of(b) in KNOWN_COLOURS and "=" not in b]
    spares = [c for c in EXTRA_COLOURS if c not in {KNOWN_COLOURS[framework_of(b)] for b in plain_rows}]
    spare = iter(spares * (1 + len(backends) // len(spares)))
    out: dict[str, str] = {}
    for b in backends:
        own = KNOWN_COLOURS.get(framework_of(b))
        out[b] = own if b in plain_rows and own not in out.values() else next(spare)
    return out


def cell(records: list[dict[str, Any]], scenario: str, backend: str, field: str) -> list[Any]:
    """One field of the records of a scenario × backend cell."""
    return [r[field] for r in records if scenario_label(r) == scenario and backend_label(r) == backend]


def panels(fig: Figure, n: int) -> list[Axes]:
    """n panels, three to a row, the unused ones hidden."""
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig.set_size_inches(WIDTH_IN, 3.3 * nrows + 0.8)
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def log_epochs(ax: Axes) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(PLAIN)
    # Minor ticks at 2 and 5 × 10^k, labelled plainly: short ranges (24–120 epochs) keep readable
    # labels, where matplotlib's own would print overlapping 2×10² marks.
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    ax.xaxis.set_minor_formatter(PLAIN)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("epoch (log scale)")
    ax.grid(alpha=0.3, which="both")


def legend(fig: Figure, colour_of: dict[str, str], extra: list[Line2D]) -> None:
    """One line per backend in its colour, then `extra`, below the panels."""
    handles = [Line2D([], [], color=c, linewidth=2, label=b) for b, c in colour_of.items()] + extra
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize="small")


def write_plots(view: ReportView, out_dir: Path, plots: Iterable[Plot]) -> dict[str, Path]:
    """Write each figure its data allows as out_dir/KEY.png; returns {key: path} for those written."""
    written: dict[str, Path] = {}
    for plot in plots:
        fig = Figure(figsize=(WIDTH_IN, 6.0), dpi=DPI, layout="constrained")
        try:
            with mpl.rc_context({"font.size": FONT_PT}):
                if not plot.draw(fig, view):
                    continue
                out_dir.mkdir(parents=True, exist_ok=True)
                path = out_dir / plot.file
                fig.savefig(path, dpi=DPI)
            written[plot.key] = path
        except Exception:  # a broken figure must not cost the user the report
            log.warning("figure %s skipped", plot.key, exc_info=True)
        finally:
            fig.clear()
    return written

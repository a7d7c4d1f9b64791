"""The report's "Learning curves": training loss per epoch, mean across seeds with a min–max band.

One legend below the panels (per-panel legends covered the curves of the busier scenarios), and a
few compact epoch ticks (runs of 40,000 epochs printed colliding labels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from harness.reporting.plotting import cell, colours, legend, ok_records, panels, scenarios
from harness.reporting.section import Plot, Section
from harness.reporting.view import ReportView

EPOCHS = FuncFormatter(lambda v, _: f"{v / 1000:g}k" if abs(v) >= 1000 else f"{v:g}")  # 40k, not 40000


def seed_counts(good: list[dict[str, Any]], backends: list[str], labels: list[str]) -> dict[str, str]:
    """Backend → the seeds its means average ("20", or "10–20" where panels differ)."""
    out = {}
    for backend in backends:
        counts = [n for n in (len(cell(good, s, backend, "epoch_loss")) for s in labels) if n]
        out[backend] = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}–{max(counts)}"
    return out


def draw(fig: Figure, view: ReportView) -> bool:
    good = [r for r in ok_records(view.reference) if r.get("epoch_loss")]
    if not good:
        return False
    labels, colour_of = scenarios(good), colours(good)
    axes = panels(fig, len(labels))
    for ax, scenario in zip(axes, labels, strict=True):
        for backend in colour_of:
            curves = cell(good, scenario, backend, "epoch_loss")
            if not curves:
                continue
            # Seeds × epochs, NaN-padded (one label may mix epoch counts); log axes cannot show 0.
            loss = np.clip(pd.DataFrame([pd.Series(c, dtype=float) for c in curves]).to_numpy(), 1e-8, None)
            epochs = np.arange(1, loss.shape[1] + 1)
            ax.plot(epochs, np.nanmean(loss, axis=0), color=colour_of[backend], linewidth=1.5)
            ax.fill_between(epochs, np.nanmin(loss, axis=0), np.nanmax(loss, axis=0),
                            color=colour_of[backend], alpha=0.25, linewidth=0)
        ax.set_yscale("log")
        ax.set(title=scenario, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.xaxis.set_major_formatter(EPOCHS)
        ax.grid(alpha=0.3, which="both")
    for ax in axes[::3]:
        ax.set_ylabel("training loss (cross-entropy, log)")
    seeds = seed_counts(good, list(colour_of), labels)
    same = len(set(seeds.values())) == 1  # then the title says it once, the legend stays short
    named = {b if same else f"{b} (n={seeds[b]})": c for b, c in colour_of.items()}
    legend(fig, named, [Patch(color="grey", alpha=0.25, linewidth=0, label="band: min–max")])
    of = f"{next(iter(seeds.values()))} seeds" if same else "seeds (n)"
    fig.suptitle(f"Training loss per epoch: mean across {of}, band = min–max")
    return True


PLOT = Plot("learning_curves", "mean training loss per epoch", draw)

SECTION = Section("Learning curves", PLOT.link, (PLOT,))

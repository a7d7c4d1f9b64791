"""The report's "Learning curves": training loss per epoch, mean across seeds with a min–max band."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from harness.reporting.plotting import WIDTH_IN, cell, colours, ok_records, scenarios
from harness.reporting.section import Plot, Section
from harness.reporting.view import ReportView


def draw(fig: Figure, view: ReportView) -> bool:
    good = [r for r in ok_records(view.reference) if r.get("epoch_loss")]
    if not good:
        return False
    labels, colour_of = scenarios(good), colours(good)
    ncols = min(3, len(labels))
    nrows = math.ceil(len(labels) / ncols)
    fig.set_size_inches(WIDTH_IN, 3.4 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, scenario in zip(axes, labels, strict=False):
        for backend in colour_of:
            curves = cell(good, scenario, backend, "epoch_loss")
            if not curves:
                continue
            # Seeds × epochs, NaN-padded (one label may mix epoch counts); log axes cannot show 0.
            loss = np.clip(pd.DataFrame([pd.Series(c, dtype=float) for c in curves]).to_numpy(), 1e-8, None)
            epochs = np.arange(1, loss.shape[1] + 1)
            ax.plot(epochs, np.nanmean(loss, axis=0), color=colour_of[backend], linewidth=1.5,
                    label=f"{backend} (mean of {len(curves)})")
            ax.fill_between(epochs, np.nanmin(loss, axis=0), np.nanmax(loss, axis=0),
                            color=colour_of[backend], alpha=0.25, linewidth=0)
        ax.set_yscale("log")
        ax.set(title=scenario, xlabel="epoch")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=9)
    for ax in axes[::ncols]:
        ax.set_ylabel("training loss (cross-entropy, log)")
    for ax in axes[len(labels):]:
        ax.set_visible(False)
    fig.suptitle("Training loss per epoch: mean across seeds, band = min–max")
    return True


PLOT = Plot("learning_curves", "mean training loss per epoch", draw)

SECTION = Section("Learning curves", PLOT.link, (PLOT,))

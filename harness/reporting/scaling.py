"""`python -m harness speed --seeds 1 10 100`: the scaling figure (µs per seed-update as seeds grow)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from harness.reporting.labels import scenario_sort_key
from harness.reporting.plotting import DPI, FONT_PT, WIDTH_IN, colours


def write_scaling_figure(frame: pd.DataFrame, path: Path) -> bool:
    """`speed --seeds 1 10 100`: µs per seed-update against seeds trained together, log–log, one
    panel per scenario; `fast` as lines, idiomatic (one seed at a time) as a dashed reference."""
    data = frame.dropna(subset=["µs after epoch 1"])
    if data.empty or data["seeds"].nunique() < 2:
        return False
    labels = sorted(set(data["scenario"]), key=scenario_sort_key)
    colour_of = colours([{"backend": b, "scenario": s} for s, b in zip(data["scenario"], data["backend"],
                                                                          strict=True)])
    columns = min(3, len(labels))
    rows = math.ceil(len(labels) / columns)
    fig = Figure(figsize=(WIDTH_IN, 3.2 * rows), dpi=DPI, layout="constrained")
    with mpl.rc_context({"font.size": FONT_PT}):
        axes = fig.subplots(rows, columns, squeeze=False, sharex=True)
        counts = sorted(set(data["seeds"]))
        for ax, scenario in zip(axes.flat, labels, strict=False):
            mine = data[data["scenario"] == scenario]
            for (backend, execution), group in mine.groupby(["backend", "execution"], sort=True):
                group = group.sort_values("seeds")
                if execution == "fast":
                    ax.plot(group["seeds"], group["µs after epoch 1"], "o-", color=colour_of[backend],
                            label=f"{backend} fast")
                else:
                    ax.hlines(group["µs after epoch 1"].iloc[0], counts[0], counts[-1],
                              colors=colour_of[backend], linestyles="dashed", label=f"{backend} idiomatic")
            ax.set(xscale="log", yscale="log", title=scenario)
            ax.set_xticks(counts, [f"{n:,}" for n in counts])
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:.2g}"))
            ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
            ax.grid(alpha=0.3, which="both")
        for ax in axes.flat[len(labels):]:
            ax.set_visible(False)
        fig.supxlabel("seeds trained together")
        fig.supylabel("µs per seed-update after epoch 1")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=max(1, len(labels)))
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    return True

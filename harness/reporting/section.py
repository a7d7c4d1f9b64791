"""The small interface every report section implements: a title, its body, its figures, its tables.

A section module in `reporting/sections/` exposes one `SECTION`; `report.py` writes each section's
figures, then renders the sections in order over one `ReportView`. A figure's markdown link is made
from the figure's own key, and only for a figure that was written, so the report's images and the
files beside it cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure

from harness.reporting.view import ReportView

Draw = Callable[[Figure, ReportView], bool]  # fills a blank figure, or False when its data is missing
Table = Callable[[ReportView], pd.DataFrame]


@dataclass(frozen=True)
class Plot:
    """One PNG of a section: written as KEY.png, linked as ![alt](KEY.png)."""

    key: str
    alt: str
    draw: Draw

    @property
    def file(self) -> str:
        return f"{self.key}.png"

    @property
    def image(self) -> str:
        return f"![{self.alt}]({self.file})"

    def link(self, view: ReportView, before: str = "") -> str:
        """`before` + the markdown image, or "" where the view knows this figure was not drawn (its
        data is missing): a report never links a file that is not there."""
        shown = view.drawn is None or self.key in view.drawn
        return before + self.image if shown else ""


@dataclass(frozen=True)
class Section:
    """A heading of the report. `body` returns the markdown under the heading, or "" when the
    section has nothing to show (then the heading is left out too)."""

    title: str
    body: Callable[[ReportView], str]
    plots: tuple[Plot, ...] = ()
    tables: Mapping[str, Table] = field(default_factory=dict)  # the section's tables, by name
    heading: Callable[[ReportView], str] | None = None  # a title that depends on the records, if any

    def render(self, view: ReportView) -> str:
        text = self.body(view)
        title = self.heading(view) if self.heading else self.title
        return f"## {title}\n\n{text}" if text else ""

    def plot(self, key: str) -> Plot:
        return next(p for p in self.plots if p.key == key)

"""What every section of a report reads, built once: the records, the sweep view, labels, the frame.

A folder holding a sweep shows every grid point in Sweeps (and in Late collapses and Failures) and
one grid point per swept scenario everywhere else (`grid.reference_view`): otherwise every table
would repeat per grid point. `ReportView` makes that choice once, for `report`, `results` and
`compare` alike, so no two outputs can disagree on which records a table shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from harness.reporting import grid
from harness.reporting.frames import to_frame
from harness.reporting.labels import Label
from harness.store import LoadedRecords, latest_per_key, latest_timings, load_folder

Record = dict[str, Any]


@dataclass(frozen=True)
class ReportView:
    """A folder's seed records (the newest per key) and timing samples, and what sections derive."""

    records: list[Record]  # every seed record, the newest per key: all grid points
    timings: list[Record] = field(default_factory=list)  # idiomatic timing samples, newest per key
    warnings: list[str] = field(default_factory=list)  # torn or foreign lines the loader skipped
    benchmark_json: Path | None = None  # a pytest-benchmark JSON to tabulate, if given
    drawn: frozenset[str] | None = None  # the figures written beside the report; None: not known yet

    @classmethod
    def of(cls, loaded: LoadedRecords, benchmark_json: Path | None = None) -> ReportView:
        return cls(latest_per_key(loaded.records), latest_timings(loaded.timings), list(loaded.warnings),
                   benchmark_json)

    @classmethod
    def load(cls, folder: Path, benchmark_json: Path | None = None) -> ReportView:
        """The view of a run folder (an empty one for a folder with no records yet)."""
        return cls.of(load_folder(folder), benchmark_json)

    def with_drawn(self, keys: Iterable[str]) -> ReportView:
        """This view, knowing which figures were written (so the report links only those); what was
        already derived is kept, not computed again."""
        view = replace(self, drawn=frozenset(keys))
        view.__dict__.update({k: v for k, v in self.__dict__.items() if k not in view.__dict__})
        return view

    @cached_property
    def sweeps(self) -> dict[str, grid.Sweep]:
        return grid.find_sweeps(self.records)

    @cached_property
    def grid(self) -> list[Record]:
        """Every grid point's records, one per seed (Sweeps, Late collapses)."""
        return grid.grid_records(self.records, self.sweeps)

    @cached_property
    def reference(self) -> list[Record]:
        """What the sections show: per swept scenario its reference grid point, the rest as they are."""
        return grid.reference_view(self.records, self.sweeps)

    @cached_property
    def reference_timings(self) -> list[Record]:
        return grid.reference_timings(self.timings, self.sweeps)

    @cached_property
    def label(self) -> Label:
        """The scenario label that names a record's grid point (plain where there is no sweep)."""
        return grid.grid_label(self.sweeps)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """One row per seed record of `reference` (`frames.to_frame`)."""
        return to_frame(self.reference)

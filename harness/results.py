"""What `harness.run`, `harness.sweep` and `harness.load` return: a run folder as pandas tables.

`.frame` holds one row per seed record; `.accuracy()`, `.timing()`, `.letters()`, `.findings()`,
`.time_to_learn()` and `.sweeps()` are the tables the report prints, computed by the report's own
sections over the same `ReportView` (the newest record per key, the same sweep view), so a notebook
and `report.md` cannot disagree. `.accuracy()`, `.timing()` and `.letters()` are tidy (one row per
observation, numbers in numeric columns, snake_case names; docs/api.md): the report formats those
same numbers for reading.
In Jupyter the object shows the report's summary inline, figures included.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from backends import EXECUTIONS
from harness.records import steady_us_per_update
from harness.reporting import labels
from harness.reporting.markdown import md
from harness.reporting.report import REPORT_FILE
from harness.reporting.sections import accuracy, findings, letters, sweeps, time_to_learn, training_time
from harness.reporting.view import ReportView
from harness.store import LoadedRecords, load_folder
from scenarios import (
    NATIVE_ADAM_EPS,
    ResolvedScenario,
    ScenarioOptions,
    ScenarioSpec,
    UnknownScenarioError,
    get_scenario,
)

OPTION_COLUMNS = tuple(k for k in ScenarioOptions().__dataclass_fields__ if k != "epochs")
SPEC_FIELDS = frozenset(ScenarioSpec.__dataclass_fields__)
SUMMARY_FIGURES = {"accuracy": "accuracy per scenario", "letter_errors": "per-letter error heatmap"}


class Results:
    """A run folder's seed records (the newest per key, as the report keeps them) as tables."""

    def __init__(self, out: Path, loaded: LoadedRecords, outcome: Any = None) -> None:
        self.out = Path(out)
        self.view = ReportView.of(loaded)
        self.records: list[dict[str, Any]] = self.view.records  # the newest per key
        self.timings: list[dict[str, Any]] = self.view.timings
        self.warnings: list[str] = self.view.warnings  # torn or foreign lines, skipped as `report` does
        self.outcome = outcome  # the driver's RunOutcome when this call ran something, else None

    @classmethod
    def from_folder(cls, folder: Path, outcome: Any = None) -> Results:
        return cls(folder, load_folder(folder), outcome)

    def __repr__(self) -> str:
        failed = sum(r["status"] != "ok" for r in self.records)
        return f"Results({str(self.out)!r}: {len(self.records)} seed records, {failed} not ok)"

    @property
    def report_path(self) -> Path | None:
        """The folder's report.md (written by every run and by `python -m harness report`)."""
        path = self.out / REPORT_FILE
        return path if path.is_file() else None

    @property
    def figures(self) -> dict[str, Path]:
        """The report's figures in the folder, by name (e.g. `accuracy`, `letter_errors`)."""
        return {p.stem: p for p in sorted(self.out.glob("*.png"))}

    @cached_property
    def frame(self) -> pd.DataFrame:
        """One row per seed record, failed ones with their status and error; options as columns, each
        the value the seed trained with (a default resolved, so `frame.units == 32` finds them);
        per-epoch loss and accuracy, predictions, patterns, probes and checkpoints as cells.
        `accuracy` is in % (as in the report); timing-only records are not rows (docs/api.md)."""
        rows = [_row(r) for r in self.records]
        frame = pd.DataFrame(rows, columns=list(_row_columns()))
        if frame.empty:
            return frame
        order = labels.scenario_order(frame["label"]).map(lambda k: k[0])
        frame = frame.assign(_order=order).sort_values(["_order", "label", "backend_label", "seed"])
        return frame.drop(columns="_order").reset_index(drop=True)

    def accuracy(self) -> pd.DataFrame:
        """The report's Accuracy table as numbers, one row per scenario × backend (docs/api.md): mean,
        spread, bootstrap CI, failed seeds, and where the tutorial's and the seed notebook's figures
        fall among the seeds. `report.md` and the inline summary print these numbers formatted."""
        return accuracy.table(self.view)

    def timing(self, execution: str | None = None) -> pd.DataFrame:
        """Steady-state µs per update, one row per scenario × backend × `execution` (docs/api.md):
        'idiomatic' as the frameworks are written, after a warm-up epoch; 'fast' the harness's compiled
        engines, after epoch 1 (which pays compilation). `execution` keeps one of them. Compile-included
        figures are per seed in `.frame` (`train_seconds`, `us_per_update`)."""
        if execution not in (None, *EXECUTIONS):
            raise ValueError(f"execution must be one of {', '.join(EXECUTIONS)}, got {execution!r}")
        table = training_time.tidy_table(self.view)
        if execution is None or table.empty:
            return table
        return table[table["execution"] == execution].reset_index(drop=True)

    def letters(self) -> pd.DataFrame:
        """Per-letter errors, long: one row per scenario × backend × target letter, with the errors, the
        predictions and the error rate (%) the report's Per-letter errors table prints (docs/api.md)."""
        return letters.table(self.view)

    def findings(self) -> pd.DataFrame:
        """The report's findings: each of the tutorial's claims per backend, verdict and evidence."""
        return findings.table(self.view)

    def time_to_learn(self) -> pd.DataFrame:
        """The report's Time to learn table, as printed: per scenario × backend, when the seeds first
        reached 100 % of the patterns and when they stayed there (needs checkpointed seeds)."""
        return time_to_learn.SECTION.tables["time_to_learn"](self.view)

    def sweeps(self) -> dict[str, pd.DataFrame]:
        """Per swept scenario, the report's Sweeps table (accuracy and time to learn per grid point)."""
        return sweeps.grid_tables(self.view)

    def _summary(self) -> list[tuple[str, Any]]:
        """The inline summary as parts: ("text", markdown), ("table", frame), ("figure", path)."""
        failed = sum(r["status"] != "ok" for r in self.records)
        head = f"**alphabet-bench** `{self.out}`: {len(self.records)} seed records"
        head += f", {failed} not ok (see `.frame`)" if failed else ""
        if self.outcome is not None:
            head += (f"; this call trained {self.outcome.trained} seed runs in "
                     f"{self.outcome.wall_seconds:.0f} s")
        if self.report_path is not None:
            head += f"; report: `{self.report_path}`"
        parts: list[tuple[str, Any]] = [("text", head)]
        shown = accuracy.shown(self.view)
        if not shown.empty:
            parts += [("text", "Accuracy (%), the report's table (`.accuracy()` has it as numbers):"),
                      ("table", shown)]
        parts += [("figure", self.figures[key]) for key in SUMMARY_FIGURES if key in self.figures]
        if self.warnings:
            parts.append(("text", "Warnings: " + "; ".join(self.warnings)))
        return parts

    def _repr_markdown_(self) -> str:
        out = []
        for kind, value in self._summary():
            if kind == "table":
                out.append(md(value, ".1f"))
            elif kind == "figure":
                out.append(f"![{SUMMARY_FIGURES[value.stem]}]({_relative(value)})")
            else:
                out.append(value)
        return "\n\n".join(out)

    def _repr_html_(self) -> str:
        out = []
        for kind, value in self._summary():
            if kind == "table":
                out.append(value.to_html(index=False, na_rep="—", float_format=lambda x: f"{x:.1f}"))
            elif kind == "figure":
                data = base64.b64encode(value.read_bytes()).decode("ascii")
                out.append(f'<img alt="{SUMMARY_FIGURES[value.stem]}" style="max-width:100%" '
                           f'src="data:image/png;base64,{data}"/>')
            else:
                text = html.escape(value).replace("**", "")
                out.append(f"<p>{_code(text)}</p>")
        return "\n".join(out)


def _code(text: str) -> str:
    """`x` → <code>x</code> in already escaped text."""
    pieces = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _relative(path: Path) -> str:
    """A figure's path as a notebook's markdown resolves it: relative to the working directory."""
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive
        return path.as_posix()


def _row_columns() -> tuple[str, ...]:
    return tuple(_row({"scenario": "", "backend": "", "seed": 0, "status": ""}))


def _spec(r: dict[str, Any]) -> ScenarioSpec | None:
    """The spec the record trained: the registry's, overridden by what the record stored of it (the
    record's word wins where the registry has changed since); None for an unknown scenario."""
    stored = {k: v for k, v in (r.get("spec") or {}).items() if k in SPEC_FIELDS}
    if "probes" in stored:
        stored["probes"] = tuple(stored["probes"] or ())
    try:
        return replace(get_scenario(r["scenario"]), **stored)
    except (UnknownScenarioError, TypeError, ValueError):
        try:
            return ScenarioSpec(**stored)
        except (TypeError, ValueError):
            return None


def options_used(r: dict[str, Any]) -> dict[str, Any]:
    """The options a record trained with (epochs aside): its own where it set them, else what the
    run resolved the default to, from the one place each is resolved: units and learning rate the
    tutorial's (`ResolvedScenario`, from the record's spec), Adam's epsilon the framework's own
    (`ScenarioOptions.adam_epsilon`; left None for a backend that is neither Keras nor PyTorch)."""
    stored = r.get("options") or {}
    try:
        options = ScenarioOptions(**{k: v for k, v in stored.items() if k in OPTION_COLUMNS})
    except (TypeError, ValueError):  # a record of another version: show what it stored
        return {k: stored.get(k, labels.DEFAULT_OPTIONS.get(k)) for k in OPTION_COLUMNS}
    used = {k: getattr(options, k) for k in OPTION_COLUMNS}
    spec = _spec(r)
    if spec is not None:
        resolved = ResolvedScenario(spec, options)
        used.update(units=resolved.units, learning_rate=resolved.learning_rate)
    if r["backend"] in NATIVE_ADAM_EPS:
        used["adam_eps"] = options.adam_epsilon(r["backend"])
    return used


def _row(r: dict[str, Any]) -> dict[str, Any]:
    options = options_used(r)
    patterns = r.get("patterns") or []
    accuracy = r.get("accuracy")
    return {
        "scenario": r["scenario"],
        "label": labels.scenario_label(r),
        "backend": r["backend"],
        "backend_label": labels.backend_label(r),
        "execution": r.get("execution", "idiomatic"),
        "device": r.get("device", "cpu"),
        "seed": r["seed"],
        "status": r["status"],
        "error": r.get("error"),
        "accuracy": None if accuracy is None else 100.0 * accuracy,
        "epochs": r.get("epochs"),
        "profile": r.get("profile"),
        **{k: options.get(k) for k in OPTION_COLUMNS},
        "epoch_loss": list(r.get("epoch_loss") or []),
        "epoch_accuracy": list(r.get("epoch_accuracy") or []),
        "predicted": [p["predicted"] for p in patterns],
        "patterns": patterns,
        "probes": r.get("probes") or {},
        "checkpoints": r.get("checkpoints") or [],
        "accuracy_curve": r.get("accuracy_curve"),
        "train_seconds": r.get("train_seconds"),
        "first_epoch_seconds": r.get("first_epoch_seconds"),
        "updates": r.get("updates"),
        "us_per_update": r.get("us_per_update"),
        "steady_us_per_update": steady_us_per_update(r),
        "seeds_together": r.get("seeds_together", 1),
        "batch_train_seconds": r.get("batch_train_seconds"),
        "framework_versions": r.get("framework_versions") or {},
        "run_id": r.get("run_id"),
        "timestamp": r.get("timestamp"),
    }

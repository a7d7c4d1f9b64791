"""The API's tables are tidy (one row per observation, numeric columns, snake_case names), hold the
numbers the report prints, and `.frame`'s option columns hold the values each seed trained with."""

from __future__ import annotations

import gzip
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness
from harness.reporting.sections import accuracy
from harness.store import append_record, results_path
from tests.cli import ROOT
from tests.fakes import make_record

REPORTS = ROOT / "reports"
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
TEXT = {"scenario", "backend", "execution", "scenario_label", "backend_label", "source", "letter"}
KEYS = {"accuracy": ["scenario_label", "backend_label"],
        "timing": ["scenario_label", "backend_label", "execution"],
        "letters": ["scenario_label", "backend_label", "letter"]}


@pytest.fixture(scope="module")
def example() -> harness.Results:
    return harness.load(REPORTS / "example")


@pytest.fixture(scope="module")
def ablation(tmp_path_factory) -> harness.Results:
    """The committed ablation (records gzipped), unpacked into a plain run folder."""
    folder = tmp_path_factory.mktemp("ablation")
    with gzip.open(REPORTS / "ablation" / "results.jsonl.gz", "rb") as packed, \
            open(folder / "results.jsonl", "wb") as plain:
        shutil.copyfileobj(packed, plain)
    return harness.load(folder)


def _tables(results: harness.Results) -> dict[str, pd.DataFrame]:
    return {"accuracy": results.accuracy(), "timing": results.timing(), "letters": results.letters()}


def _report_table(report: str, after: str) -> list[dict[str, str]]:
    """The first markdown table after the heading `after`, one dict per row, cells stripped."""
    lines = report.split(after, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[2:]]


def _by_label(table: pd.DataFrame, *extra: str) -> dict[tuple, dict]:
    keys = ["scenario_label", "backend_label", *extra]
    return {tuple(row[k] for k in keys): row for row in table.to_dict("records")}


# --- shape ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("folder", ["example", "ablation"])
def test_tables_are_tidy(folder, request):
    results = request.getfixturevalue(folder)
    for name, table in _tables(results).items():
        assert not table.empty, name
        assert all(SNAKE.match(c) for c in table.columns), (name, list(table.columns))
        numeric = [c for c in table.columns if c not in TEXT]
        assert numeric and all(pd.api.types.is_numeric_dtype(table[c]) for c in numeric), (name, table.dtypes)
        assert not table.duplicated(KEYS[name]).any(), name  # one row per observation
        assert set(table["execution"]) <= {"idiomatic", "fast"}
        assert not table[["scenario", "backend", "execution"]].isna().any().any(), name
        assert not table.isna().all().any(), name  # no column left empty


def test_accuracy_rows_add_up_to_the_frame(example):
    table, frame = example.accuracy(), example.frame
    seeds = frame.groupby(["label", "backend_label"]).size()
    assert (table["n"] + table["failed"]).tolist() == [seeds[k] for k in zip(
        table["scenario_label"], table["backend_label"], strict=True)]
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    assert (table["min"] <= table["median"]).all() and (table["median"] <= table["max"]).all()
    assert table["tutorial_k"].le(table["patterns"]).all()
    means = frame.groupby(["label", "backend_label"])["accuracy"].mean()
    for row in table.itertuples():
        assert row.mean == pytest.approx(means[(row.scenario_label, row.backend_label)])
        assert frame.loc[frame["label"] == row.scenario_label, "scenario"].eq(row.scenario).all()


def test_timing_is_one_unit_keyed_by_execution(example):
    table = example.timing()
    assert [c for c in table.columns if "us" in c or "µs" in c] == [
        "us_per_update", "us_per_update_min", "us_per_update_max"]  # one quantity, with its spread
    assert set(table["execution"]) == {"idiomatic", "fast"}
    assert (table["us_per_update_min"] <= table["us_per_update"]).all()
    assert (table["us_per_update"] <= table["us_per_update_max"]).all()
    fast = example.timing(execution="fast")
    assert set(fast["execution"]) == {"fast"} and len(fast) + len(example.timing("idiomatic")) == len(table)
    steady = example.frame.groupby("backend_label")["steady_us_per_update"]
    for row in fast.itertuples():  # the fast figure is the seeds' steady-state median in .frame
        seeds = example.frame[(example.frame["label"] == row.scenario_label)
                              & (example.frame["backend_label"] == row.backend_label)]
        assert row.us_per_update == pytest.approx(seeds["steady_us_per_update"].median())
        assert row.n == seeds["steady_us_per_update"].count() and steady.ngroups >= 1
    with pytest.raises(ValueError, match="execution must be one of"):
        example.timing(execution="fastest")


def test_letters_count_the_frames_predictions(example):
    table, frame = example.letters(), example.frame
    assert (table["errors"] <= table["n"]).all()
    assert np.allclose(table["error_rate"], 100.0 * table["errors"] / table["n"])
    for row in table.sample(20, random_state=0).itertuples():
        seeds = frame[(frame["label"] == row.scenario_label) & (frame["backend_label"] == row.backend_label)]
        asked = [p for patterns in seeds["patterns"] for p in patterns if p["expected"] == row.letter]
        assert row.n == len(asked) and row.errors == sum(p["predicted"] != row.letter for p in asked)


# --- the numbers the report prints --------------------------------------------------------------------

def test_accuracy_holds_what_the_report_prints(example):
    printed = _report_table((REPORTS / "example" / "report.md").read_text(encoding="utf-8"), "## Accuracy")
    table = _by_label(example.accuracy())
    assert len(printed) == len(table)
    for shown in printed:
        row = table[(shown["scenario"], shown["backend"])]
        for column in ("mean", "std", "median", "min", "max", "tutorial pct"):
            assert shown[column] == f"{row[column.replace(' ', '_')]:.1f}", column
        assert shown["n"] == str(row["n"]) and shown["failed"] == str(row["failed"])
        assert shown["tutorial"] == f"{row['tutorial_accuracy']:.2f} → {row['tutorial_k']}/{row['patterns']}"
        if row["min"] == row["max"]:
            assert shown["95 % CI of mean"].startswith(f"all {row['n']} at {row['min']:.1f}")
        else:
            assert shown["95 % CI of mean"] == f"{row['ci_low']:.1f} – {row['ci_high']:.1f}"
        if pd.isna(row["notebook_accuracy"]):
            assert shown["notebook"] == shown["notebook pct"] == "—"
        else:
            assert shown["notebook"].startswith(f"{row['notebook_accuracy']:.2f} → {row['notebook_k']}/")


def test_timing_holds_what_the_report_prints(example):
    report = (REPORTS / "example" / "report.md").read_text(encoding="utf-8")
    table = _by_label(example.timing(), "execution")
    written = _report_table(report, "### How the frameworks run as written")
    fast = _report_table(report, "### The harness's compiled engine")
    assert len(written) + len(fast) == len(table)
    for shown in written:
        row = table[(shown["scenario"], shown["backend"], "idiomatic")]
        assert float(shown["µs/update"]) == pytest.approx(row["us_per_update"], rel=5e-4)
        assert float(shown["min"]) == pytest.approx(row["us_per_update_min"], rel=5e-4)
        assert shown["source"] == row["source"] and shown["n"] == str(row["n"])
    for shown in fast:
        row = table[(shown["scenario"], shown["backend"], "fast")]
        assert float(shown["µs after epoch 1"]) == pytest.approx(row["us_per_update"], rel=5e-3)


def test_letters_hold_what_the_report_prints(example):
    printed = _report_table((REPORTS / "example" / "report.md").read_text(encoding="utf-8"),
                            "## Per-letter errors")
    cells = {(row["letter"], column): value for row in printed for column, value in row.items()}
    table = example.letters()
    for row in table.itertuples():
        assert cells[(row.letter, f"{row.scenario_label} {row.backend_label}")] == f"{row.error_rate:.0f}"
    asked = set(zip(table["letter"], table["scenario_label"] + " " + table["backend_label"], strict=True))
    blank = {k for k, v in cells.items() if v == "" and k[1] != "letter"}
    assert blank and not blank & asked  # a letter never asked is no row, and the report leaves it blank


# --- synthetic records ---------------------------------------------------------------------------------

def _load(tmp_path: Path, records: list[dict]) -> harness.Results:
    for record in records:
        append_record(results_path(tmp_path), record)
    return harness.load(tmp_path)


def test_failed_seeds_and_other_epochs_are_numbers_too(tmp_path):
    spec = {"id": "one_char", "tutorial_accuracy": 84.0, "epochs": 500}  # the tutorial trained 500
    records = [make_record("one_char", "torch", s, wrong=dict.fromkeys("XYZ"[:s], "A"), epochs=50, spec=spec)
               for s in range(3)] + [make_record("one_char", "torch", 3, status="failed", error="boom")]
    results = _load(tmp_path, records)
    row = results.accuracy().iloc[0]
    assert (row["n"], row["failed"], row["epochs"], row["tutorial_epochs"]) == (3, 1, 50, 500)
    assert row["mean"] == pytest.approx(100 * (25 - 1) / 25)
    assert row["tutorial_k"] == 21 and math.isnan(row["tutorial_pct"])  # other epochs: not placed
    shown = accuracy.shown(results.view).iloc[0]
    assert shown["tutorial"] == "84.00 (other epochs)" and shown["failed"] == 1


def test_empty_folder_gives_empty_tables(tmp_path):
    results = _load(tmp_path, [make_record(status="failed", error="boom")])
    assert results.timing().empty and results.letters().empty
    assert results.accuracy()[["n", "failed"]].values.tolist() == [[0, 1]]


# --- .frame's options: the values used -------------------------------------------------------------------

def test_frame_options_hold_the_values_each_seed_trained_with(example):
    frame = example.frame
    assert set(frame.loc[frame["units"] == 16, "scenario"]) == {"batch_state"}
    assert set(frame.loc[frame["units"] == 50, "scenario"]) == {"stateful"}
    default = frame[frame["units"] == 32]
    assert (default["scenario"].nunique(), len(default)) == (4, 80)
    assert set(frame.groupby("backend")["adam_eps"].unique().map(tuple)) == {(1e-7,), (1e-8,)}
    assert frame.groupby("backend")["adam_eps"].first().to_dict() == {"keras": 1e-7, "torch": 1e-8}
    assert (frame["learning_rate"] == 0.001).all() and (frame["gate_activation"] == "sigmoid").all()
    assert pd.api.types.is_integer_dtype(frame["units"]) and pd.api.types.is_float_dtype(frame["adam_eps"])


def test_frame_options_of_an_ablation(ablation):
    frame = ablation.frame
    eps = frame.groupby("backend_label")["adam_eps"].unique().map(tuple).to_dict()
    assert eps["torch[fast,init=keras,adam_eps=1e-07]"] == (1e-7,)
    assert eps["torch[fast,init=keras]"] == (1e-8,)
    assert eps["keras[fast,init=torch]"] == (1e-7,)
    hard = frame["backend_label"].str.contains("hard_sigmoid_2017")
    assert hard.any() and (frame.loc[hard, "gate_activation"] == "hard_sigmoid_2017").all()
    assert (frame.loc[~hard, "gate_activation"] == "sigmoid").all()


def test_frame_options_prefer_the_record_then_its_spec(tmp_path):
    records = [make_record("one_char", "keras", 0, options={"encoding": "zero_based", "units": 8,
                                                             "learning_rate": 0.01, "adam_eps": 1e-4}),
               make_record("stateful", "torch", 0, spec={"id": "stateful", "units": 64,
                                                         "tutorial_accuracy": 100.0}),
               make_record("batch_state", "crash", 0)]
    frame = _load(tmp_path, records).frame.set_index("scenario")
    assert frame.loc["one_char", ["units", "learning_rate", "adam_eps"]].tolist() == [8, 0.01, 1e-4]
    assert frame.loc["stateful", "units"] == 64  # the record's spec: what it trained, not today's registry
    assert frame.loc["stateful", "adam_eps"] == 1e-8 and frame.loc["stateful", "learning_rate"] == 0.001
    assert frame.loc["batch_state", "units"] == 16
    assert pd.isna(frame.loc["batch_state", "adam_eps"])  # neither framework: its epsilon is not known

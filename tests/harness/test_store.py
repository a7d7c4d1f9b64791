"""The record schema and the append-only JSON-lines store."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from harness.records import IDIOMATIC_TIMING, SCHEMA_VERSION, RecordError, validate_record
from harness.store import append_record, load_records, results_path
from tests.fakes import make_record


def test_record_round_trips_through_the_store(tmp_path):
    path = results_path(tmp_path)
    records = [make_record(seed=s) for s in range(3)]
    for record in records:
        append_record(path, record)
    loaded = load_records(path)
    assert loaded.records == records and loaded.warnings == []
    assert path.read_text().count("\n") == 3


def test_pandas_loads_the_results_with_one_call(tmp_path):
    path = results_path(tmp_path)
    for s in range(2):
        append_record(path, make_record(seed=s))
    frame = pd.read_json(path, lines=True)
    assert list(frame["seed"]) == [0, 1] and "accuracy" in frame.columns


def test_torn_and_garbage_lines_become_warnings(tmp_path):
    path = results_path(tmp_path)
    append_record(path, make_record(seed=0))
    with open(path, "a") as handle:
        handle.write("garbage\n")
        handle.write(json.dumps(make_record(seed=1))[:50])  # torn last line, no newline
    loaded = load_records(path)
    assert [r["seed"] for r in loaded.records] == [0]
    assert len(loaded.warnings) == 2 and ":2:" in loaded.warnings[0] and ":3:" in loaded.warnings[1]


def test_newer_schema_is_refused_by_name():
    record = make_record()
    record["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(RecordError, match="newer than this harness"):
        validate_record(record)


def test_missing_fields_are_named():
    record = make_record()
    del record["seed_streams"]
    with pytest.raises(RecordError, match="seed_streams"):
        validate_record(record)


def test_records_from_before_an_optional_field_was_added_still_load(tmp_path):
    record = make_record()
    del record["seeds_together"], record["batch_train_seconds"]
    append_record(results_path(tmp_path), record)
    loaded = load_records(results_path(tmp_path))
    assert loaded.warnings == [] and loaded.records[0]["seeds_together"] == 1


def test_version_1_folders_load_as_seed_records_and_timing_samples_load_apart(tmp_path):
    reports = Path(__file__).resolve().parents[2] / "reports"
    old_folder = tmp_path / "ablation.jsonl"  # written before version 2
    old_folder.write_bytes(gzip.decompress((reports / "ablation" / "results.jsonl.gz").read_bytes()))
    committed = load_records(old_folder)
    assert committed.records and not committed.warnings and not committed.timings
    assert {r["schema_version"] for r in committed.records} == {1}
    assert {r["kind"] for r in committed.records} == {"seed"}
    example = load_records(reports / "example" / "results.jsonl")  # version 2, with its samples
    assert example.records and example.timings and not example.warnings
    assert {r["kind"] for r in example.timings} == {IDIOMATIC_TIMING}
    path = results_path(tmp_path)
    old = make_record(seed=0)
    del old["kind"]
    old["schema_version"] = 1
    append_record(path, old)
    append_record(path, make_record(seed=0, kind=IDIOMATIC_TIMING, execution="idiomatic"))
    append_record(path, make_record(seed=1, kind="something else"))
    loaded = load_records(path)
    assert [r["kind"] for r in loaded.records] == ["seed"]
    assert [t["kind"] for t in loaded.timings] == [IDIOMATIC_TIMING]
    assert len(loaded.warnings) == 1 and "kind 'something else'" in loaded.warnings[0]
    assert SCHEMA_VERSION == 3


def test_records_written_before_anytime_evaluation_load_with_none():
    """Versions 1 and 2 (the committed reports) have no checkpoints or curve: they load empty."""
    reports = Path(__file__).resolve().parents[2] / "reports"
    example = load_records(reports / "example" / "results.jsonl")
    assert {r["schema_version"] for r in example.records} == {2}
    assert all(r["checkpoints"] == [] and r["accuracy_curve"] is None and r["anytime_note"] is None
               for r in example.records)


def test_the_committed_study_loads_with_its_checkpoints_and_curves(tmp_path):
    """reports/study (schema 3): every seed record has checkpoints ending at its epochs, and a curve."""
    reports = Path(__file__).resolve().parents[2] / "reports" / "study"
    # budget: 5 scenarios × 2 frameworks × 20 seeds, the same with the inits swapped, and the Adam-epsilon
    # swap on 2 scenarios × 2 frameworks × 20 seeds; sweep: 2 scenarios × 12 grid points × 2 × 10
    for part, seeds in (("budget", 200 + 200 + 80), ("sweep", 480)):
        folder = tmp_path / part
        folder.mkdir()
        results_path(folder).write_bytes(gzip.decompress((reports / part / "results.jsonl.gz").read_bytes()))
        loaded = load_records(results_path(folder))
        assert len(loaded.records) == seeds and not loaded.warnings
        assert all(r["schema_version"] == 3 and r["checkpoints"][-1]["epoch"] == r["epochs"]
                   and r["accuracy_curve"]["epochs"][-1] == r["epochs"] for r in loaded.records)

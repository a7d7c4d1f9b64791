"""The record schema and the append-only JSON-lines store."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from harness.records import IDIOMATIC_TIMING, SCHEMA_VERSION, RecordError, validate_record
from harness.store import (
    PACKED_FILE,
    append_record,
    has_results,
    latest_per_key,
    load_folder,
    load_records,
    results_files,
    results_path,
)
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
    committed = load_records(Path(__file__).resolve().parent / "schema1_sample.jsonl.gz")  # version 1
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
    """Versions 1 and 2 have no checkpoints or curve: they load empty. Version 1:
    schema1_sample.jsonl.gz, one record of each row of reports/ablation as first committed
    (7d32229); version 2: schema2_sample.jsonl.gz, 12 records of reports/seeds100 as first committed
    (7a42a77); each kept when its folder was regenerated."""
    here = Path(__file__).resolve().parent
    for path, version in ((here / "schema2_sample.jsonl.gz", 2), (here / "schema1_sample.jsonl.gz", 1)):
        old = load_records(path)
        assert {r["schema_version"] for r in old.records} == {version}
        assert all(r["checkpoints"] == [] and r["accuracy_curve"] is None and r["anytime_note"] is None
                   for r in old.records)


def _packed(folder: Path, records: list[dict], tail: str = "") -> Path:
    """A committed-style folder: its records gzipped in results.jsonl.gz (plus `tail`, raw)."""
    folder.mkdir(exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in records) + tail
    (folder / PACKED_FILE).write_bytes(gzip.compress(text.encode()))
    return folder


def test_a_packed_folder_is_read_then_its_appended_records_newest_last(tmp_path):
    """The gzip is read first and never written; a resumed run appends to results.jsonl, and its
    record of a key (a retried seed) is the one kept."""
    _packed(tmp_path, [make_record(seed=0), make_record(seed=1, status="failed", error="killed")])
    assert has_results(tmp_path) and results_files(tmp_path) == [tmp_path / PACKED_FILE]
    packed = (tmp_path / PACKED_FILE).read_bytes()
    append_record(results_path(tmp_path), make_record(seed=1))
    assert results_files(tmp_path) == [tmp_path / PACKED_FILE, results_path(tmp_path)]
    loaded = load_folder(tmp_path)
    assert [(r["seed"], r["status"]) for r in loaded.records] == [(0, "ok"), (1, "failed"), (1, "ok")]
    assert [r["status"] for r in latest_per_key(loaded.records)] == ["ok", "ok"]
    assert (tmp_path / PACKED_FILE).read_bytes() == packed
    assert not has_results(tmp_path / "empty") and load_folder(tmp_path / "empty").records == []


def test_warnings_name_the_file_the_bad_line_is_in(tmp_path):
    _packed(tmp_path, [make_record(seed=0)], tail="garbage\n")
    append_record(results_path(tmp_path), make_record(seed=1))
    with open(results_path(tmp_path), "a") as handle:
        handle.write('{"torn')
    loaded = load_folder(tmp_path)
    assert [r["seed"] for r in loaded.records] == [0, 1]
    assert loaded.warnings[0].startswith(f"{tmp_path / PACKED_FILE}:2: not valid JSON")
    assert loaded.warnings[1].startswith(f"{results_path(tmp_path)}:2: not valid JSON")


def test_a_damaged_gzip_keeps_the_records_before_the_damage_and_says_so(tmp_path):
    _packed(tmp_path, [make_record(seed=s) for s in range(200)])
    whole = (tmp_path / PACKED_FILE).read_bytes()
    (tmp_path / PACKED_FILE).write_bytes(whole[: len(whole) // 2])  # cut off mid-stream
    loaded = load_folder(tmp_path)
    seeds = [r["seed"] for r in loaded.records]
    assert 0 < len(seeds) < 200 and seeds == list(range(len(seeds)))
    assert len(loaded.warnings) == 1 and "cannot be read past here" in loaded.warnings[0]
    assert loaded.warnings[0].startswith(str(tmp_path / PACKED_FILE))
    (tmp_path / PACKED_FILE).write_bytes(b"not gzip at all")
    assert "cannot be read past here" in load_folder(tmp_path).warnings[0]


def test_pandas_reads_a_packed_folder_with_the_same_call(tmp_path):
    _packed(tmp_path, [make_record(seed=s) for s in range(3)])
    assert list(pd.read_json(tmp_path / PACKED_FILE, lines=True)["seed"]) == [0, 1, 2]

"""Append-only JSON-lines store: one complete line per record, flushed to disk at once.

A folder may also hold `results.jsonl.gz`: records packed for committing (reports/*). It is read,
never written: it is older than `results.jsonl`, so it is read first and a record appended later
(a resumed or retried seed) is the newest of its key. Nothing is rewritten, so nothing is lost.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.records import SEED, RecordError, SchemaTooNewError, record_key, timing_key, validate_record

RESULTS_FILE = "results.jsonl"  # appended by every run
PACKED_FILE = "results.jsonl.gz"  # committed records, gzipped: read only


@dataclass
class LoadedRecords:
    records: list[dict[str, Any]] = field(default_factory=list)  # seed records only
    warnings: list[str] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)  # idiomatic timing samples


def results_path(out_dir: Path) -> Path:
    """The file new records are appended to (a packed folder gets one when it resumes)."""
    return Path(out_dir) / RESULTS_FILE


def results_files(out_dir: Path) -> list[Path]:
    """The folder's record files that exist, oldest first: the packed one, then the appended one."""
    return [path for path in (Path(out_dir) / PACKED_FILE, results_path(out_dir)) if path.is_file()]


def has_results(out_dir: Path) -> bool:
    """A run (or a commit) left records here: `report`, `compare` and resume can read it."""
    return bool(results_files(out_dir))


def load_folder(out_dir: Path) -> LoadedRecords:
    """The records a run folder holds, packed then appended (none yet for a new folder); a newer
    schema raises."""
    loaded = LoadedRecords()
    for path in results_files(out_dir):
        part = load_records(path)
        loaded.records += part.records
        loaded.warnings += part.warnings
        loaded.timings += part.timings
    return loaded


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Write one record as one line, flushed and fsynced, so a crash loses at most this line."""
    line = json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """The file's numbered lines, gunzipped when it ends in .gz."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        yield from enumerate(handle, start=1)


def load_records(path: Path) -> LoadedRecords:
    """Read every valid record (.jsonl or .jsonl.gz); a torn or foreign line becomes a warning naming
    the file and line, and so does a damaged gzip (the records before the damage are kept)."""
    path = Path(path)
    loaded = LoadedRecords()
    number = 0
    try:
        for number, line in _lines(path):
            if not line.strip():
                continue
            try:
                record = validate_record(json.loads(line))
                (loaded.records if record["kind"] == SEED else loaded.timings).append(record)
            except json.JSONDecodeError:
                loaded.warnings.append(f"{path}:{number}: not valid JSON (torn or garbage line), skipped")
            except SchemaTooNewError as exc:
                raise SchemaTooNewError(f"{path}:{number}: {exc}") from None
            except RecordError as exc:
                loaded.warnings.append(f"{path}:{number}: {exc}, skipped")
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # a truncated or corrupt .gz
        loaded.warnings.append(f"{path}:{number + 1}: cannot be read past here ({exc}), the rest is skipped")
    return loaded


def latest_timings(timings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One timing sample per (scenario, options, backend, device): the last one written."""
    latest = {timing_key(r): r for r in timings}
    return list(latest.values())


def latest_per_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (scenario, options, backend, execution, seed): the last one written.

    A failed seed that a resumed run retried successfully is then reported by its retry.
    """
    latest = {record_key(r): r for r in records}
    return list(latest.values())


def repair_tail(path: Path) -> str | None:
    """End a torn last line (left by a kill mid-write) so the next record starts on its own line.

    The torn fragment is kept, not deleted: it stays a line that loading reports and skips.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with open(path, "rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return None
        handle.write(b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return f"{path}: the last line was torn (a run was killed mid-write); it is kept and skipped"

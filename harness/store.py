"""Append-only JSON-lines store: one complete line per record, flushed to disk at once."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.records import SEED, RecordError, SchemaTooNewError, record_key, timing_key, validate_record

RESULTS_FILE = "results.jsonl"


@dataclass
class LoadedRecords:
    records: list[dict[str, Any]] = field(default_factory=list)  # seed records only
    warnings: list[str] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)  # idiomatic timing samples


def results_path(out_dir: Path) -> Path:
    return Path(out_dir) / RESULTS_FILE


def load_folder(out_dir: Path) -> LoadedRecords:
    """The records a run folder holds (none yet for a new folder); a newer schema raises."""
    path = results_path(out_dir)
    return load_records(path) if path.is_file() else LoadedRecords()


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Write one record as one line, flushed and fsynced, so a crash loses at most this line."""
    line = json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def load_records(path: Path) -> LoadedRecords:
    """Read every valid record; a torn or foreign line becomes a warning naming the line."""
    loaded = LoadedRecords()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
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

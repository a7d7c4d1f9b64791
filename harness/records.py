"""The one result-record schema: a flat JSON object per (scenario, options, backend, seed).

Every stage after training (store, aggregate, report) reads only these records,
so everything needed to trust or rerun a number lives in the record itself.
Load them with: ``pandas.read_json("DIR/results.jsonl", lines=True)``; the same call reads a
committed folder's ``results.jsonl.gz`` (pandas infers gzip from the name).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

# 2: records carry a `kind`; version-1 records are all seed records and load as such.
# 3: seed records carry anytime evaluation (`checkpoints`, `accuracy_curve`, `anytime_note`);
#    older records load with none.
SCHEMA_VERSION = 3
STATUSES = ("ok", "failed", "diverged")
SEED = "seed"  # a trained seed: an accuracy row and a resume key
IDIOMATIC_TIMING = "idiomatic_timing"  # a timing sample of the idiomatic execution: neither
KINDS = (SEED, IDIOMATIC_TIMING)


@dataclass
class ResultRecord:
    """One trained seed (or one seed that failed to train), or one idiomatic timing sample."""

    run_id: str
    scenario: str
    options: dict[str, Any]
    spec_hash: str
    spec: dict[str, Any]
    profile: str  # "full", "quick" or "custom"
    epochs: int
    backend: str
    execution: str
    framework_versions: dict[str, str | None]
    runtime: dict[str, Any]  # threads, determinism flags and other knobs actually set
    seed: int
    seed_streams: dict[str, int]
    status: str
    error: str | None = None
    traceback: str | None = None
    accuracy: float | None = None
    patterns: list[dict[str, str]] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    epoch_accuracy: list[float] = field(default_factory=list)
    train_seconds: float | None = None
    first_epoch_seconds: float | None = None
    updates: int | None = None
    us_per_update: float | None = None
    seeds_together: int = 1  # >1: trained in one batched program; train_seconds is its per-seed share
    batch_train_seconds: float | None = None  # wall time of that batch
    device: str = "cpu"  # where model and data lived: "cpu" or "cuda"
    probes: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    command: str | None = None
    run_started: str | None = None
    kind: str = SEED
    # kind idiomatic_timing: warm-up and block epochs, and µs per update of each timed block
    timing_sample: dict[str, Any] | None = None
    # Anytime evaluation (kind seed): the model evaluated after some epochs during this one run,
    # each {"epoch", "accuracy", "predicted" (one letter per pattern, in `patterns` order),
    # "probes"}, ascending, the last at `epochs`.
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    # Dense accuracy-only evaluation for time to learn: {"epochs": [...], "accuracy": [...]}.
    accuracy_curve: dict[str, list] | None = None
    anytime_note: str | None = None  # why a backend gave no checkpoints, when it declined
    # Seconds spent scoring this seed's snapshots (its share when seeds were scored together):
    # evaluation, so in no training-time figure; the cost of anytime evaluation, measured.
    anytime_seconds: float | None = None
    timestamp: str = field(default_factory=lambda: now_iso())
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RecordError(ValueError):
    """A stored line that is not a record this version can read."""


class SchemaTooNewError(RecordError):
    """Records written by a newer harness: refused outright, never half-read."""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


_FIELDS = ResultRecord.__dataclass_fields__.values()
_REQUIRED = frozenset(f.name for f in _FIELDS if f.default is MISSING and f.default_factory is MISSING)
_OPTIONAL = {f.name: (f.default_factory if f.default is MISSING else f.default)
             for f in _FIELDS if f.name not in _REQUIRED}


def record_key(record: dict[str, Any]) -> tuple:
    """What makes two records the same job: resume skips a seed whose key is already stored."""
    options = json.dumps(record.get("options") or {}, sort_keys=True)
    return (record["scenario"], options, record["backend"], record.get("execution", "idiomatic"),
            record.get("device", "cpu"), record["seed"])


def timing_key(record: dict[str, Any]) -> tuple:
    """What makes two idiomatic timing samples the same measurement (their epochs are the sampler's)."""
    options = {k: v for k, v in (record.get("options") or {}).items() if k != "epochs"}
    return (record["scenario"], json.dumps(options, sort_keys=True), record["backend"],
            record.get("device", "cpu"))


def steady_us_per_update(record: dict[str, Any]) -> float | None:
    """µs per seed-update after the first epoch (which pays tracing and compilation): the figure a
    long run converges to. None where it cannot be known (one epoch, or no timing stored)."""
    epochs, updates, first = record.get("epochs"), record.get("updates"), record.get("first_epoch_seconds")
    seeds = record.get("seeds_together") or 1
    whole = record.get("batch_train_seconds") if seeds > 1 else record.get("train_seconds")
    if not epochs or epochs < 2 or not updates or whole is None or first is None:
        return None
    return 1e6 * (whole - first) / (seeds * updates * (epochs - 1) / epochs)


def new_run_id() -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def validate_record(raw: Any) -> dict[str, Any]:
    """Check a decoded JSON line against the schema; returns it unchanged when valid."""
    if not isinstance(raw, dict):
        raise RecordError("not a JSON object")
    version = raw.get("schema_version")
    if not isinstance(version, int):
        raise RecordError("no schema_version")
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"schema_version {version} is newer than this harness reads ({SCHEMA_VERSION}); "
            "upgrade alphabet-bench"
        )
    missing = sorted(k for k in _REQUIRED if k not in raw)
    if missing:
        raise RecordError(f"missing fields: {', '.join(missing)}")
    for name, value in _OPTIONAL.items():  # fields added later within this schema version
        raw.setdefault(name, value() if callable(value) else value)
    if raw["status"] not in STATUSES:
        raise RecordError(f"status {raw['status']!r} is not one of {', '.join(STATUSES)}")
    if raw["kind"] not in KINDS:
        raise RecordError(f"kind {raw['kind']!r} is not one of {', '.join(KINDS)}")
    return raw

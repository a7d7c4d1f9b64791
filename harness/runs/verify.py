"""`run … --verify`: retrain one stored seed, as it was trained, and check it reproduces its record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from harness.runs.local import LocalExecutor
from harness.runs.plan import Job, RunRequest
from harness.runs.scheduler import ExecutionHooks, schedule
from harness.store import load_folder

COMPARED = ("patterns", "probes", "epoch_loss", "accuracy")


def pick_record(records: list[dict[str, Any]], request: RunRequest) -> dict[str, Any] | None:
    """The first stored ok record that the request covers."""
    for record in records:
        if (record["status"] == "ok" and record["scenario"] in request.scenarios
                and record["backend"] in request.backends and record["seed"] in request.seeds):
            return record
    return None


def differences(stored: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    return [field for field in COMPARED if stored.get(field) != fresh.get(field)]


def verify(request: RunRequest, out: Path) -> int | None:
    """0: reproduced; 1: it did not; None: nothing stored to verify (the CLI says so)."""
    console = Console(stderr=True, soft_wrap=True)
    record = pick_record(load_folder(out).records, request)
    if record is None:
        return None
    label = (f"{record['scenario']} · {record['backend']} · {record.get('execution')} · "
             f"{record.get('device', 'cpu')} · seed {record['seed']}")
    console.print(f"verifying {label} from {out} …")
    fresh: list[dict[str, Any]] = []
    hooks = ExecutionHooks(on_record=lambda job, r: fresh.append(r))
    schedule([Job.from_record(record, "verify")], 1, LocalExecutor(), hooks)
    if not fresh or fresh[0]["status"] != "ok":
        console.print(f"[red]not reproduced[/]: the rerun failed: {fresh[0]['error'] if fresh else '?'}")
        return 1
    diff = differences(record, fresh[0])
    if diff:
        console.print(f"[red]not reproduced[/]: {label} differs in {', '.join(diff)}")
        return 1
    console.print(f"[green]reproduced[/]: {label} gives the stored predictions, probes and losses")
    return 0

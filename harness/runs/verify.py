"""`run … --verify`: retrain one stored seed, as it was trained, and check it reproduces its record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from harness.runs.local import LocalExecutor
from harness.runs.plan import Job, RunRequest
from harness.runs.scheduler import ExecutionHooks, schedule
from harness.store import load_folder

COMPARED = ("patterns", "probes", "epoch_loss", "accuracy", "checkpoints", "accuracy_curve")
# A seed trained inside a batch of seeds and retrained alone agrees up to float summation order:
# the fast engines' documented tolerance (tests/backends/*/test_fast.py) on every stored number.
BATCH_RTOL, BATCH_ATOL = 1e-4, 1e-6


def pick_record(records: list[dict[str, Any]], request: RunRequest) -> dict[str, Any] | None:
    """The first stored ok record that the request covers."""
    for record in records:
        if (record["status"] == "ok" and record["scenario"] in request.scenarios
                and record["backend"] in request.backends and record["seed"] in request.seeds):
            return record
    return None


def _close(a: Any, b: Any) -> bool:
    """Equal, numbers within the batch tolerance, recursively."""
    if isinstance(a, float) or isinstance(b, float):
        return (a is None and b is None) or (a is not None and b is not None
                                             and abs(a - b) <= BATCH_ATOL + BATCH_RTOL * abs(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def differences(stored: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """What the retrained seed does not reproduce: exactly, or within the fast engines' tolerance
    when the stored seed was trained in a batch of seeds (the retrain trains it alone)."""
    same = _close if (stored.get("seeds_together") or 1) > 1 else (lambda a, b: a == b)
    return [field for field in COMPARED if not same(stored.get(field), fresh.get(field))]


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
    within = " (within the batch tolerance: it was trained among other seeds)" if (
        record.get("seeds_together") or 1) > 1 else ""
    console.print(f"[green]reproduced[/]: {label} gives the stored predictions, probes, losses and "
                  f"checkpoints{within}")
    return 0

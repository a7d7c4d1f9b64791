"""Start or resume a run in an output folder: lock it, skip stored seeds, run the rest."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from harness.lock import folder_lock
from harness.plan import RunRequest, plan_jobs
from harness.records import record_key
from harness.report import write_report
from harness.store import LoadedRecords, load_records, repair_tail, results_path


def stored_records(out: Path) -> LoadedRecords:
    """Records already in the folder (raises SchemaTooNewError for a newer harness's file)."""
    store = results_path(out)
    return load_records(store) if store.is_file() else LoadedRecords()


def run_resumable(request: RunRequest, out: Path, run_id: str, timeout: float | None = None) -> int:
    """Run every requested (scenario, options, backend, execution, seed) not yet stored in `out`."""
    from harness.progress import run_with_progress

    console = Console(stderr=True, soft_wrap=True)
    stored_records(out)  # refuse a newer schema before touching the folder
    with folder_lock(out):
        torn = repair_tail(results_path(out))
        if torn:
            console.print(f"[yellow]warning[/]: {torn}")
        existing = stored_records(out)
        # failed = the infrastructure broke (crash, kill, timeout): retried; ok and diverged are results
        done = frozenset(record_key(r) for r in existing.records if r["status"] != "failed")
        jobs = plan_jobs(request, run_id, done)
        wanted = len(request.scenarios) * len(request.backends) * len(request.seeds)
        remaining = sum(len(job.seeds) for job in jobs)
        if remaining < wanted:
            console.print(f"resuming in {out}: {wanted - remaining} of {wanted} seed runs already stored, "
                          f"{remaining} to run (use --fresh for a new folder)")
        if not jobs:
            path, _ = write_report(out)
            console.print(f"nothing to run; report: {path}")
            return 0
        return run_with_progress(jobs, request, out, timeout=timeout)

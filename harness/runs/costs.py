"""Fit the planner's job costs (`plan.COSTS`) from the records of earlier runs on this machine.

Why: the planner orders and splits jobs by estimated seconds; guessed constants left the two
variable_length jobs finishing far apart. The fit reads what every record already holds:

- fast (one step updates a job's S seeds): the steady seconds after the first epoch of each job,
  `steady_updates * (per_step + S * per_seed_update)`, non-negative least squares over jobs of different S and
  update counts (a folder of 10 seeds and one of 100 separate the two terms);
- idiomatic (one seed at a time): per_seed_update is the median steady µs per update;
- start: the median extra seconds of a job's first epoch over a steady epoch (compilation,
  warm-up), plus the measured per-job overhead of a reused worker (JOB_OVERHEAD_S).

`python -m harness.runs.costs FOLDER [FOLDER ...]` prints the fitted `Cost` per (backend,
execution) in the form plan.py holds them.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import nnls

from harness.runs.plan import Cost

# A job's overhead in a worker that already imported its framework (worker reuse), measured here
# with `--workers 1` over 3 scenarios x 2 seeds: Keras 0.55-0.73 s, torch 0.02-0.11 s.
JOB_OVERHEAD_S = 0.6


def _jobs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per trained job (a fast job's seeds share its batch time), ok records only."""
    seen: dict[tuple, dict[str, Any]] = {}
    for r in records:
        if r.get("status") != "ok" or not r.get("updates") or not r.get("epochs"):
            continue
        execution = (r.get("runtime") or {}).get("execution") or r.get("execution")
        together = int(r.get("seeds_together") or 1)
        batch = r.get("batch_train_seconds") if execution == "fast" else r.get("train_seconds")
        if batch is None:
            continue
        key = (r.get("run_id"), r["scenario"], r["backend"], execution, batch)
        seen.setdefault(key, {"backend": r["backend"], "execution": execution, "seeds": together,
                              "epochs": int(r["epochs"]), "updates": int(r["updates"]),
                              "seconds": float(batch), "first": float(r["first_epoch_seconds"])})
    return list(seen.values())


def fit(records: list[dict[str, Any]]) -> dict[tuple[str, str], Cost]:
    """The fitted Cost per (backend, execution) that the records hold enough jobs for."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for job in _jobs(records):
        groups[(job["backend"], job["execution"])].append(job)
    out = {}
    for key, jobs in groups.items():
        steady_updates = np.array([j["updates"] * (j["epochs"] - 1) / j["epochs"] for j in jobs])
        steady = np.array([j["seconds"] - j["first"] for j in jobs])
        seeds = np.array([j["seeds"] if key[1] == "fast" else 1 for j in jobs], dtype=float)
        if key[1] == "fast" and len(set(seeds)) > 1:
            design = np.column_stack([steady_updates, steady_updates * seeds])
            (per_step, per_seed), _ = nnls(design, steady)  # neither term can be negative
        else:  # one S: the whole step cost per seed-update
            per_step, per_seed = 0.0, float(np.median(steady / (steady_updates * seeds)))
        per_epoch = steady / np.maximum(1, np.array([j["epochs"] - 1 for j in jobs]))
        first_extra = [max(0.0, j["first"] - e) for j, e in zip(jobs, per_epoch, strict=True)]
        out[key] = Cost(round(statistics.median(first_extra) + JOB_OVERHEAD_S, 1),
                        round(float(per_step) * 1e6, 1), round(float(per_seed) * 1e6, 2))
    return out


def main(argv: list[str]) -> int:
    from harness.store import load_folder

    if not argv:
        print("usage: python -m harness.runs.costs FOLDER [FOLDER ...]", file=sys.stderr)
        return 2
    loaded = [load_folder(Path(folder)) for folder in argv]
    records = [r for part in loaded for r in part.records + part.timings]
    for (backend, execution), cost in sorted(fit(records).items()):
        terms = f"{cost.start}, {cost.per_step_us}, {cost.per_seed_update_us}"
        print(f'    ("{backend}", "{execution}"): Cost({terms}),')
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""What dense anytime snapshots cost the torch fast engine: `train_stacked` wall time with a
snapshot every max(1, epochs // 100) epochs (a no-op callback) against none, interleaved in
one process. Not a test (pytest does not collect it); run by hand:

    python -m tests.backends.pytorch.bench_snapshots --scenario one_char batch_state \
        --epochs 500 --seeds 100 --reps 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from backends import RuntimeConfig, load_backend
from backends.base import SnapshotRequest
from tests.backends.pytorch.test_backend import make_plan, resolve


def measure(
    scenario_id: str, epochs: int, seeds: int, reps: int, compiled: bool, device: str = "cpu"
) -> dict[str, float]:
    """Median wall, process CPU and stopwatch seconds of `reps` runs each way, after an untimed
    warm-up. CPU seconds matter on a shared machine, where other processes stretch the wall."""
    from backends.pytorch.backend import build_model
    from backends.pytorch.fast import train_stacked
    from backends.pytorch.stacked import Layout

    scenario, data = resolve(scenario_id, epochs)
    plans = [make_plan(scenario, data.n_samples, seed=s, init_seed=s, order_seed=s) for s in range(seeds)]
    layout = Layout(scenario.spec.features, scenario.units, scenario.n_classes)
    params = tuple(p.to(device) for p in layout.stack([build_model(scenario, p.init_seed) for p in plans]))
    orders = np.stack([p.orders for p in plans])
    import torch

    x, y = (torch.from_numpy(data.x.astype(np.float32)).to(device),
            torch.from_numpy(data.y.astype(np.int64)).to(device))
    every = max(1, epochs // 100)
    taken: list[int] = []
    dense = SnapshotRequest(frozenset(range(every, epochs + 1, every)), lambda s: taken.append(s.epoch))
    ids = tuple(p.seed for p in plans)

    def once(snapshots: SnapshotRequest | None) -> tuple[float, float, float]:
        began, cpu = time.perf_counter(), time.process_time()
        result = train_stacked(scenario, layout, params, x, y, orders, lambda n: None, compiled,
                               snapshots=snapshots, seeds=ids)
        assert result.path == ("compiled" if compiled else "eager-stacked"), result.note
        return time.perf_counter() - began, time.process_time() - cpu, result.timing.train_seconds

    once(None)  # compile (or load) the program, untimed
    runs: dict[str, list[tuple[float, float, float]]] = {"none": [], "dense": []}
    for rep in range(reps):  # interleaved, the order swapped each time: load changes hit both
        for name in ("none", "dense") if rep % 2 == 0 else ("dense", "none"):
            runs[name].append(once(dense if name == "dense" else None))
    assert len(taken) == reps * len(dense.epochs)
    out = {f"{k}_{i}": statistics.median(r[j] for r in v) for k, v in runs.items()
           for j, i in enumerate(("wall", "cpu", "timed"))}
    for figure in ("wall", "cpu", "timed"):
        out[f"{figure}_ratio"] = out[f"dense_{figure}"] / out[f"none_{figure}"]
    out["snapshots"] = len(dense.epochs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", nargs="+", default=["one_char", "batch_state"])
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--eager", action="store_true", help="the eager-stacked fallback instead")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    knobs = load_backend("torch").setup(RuntimeConfig(threads=1, execution="fast", device=args.device))
    compiled = not args.eager and knobs.get("fast_path") == "compiled"
    for scenario_id in args.scenario:
        r = measure(scenario_id, args.epochs, args.seeds, args.reps, compiled, args.device)
        figures = ", ".join(f"{f} {r[f'none_{f}']:.3f} s -> {r[f'dense_{f}']:.3f} s (x{r[f'{f}_ratio']:.3f})"
                            for f in ("wall", "cpu", "timed"))
        print(f"{scenario_id}: {args.epochs} epochs x {args.seeds} seeds, {r['snapshots']} snapshots, "
              f"{'compiled' if compiled else 'eager-stacked'} on {args.device}, median of {args.reps}: "
              f"{figures}", flush=True)


if __name__ == "__main__":
    main()

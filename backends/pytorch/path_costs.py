"""How the constants of the torch fast-path rule (`paths`) were measured, and how to measure
them again: `python -m backends.pytorch.path_costs --seeds 2 10 50` prints both paths' µs per
step and the cold compile's seconds per scenario and seed count, next to the rule's figures.

A module of its own so that `paths` (imported by the backend) imports nothing that imports it.
"""

from __future__ import annotations

import os

from backends.pytorch import paths


def measure(scenario_ids: list[str], seed_counts: list[int], updates: int = 2000) -> list[dict]:
    """Per-step µs of both paths and the compile's seconds, per scenario and seed count, next to
    the rule's estimate: how the constants in `paths` were measured.
    Run it in a process of its own: it points inductor at an empty cache, so compiles are cold."""
    import tempfile

    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="alphabet-bench-paths-")
    import numpy as np
    import torch

    from backends.pytorch.backend import build_model
    from backends.pytorch.fast import train_stacked
    from backends.pytorch.stacked import Layout
    from scenarios import ResolvedScenario, build_data, get_scenario

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    paths.compiler_knobs()  # the compiler stack, loaded before any clock (as a worker does)
    rows = []
    for sid in scenario_ids:
        base = ResolvedScenario(get_scenario(sid))
        scenario = base.with_epochs(max(2, updates // base.steps_per_epoch + 1))
        data = build_data(scenario)
        x, y = torch.from_numpy(data.x.astype(np.float32)), torch.from_numpy(data.y.astype(np.int64))
        layout = Layout(scenario.spec.features, scenario.units, scenario.n_classes)
        for seeds in seed_counts:
            rng = np.random.default_rng(0)
            orders = np.stack([[rng.permutation(data.n_samples) for _ in range(scenario.epochs)]
                               for _ in range(seeds)])
            params = layout.stack([build_model(scenario, s) for s in range(seeds)])
            row: dict = {"scenario": sid, "seeds": seeds, "timesteps": scenario.spec.timesteps}
            for name, compile_step in (("eager", False), ("compiled", True)):
                run = train_stacked(scenario, layout, params, x, y, orders, lambda _: None, compile_step)
                timing = run.timing
                steady = timing.train_seconds - timing.first_epoch_seconds
                row[f"{name}_us"] = 1e6 * steady / ((scenario.epochs - 1) * scenario.steps_per_epoch)
                row[f"{name}_first_s"] = timing.first_epoch_seconds
            row["estimate_eager_us"] = paths.step_us(paths.EAGER_STEP_US, row["timesteps"], seeds)
            row["estimate_compiled_us"] = paths.step_us(paths.COMPILED_STEP_US, row["timesteps"], seeds)
            rows.append(row)
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m backends.pytorch.path_costs",
                                     description=measure.__doc__)
    parser.add_argument("--scenario", nargs="+", default=["one_char", "timestep_window", "batch_state",
                                                          "stateful", "variable_length"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[2, 10])
    args = parser.parse_args()
    print(f"{'scenario':16} {'T':>2} {'S':>3} {'eager µs':>9} {'(rule)':>7} {'compiled µs':>12} "
          f"{'(rule)':>7} {'compile s':>9} {'(rule)':>7}")
    for r in measure(args.scenario, args.seeds):
        print(f"{r['scenario']:16} {r['timesteps']:>2} {r['seeds']:>3} {r['eager_us']:>9.0f} "
              f"{r['estimate_eager_us']:>7.0f} {r['compiled_us']:>12.0f} {r['estimate_compiled_us']:>7.0f} "
              f"{r['compiled_first_s'] - r['eager_first_s']:>9.1f} {paths.COMPILE_SECONDS:>7.1f}", flush=True)

"""The jax backend: the tutorial's model in Flax NNX, trained with Optax (`model`), by either
execution: "idiomatic", one seed at a time, one `nnx.jit` step per update (`idiomatic`), or
"fast", all seeds of a call in one `lax.scan` + `vmap` program (`fast`).

JAX, Flax and Optax are imported inside functions, so importing this module (the registry does,
for EXECUTIONS) works where they are missing. `setup` puts the device and XLA's CPU threading
into the environment first, since JAX reads them when it starts; in a process that imported JAX
already they cannot change, and the knobs say so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from backends.base import (
    EXECUTIONS,
    Backend,
    ProgressFn,
    RuntimeConfig,
    SeedPlan,
    SeedTraining,
    SnapshotRequest,
    check_config,
)
from scenarios import NATIVE_ADAM_EPS, AlphabetData, ResolvedScenario

# EXECUTIONS (imported from backends.base): this backend implements both.
# One thread for XLA:CPU's Eigen kernels (as harness.runs.floor runs); XLA has no pool-size flag.
SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false"
GPU_DETERMINISM = "--xla_gpu_deterministic_ops=true"
JAX_THREADS_NOTE = ("XLA_FLAGS --xla_cpu_multi_thread_eigen=false (single-threaded Eigen kernels); "
                    "XLA:CPU has no thread-count setting otherwise")


def gpu_count() -> int:
    """GPUs JAX sees (0 when none or it cannot say), so the harness can refuse --device cuda."""
    try:
        import jax

        return len([d for d in jax.devices() if d.platform == "gpu"])
    except Exception:
        return 0


def framework_env(config: RuntimeConfig) -> dict[str, str]:
    """What JAX must find in the environment when it starts: its platform, single-threaded Eigen
    for threads=1, deterministic GPU ops when asked for."""
    flags = os.environ.get("XLA_FLAGS", "").split()
    if config.device == "cpu" and config.threads == 1 and SINGLE_THREAD_XLA not in flags:
        flags.append(SINGLE_THREAD_XLA)
    if config.device == "cuda" and config.deterministic and GPU_DETERMINISM not in flags:
        flags.append(GPU_DETERMINISM)
    env = {"JAX_PLATFORMS": "cuda" if config.device == "cuda" else "cpu"}
    if flags:
        env["XLA_FLAGS"] = " ".join(flags)
    return env


class JaxBackend(Backend):
    name = "jax"
    anytime = True

    def __init__(self) -> None:
        self._execution = "idiomatic"

    def setup(self, config: RuntimeConfig) -> dict:
        """Environment first (before JAX starts), then float32 matmuls and a device check; calling
        it again (tests) switches the execution of this instance."""
        check_config("jax", config, EXECUTIONS)
        before_import = "jax" not in sys.modules
        env = framework_env(config)
        if before_import:
            os.environ.update(env)
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")  # no TF32 on a GPU, as the others
        try:  # with JAX_PLATFORMS=cuda and no GPU, JAX fails here
            platform = jax.default_backend()
        except Exception as exc:  # its type is undocumented
            platform = f"none ({type(exc).__name__} {exc})"
        if config.device == "cuda" and platform != "gpu":
            raise RuntimeError(f"--device cuda: JAX sees no GPU (default backend {platform!r}); "
                               "use --device cpu")
        knobs: dict[str, Any] = {
            "execution": config.execution, "device": config.device, "dtype": "float32",
            "jax_platform": platform, "jax_devices": len(jax.devices()),
            "framework_env": env if before_import else None,  # None: JAX had started, env not applied
            "xla_flags": os.environ.get("XLA_FLAGS", ""),  # as JAX read them, if it started after this
            "jax_threads": JAX_THREADS_NOTE if SINGLE_THREAD_XLA in os.environ.get("XLA_FLAGS", "")
            else "XLA:CPU sizes its thread pool to the schedulable cores",
            "x64": bool(jax.config.jax_enable_x64), "matmul_precision": "highest",
            # Adam: optax.adam(lr), its default eps unless the record's options set adam_eps
            "optimizer": "optax.adam", "adam_eps_default": NATIVE_ADAM_EPS["jax"],
            "adam_eps_placement": "sqrt(v_hat) + eps, after the bias correction (as PyTorch)",
        }
        if config.execution == "idiomatic":
            knobs["train_step"] = "nnx.jit per update"
        else:
            from backends.jax_native.fast import FAST_PATH

            knobs["fast_path"] = FAST_PATH
        self._execution = config.execution
        return knobs

    def versions(self) -> dict[str, str]:
        import flax
        import jax
        import jaxlib
        import optax

        return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "flax": flax.__version__,
                "optax": optax.__version__}

    def train(
        self,
        scenario: ResolvedScenario,
        data: AlphabetData,
        plans: list[SeedPlan],
        progress: ProgressFn,
        snapshots: SnapshotRequest | None = None,
    ) -> Iterator[SeedTraining]:
        """Idiomatic: one seed after another (snapshots of one seed); fast: all seeds at once."""
        from backends.jax_native.idiomatic import train_one
        from backends.jax_native.model import JaxPredictor, build_model, optimizer

        orders = [plan.checked_orders(scenario) for plan in plans]  # refuse a wrong plan up front
        x = np.ascontiguousarray(data.x, dtype=np.float32)
        y = np.ascontiguousarray(data.y, dtype=np.int32)  # JAX's default integer width (x64 off)
        stateful = scenario.spec.stateful
        if self._execution == "fast":
            yield from self._train_fast(scenario, x, y, plans, orders, progress, snapshots)
            return
        for plan, order in zip(plans, orders, strict=True):
            model = build_model(scenario, plan.init_seed)
            tx = optimizer(scenario.learning_rate, scenario.options.adam_eps)
            run = train_one(model, tx, scenario, x, y, plan.seed, order, progress, snapshots)
            yield SeedTraining(
                seed=plan.seed, predictor=JaxPredictor(model, stateful), epoch_loss=run.epoch_loss,
                epoch_accuracy=run.epoch_accuracy, timing=run.timing, updates=run.updates,
            )

    def _train_fast(
        self,
        scenario: ResolvedScenario,
        x: np.ndarray,
        y: np.ndarray,
        plans: list[SeedPlan],
        orders: list[np.ndarray],
        progress: ProgressFn,
        snapshots: SnapshotRequest | None,
    ) -> Iterator[SeedTraining]:
        """All plans at once; every seed starts from exactly its idiomatic initialisation."""
        from backends.jax_native.fast import train_stacked
        from backends.jax_native.model import JaxPredictor, build_model

        if not plans:
            return
        models = [build_model(scenario, plan.init_seed, unroll=True) for plan in plans]
        run = train_stacked(scenario, models, x, y, np.stack(orders), progress,
                            seeds=tuple(plan.seed for plan in plans), snapshots=snapshots)
        for row, (plan, model) in enumerate(zip(plans, models, strict=True)):
            yield SeedTraining(
                seed=plan.seed, predictor=JaxPredictor(model, scenario.spec.stateful),
                epoch_loss=[float(v) for v in run.epoch_loss[row]],
                epoch_accuracy=[float(v) for v in run.epoch_accuracy[row]],
                timing=run.timing, updates=run.updates_per_seed,
            )


BACKEND_CLASS = JaxBackend

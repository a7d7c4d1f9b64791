"""Keras 3 on JAX or PyTorch ("keras-jax", "keras-torch"): the same model, trained with `fit`.

Why a module of its own: the TensorFlow backend's idiomatic path feeds `fit` a `tf.data`
pipeline and its fast path is a hand-written XLA program; neither exists on the other Keras
backends. Here both executions are plain `model.fit` on numpy arrays, with the model code of
`backends.keras3.model` (so "keras", "keras-jax" and "keras-torch" build the same model):

- idiomatic: `compile()` with Keras's defaults (`jit_compile="auto"`: XLA on JAX, eager on
  PyTorch; `steps_per_execution=1`), as a user writes it.
- fast: the same `fit`, compiled with `jit_compile=True` and `steps_per_execution` = updates per
  epoch (one dispatch per epoch, no per-step callbacks between updates).
  On PyTorch neither works as such: Keras refuses `steps_per_execution > 1` there, and
  `jit_compile=True` (`torch.compile` of Keras's train step) recompiles every new model (dynamo
  guards on layer ids and names), seconds per seed, until dynamo's recompile limit makes a job's
  remaining seeds silently eager: one job would mix both modes. So keras-torch's fast execution
  is the eager `fit` (FAST_COMPILE), recorded as `jit_compile: False` with `fast_note`.

Sample order: all epochs go to one `fit` as the concatenation of the plan's per-epoch orders
with `steps_per_epoch` = n / batch and `shuffle=False`; Keras keeps one data iterator across
epochs when `steps_per_epoch` is given, so epoch e trains on exactly orders[e]
(tests/backends/keras3/test_portable.py checks it against one `fit` per epoch). Stateful models train
one `fit(epochs=1)` per epoch, then zero the LSTM state, as the TensorFlow backend does.

Keras on PyTorch breaks `backward` of a stateful LSTM on its fast CPU path: the state
variable is updated in place while autograd still needs it (keras-team/keras#20875). Stateful
models there use `use_cudnn=False`, Keras's generic RNN loop, which copies the state first.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

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
from backends.keras3.model import build_model, fit_stateful, import_keras, timed_fit

if TYPE_CHECKING:
    import keras
    import numpy as np

    from scenarios import AlphabetData, ResolvedScenario

# EXECUTIONS (imported from backends.base): these backends implement both.
KERAS_BACKENDS = ("jax", "torch")
# Per Keras backend, how "fast" compiles: (jit_compile, steps_per_execution = one epoch's updates).
FAST_COMPILE: dict[str, tuple[bool, bool]] = {"jax": (True, True), "torch": (False, False)}
FAST_NOTE = {"torch": "eager fit: Keras on torch refuses steps_per_execution > 1, and jit_compile=True "
             "(torch.compile) recompiles per seed (8-22 s) until dynamo's recompile limit turns later "
             "seeds eager"}


# JAX on CPU has no thread-count setting: XLA:CPU sizes its pool to the schedulable cores and
# XLA_FLAGS has no pool-size flag. The model's 32-unit matmuls are too small to be split anyway.
JAX_THREADS_NOTE = "not settable: XLA:CPU sizes its thread pool to the schedulable cores"


def _framework_env(keras_backend: str, config: RuntimeConfig) -> dict[str, str]:
    """Environment the framework reads at import (its device; JAX's GPU determinism flag)."""
    if keras_backend == "jax":
        env = {"JAX_PLATFORMS": "cuda" if config.device == "cuda" else "cpu"}
        if config.device == "cuda" and config.deterministic:
            env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_gpu_deterministic_ops=true".strip()
        return env
    return {"KERAS_TORCH_DEVICE": config.device}


def gpu_count() -> int:
    """GPUs the framework under Keras (KERAS_BACKEND) sees; 0 when none or it cannot say."""
    try:
        if os.environ.get("KERAS_BACKEND") == "jax":
            import jax

            return len([d for d in jax.devices() if d.platform == "gpu"])
        import torch

        return torch.cuda.device_count()
    except Exception:
        return 0


class KerasPortableBackend(Backend):
    """Keras 3 on the backend named by KERAS_BACKEND (jax or torch; `backends.apply_env` sets it)."""

    anytime = False  # opt-in comparison backends: no snapshots (the harness notes the decline)

    def __init__(self) -> None:
        self.keras_backend = os.environ.get("KERAS_BACKEND", "")
        self.name = f"keras-{self.keras_backend}"
        self.execution = "idiomatic"

    def setup(self, config: RuntimeConfig) -> dict:
        """Threads, device and determinism; the environment part only works before the import."""
        check_config(self.name, config, EXECUTIONS)
        if self.keras_backend not in KERAS_BACKENDS:
            raise RuntimeError(
                f"keras-jax/keras-torch need KERAS_BACKEND=jax or torch (got {self.keras_backend!r}) "
                "before Keras is imported: call backends.apply_env(name) before load_backend(name) in "
                "a process that has not imported Keras (as the harness worker does)")
        framework = self.keras_backend
        before_import = framework not in sys.modules and "keras" not in sys.modules
        env = _framework_env(framework, config)
        if before_import:
            os.environ.update(env)
        keras = import_keras()
        if keras.backend.backend() != framework:  # Keras fixes its backend at its first import
            raise RuntimeError(f"{self.name}: this process imported Keras on {keras.backend.backend()!r} "
                               f"already; {self.name} needs a fresh process")
        knobs: dict[str, Any] = {"keras_backend": framework, "execution": config.execution,
                                 "device": config.device, "framework_env": env if before_import else None}
        knobs.update(self._framework_knobs(config))
        jit, per_epoch = FAST_COMPILE[framework] if config.execution == "fast" else ("auto", False)
        knobs.update(jit_compile=jit, steps_per_execution="updates_per_epoch" if per_epoch else 1)
        if config.execution == "fast" and framework in FAST_NOTE:
            knobs["fast_note"] = FAST_NOTE[framework]
        if framework == "torch":
            knobs["stateful_lstm_use_cudnn"] = False  # keras-team/keras#20875, see the module docstring
        self.execution, self.jit_compile, self.per_epoch = config.execution, jit, per_epoch
        return knobs

    def _framework_knobs(self, config: RuntimeConfig) -> dict[str, Any]:
        """Threads and determinism the framework itself reports, and a GPU check for cuda."""
        if self.keras_backend == "jax":
            import jax

            try:  # with JAX_PLATFORMS=cuda and no GPU, JAX fails here
                platform = jax.default_backend()
            except Exception as exc:  # its type is undocumented
                platform = f"none ({type(exc).__name__} {exc})"
            if config.device == "cuda" and platform != "gpu":
                raise RuntimeError(f"--device cuda: JAX sees no GPU (default backend {platform!r}); "
                                   "use --device cpu")
            return {"jax_platform": platform, "jax_devices": len(jax.devices()),
                    "jax_threads": JAX_THREADS_NOTE,  # the persistent compile cache (backends/caches.py)
                    "jax_cache_dir": jax.config.jax_compilation_cache_dir or None}
        import torch

        if config.device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("--device cuda: PyTorch sees no GPU (torch.cuda.is_available() is False); "
                               "use --device cpu")
        torch.set_num_threads(config.threads)
        torch.use_deterministic_algorithms(config.deterministic)
        return {"intra_op_threads": torch.get_num_threads(),
                "deterministic_algorithms": torch.are_deterministic_algorithms_enabled()}

    def versions(self) -> dict[str, str]:
        keras = import_keras()
        out = {"keras": keras.__version__}
        if self.keras_backend == "jax":
            import jax
            import jaxlib

            out.update(jax=jax.__version__, jaxlib=jaxlib.__version__)
        else:
            import torch

            out["torch"] = torch.__version__
        return out

    def train(
        self,
        scenario: ResolvedScenario,
        data: AlphabetData,
        plans: list[SeedPlan],
        progress: ProgressFn,
        snapshots: SnapshotRequest | None = None,
    ) -> Iterator[SeedTraining]:
        """One fresh model per plan, `fit` as configured, yielded as soon as it is trained.
        `snapshots` is ignored: this backend declines them (`anytime = False`)."""
        x, y = data.x, data.one_hot()
        for plan in plans:
            orders = plan.checked_orders(scenario)
            model = self._build(scenario, data, plan.init_seed)
            fit = partial(_fit, model, scenario, x, y, orders)
            yield timed_fit(plan, model, scenario, progress, fit)

    def _build(self, scenario: ResolvedScenario, data: AlphabetData, init_seed: int) -> keras.Model:
        """`model.build_model`, compiled for this execution (and the torch workaround)."""
        compile_options: dict[str, Any] = {}
        if self.execution == "fast":
            compile_options["jit_compile"] = self.jit_compile
            if self.per_epoch:
                compile_options["steps_per_execution"] = scenario.steps_per_epoch
        lstm_options = {}
        if self.keras_backend == "torch" and scenario.spec.stateful:
            lstm_options["use_cudnn"] = False  # keras-team/keras#20875
        return build_model(scenario, data, init_seed, lstm_options, compile_options)


def _fit(model: keras.Model, scenario: ResolvedScenario, x: np.ndarray, y: np.ndarray, orders: np.ndarray,
         log: Any) -> None:
    """Every `fit` call of one seed, each with the epoch callback `log`."""
    n, batch = scenario.n_samples, scenario.batch_size
    if scenario.spec.stateful:
        fit_stateful(model, x, y, orders, log)
    elif n % batch == 0:
        model.fit(x[orders].reshape(-1, *x.shape[1:]), y[orders].reshape(-1, y.shape[-1]),
                  batch_size=batch, epochs=len(orders), steps_per_epoch=scenario.steps_per_epoch,
                  shuffle=False, verbose=0, callbacks=[log])
    else:  # a batch would span two epochs: one fit per epoch keeps them apart
        for order in orders:
            model.fit(x[order], y[order], batch_size=batch, epochs=1, shuffle=False,
                      verbose=0, callbacks=[log])


BACKEND_CLASS = KerasPortableBackend

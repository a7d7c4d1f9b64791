"""Keras 3 (TensorFlow) backend: the tutorial's idiomatic `model.fit` training.

Execution "fast" trains all seeds of a job at once with the same updates: `backends.keras3.fast`
drives the compiled program of `backends.keras3.program`; its seeds are then loaded into
idiomatic models for evaluation.
The model itself (build, predictor, weight names) lives in `backends.keras3.model`, shared
with Keras on JAX and PyTorch (`backends.keras3.portable`).
TensorFlow and Keras are imported lazily, inside methods, so the registry can list
this backend without paying for (or requiring) the import.

Device: `--device cuda` builds and trains each model under `tf.device("/GPU:0")` with
TF32 off (float32 matmuls, as on CPU). No timing lap ends before the GPU has done the work:
`fit`'s epoch callback turns the epoch's loss into a Python float (a host sync) first, and
the fast program's outputs are fetched (`.numpy()`) first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

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
from backends.caches import cache_knobs
from backends.keras3 import fast
from backends.keras3.model import KerasPredictor, build_model, fit_stateful, timed_fit

if TYPE_CHECKING:
    import keras

    from scenarios import AlphabetData, ResolvedScenario

# EXECUTIONS (imported from backends.base): this backend implements both.


def _import() -> tuple[Any, Any]:
    """Import (tensorflow, keras) with quiet logs and the TensorFlow Keras backend.

    The Python "tensorflow" logger is set to ERROR too: every seed builds a new model,
    whose first `fit`/`predict_on_batch` traces anew, and TensorFlow would warn about
    "excessive retracing" once per seed after the fifth.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"the keras backend needs KERAS_BACKEND=tensorflow, got {keras.backend.backend()!r}"
        )
    tf.get_logger().setLevel("ERROR")
    return tf, keras


def gpu_count() -> int:
    """GPUs TensorFlow sees (0 when it cannot be asked): lets callers offer --device cuda."""
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    except Exception:
        return 0


class KerasBackend(Backend):
    """Keras 3 on TensorFlow, trained with `model.fit` as the tutorial does."""

    name = "keras"
    anytime = True
    execution = "idiomatic"
    device = "cpu"

    def _device_scope(self) -> Any:
        """Where models are built and trained: the configured device, explicitly."""
        tf, _ = _import()
        return tf.device("/GPU:0" if self.device == "cuda" else "/CPU:0")

    def setup(self, config: RuntimeConfig) -> dict:
        """Set threads and determinism; must run before TensorFlow creates its context.

        Thread counts cannot change once TensorFlow has run an op (setting the same
        value again is fine), so a second call with other threads raises RuntimeError.
        """
        check_config("keras", config, EXECUTIONS)
        tf, keras = _import()
        if config.device == "cuda" and not tf.config.list_physical_devices("GPU"):
            raise RuntimeError(
                "--device cuda: TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is "
                f"empty; tensorflow {tf.__version__}, built with CUDA: {tf.test.is_built_with_cuda()}); "
                "use --device cpu"
            )
        self.execution, self.device = config.execution, config.device
        threading = tf.config.threading
        threading.set_intra_op_parallelism_threads(config.threads)
        threading.set_inter_op_parallelism_threads(1)
        if config.deterministic:
            tf.config.experimental.enable_op_determinism()
        knobs = {
            "keras_backend": keras.backend.backend(),
            "tf_cpp_min_log_level": os.environ["TF_CPP_MIN_LOG_LEVEL"],
            "tf_python_log_level": "ERROR",
            "intra_op_threads": threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": threading.get_inter_op_parallelism_threads(),
            "op_determinism": bool(config.deterministic),
            "execution": config.execution,
            "device": config.device,
            "xla_cache_dir": cache_knobs()["xla_cache_dir"],  # XLA's persistent cache (backends/caches.py)
        }
        if config.device == "cuda":  # float32 matmuls on the GPU too, as on the CPU
            tf.config.experimental.enable_tensor_float_32_execution(False)
            knobs["tf32"] = tf.config.experimental.tensor_float_32_execution_enabled()
        if config.execution == "fast":
            knobs.update(fast_path=fast.FAST_PATH, jit_compile=fast.JIT_COMPILE)
        return knobs

    def versions(self) -> dict[str, str]:
        tf, keras = _import()
        return {"keras": keras.__version__, "tensorflow": tf.__version__}

    def train(
        self,
        scenario: ResolvedScenario,
        data: AlphabetData,
        plans: list[SeedPlan],
        progress: ProgressFn,
        snapshots: SnapshotRequest | None = None,
    ) -> Iterator[SeedTraining]:
        """Train one fresh model per plan, yielding each seed as soon as it is done.

        Execution "fast" trains all plans together and yields them together at the end.
        `snapshots` get one seed per call (idiomatic) or all plans stacked (fast).
        """
        if self.execution == "fast":
            yield from self._train_fast(scenario, data, plans, progress, snapshots)
            return
        x, y = data.x, data.one_hot()
        for plan in plans:
            orders = plan.checked_orders(scenario)
            with self._device_scope():  # entered per seed, never held across a yield
                model = self._build(scenario, data, plan.init_seed)
                if scenario.spec.stateful:
                    fit = partial(fit_stateful, model, x, y, orders)
                else:
                    fit = self._fit_stateless(model, x, y, orders, scenario)
                trained = timed_fit(plan, model, scenario, progress, fit, snapshots)
            yield trained

    def _train_fast(
        self,
        scenario: ResolvedScenario,
        data: AlphabetData,
        plans: list[SeedPlan],
        progress: ProgressFn,
        snapshots: SnapshotRequest | None = None,
    ) -> Iterator[SeedTraining]:
        """All plans in one batched program, starting from the idiomatic models' weights.

        Each seed's model is built (and seeded) exactly as the idiomatic path builds it;
        its initial weights and Adam hyper-parameters feed the program, and the trained
        weights go back into it, so evaluation runs the same `KerasPredictor` code.
        """
        if not plans:
            return
        for plan in plans:  # refuse a wrong plan before building anything
            plan.checked_orders(scenario)
        with self._device_scope():  # all seeds finish together: train them all, then yield
            predictors = [
                KerasPredictor(self._build(scenario, data, plan.init_seed), scenario.spec.stateful)
                for plan in plans
            ]
            trained = list(fast.train_plans(scenario, data, plans, predictors, progress, snapshots))
        yield from trained

    @staticmethod
    def _build(scenario: ResolvedScenario, data: AlphabetData, init_seed: int) -> keras.Model:
        """The tutorial's LSTM -> Dense(softmax) model (`model.build_model`), on TensorFlow."""
        _import()  # refuses any Keras backend but TensorFlow
        return build_model(scenario, data, init_seed)

    @staticmethod
    def _fit_stateless(
        model: keras.Model,
        x: np.ndarray,
        y: np.ndarray,
        orders: np.ndarray,
        scenario: ResolvedScenario,
    ) -> Callable[[Any], None]:
        """All epochs in one `fit` over a dataset that already holds every epoch's order.

        Each epoch's rows are batched on their own, so a batch never spans two epochs
        even when the batch size does not divide the sample count. Keras keeps one
        iterator across epochs when `steps_per_epoch` is given, so epoch e sees orders[e].
        The dataset is built here, before the clock starts; the returned call runs `fit`.
        """
        tf, _ = _import()
        batch = scenario.batch_size
        ds = tf.data.Dataset.from_tensor_slices((x[orders], y[orders])).flat_map(
            lambda ex, ey: tf.data.Dataset.from_tensor_slices((ex, ey)).batch(batch)
        )

        def fit(log: Any) -> None:
            model.fit(ds, epochs=scenario.epochs, steps_per_epoch=scenario.steps_per_epoch,
                      shuffle=False, verbose=0, callbacks=[log])

        return fit


BACKEND_CLASS = KerasBackend

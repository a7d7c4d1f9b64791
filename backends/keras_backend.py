"""Keras 3 (TensorFlow) backend: the tutorial's idiomatic `model.fit` training.

Execution "fast" trains all seeds of a job in one compiled program (`backends.keras_fast`)
with the same updates; its seeds are then loaded into idiomatic models for evaluation.
TensorFlow and Keras are imported lazily, inside methods, so the registry can list
this backend without paying for (or requiring) the import.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from backends import keras_fast
from backends.base import Backend, ProgressFn, RuntimeConfig, SeedPlan, SeedTraining

if TYPE_CHECKING:
    import keras

    from scenarios import AlphabetData, ResolvedScenario

# Execution modes this backend implements; anything else must not be silently mislabelled.
EXECUTIONS = ("idiomatic", "fast")


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


def _epoch_logger(progress: ProgressFn, updates_per_epoch: int) -> Any:
    """A Keras callback recording loss, accuracy and a clock stamp at every epoch end."""
    _, keras = _import()

    class EpochLog(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.start = 0.0  # set by the caller right before training starts
            self.loss: list[float] = []
            self.accuracy: list[float] = []
            self.stamps: list[float] = []

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.stamps.append(time.perf_counter())
            logs = logs or {}
            self.loss.append(float(logs["loss"]))
            self.accuracy.append(float(logs["accuracy"]))
            progress(updates_per_epoch)

    return EpochLog()


class KerasPredictor:
    """A trained Keras model seen through `backends.base.Predictor`.

    Uses `predict_on_batch` (one traced function, ~1 ms a call): `model.predict`
    builds a data pipeline per call and an eager `model(x)` runs the LSTM op by op,
    both ~10-20 ms, which would dominate the per-letter probes.
    """

    def __init__(self, model: keras.Model, stateful: bool) -> None:
        self.model = model
        self.stateful = stateful

    def _call(self, x: np.ndarray) -> np.ndarray:
        out = self.model.predict_on_batch(np.asarray(x, dtype=np.float32))
        return np.asarray(out, dtype=np.float64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        if not self.stateful:
            return self._call(x)
        # The stateful model has a fixed batch of 1: run each sample from a zero state,
        # and leave the state zeroed so a later `step` sequence starts clean.
        rows = []
        for sample in np.asarray(x, dtype=np.float32):
            self.reset_state()
            rows.append(self._call(sample[None])[0])
        self.reset_state()
        return np.stack(rows)

    def reset_state(self) -> None:
        if self.stateful:
            self.model.layers[0].reset_state()

    def step(self, x: np.ndarray) -> np.ndarray:
        return self._call(x)[0]

    def weights(self) -> dict[str, np.ndarray]:
        """Trainable parameters as {"lstm/kernel": array, ...}, Keras layout."""
        return {name: np.asarray(var.numpy()) for name, var in _named_variables(self.model).items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load parameters by `weights()` name: how a fast-trained seed becomes a Keras model."""
        variables = _named_variables(self.model)
        if set(variables) != set(weights):
            raise ValueError(f"weight names {sorted(weights)} != model's {sorted(variables)}")
        for name, var in variables.items():
            var.assign(np.asarray(weights[name], dtype=np.float32))


def _named_variables(model: keras.Model) -> dict[str, Any]:
    """Trainable variables keyed "<layer type>/<name>", stable across models (no "lstm_3")."""
    return {
        f"{type(layer).__name__.lower()}/{var.name}": var
        for layer in model.layers
        for var in layer.trainable_weights
    }


class KerasBackend(Backend):
    """Keras 3 on TensorFlow, trained with `model.fit` as the tutorial does."""

    name = "keras"
    execution = "idiomatic"

    def setup(self, config: RuntimeConfig) -> dict:
        """Set threads and determinism; must run before TensorFlow creates its context.

        Thread counts cannot change once TensorFlow has run an op (setting the same
        value again is fine), so a second call with other threads raises RuntimeError.
        """
        if config.execution not in EXECUTIONS:
            raise ValueError(
                f"keras backend: unsupported execution {config.execution!r}; "
                f"valid choices: {', '.join(EXECUTIONS)}"
            )
        tf, keras = _import()
        self.execution = config.execution
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
        }
        if config.execution == "fast":
            knobs.update(fast_path=keras_fast.FAST_PATH, jit_compile=keras_fast.JIT_COMPILE)
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
    ) -> Iterator[SeedTraining]:
        """Train one fresh model per plan, yielding each seed as soon as it is done.

        Execution "fast" trains all plans together and yields them together at the end.
        """
        if self.execution == "fast":
            yield from self._train_fast(scenario, data, plans, progress)
            return
        x, y = data.x, data.one_hot()
        for plan in plans:
            orders = _checked_orders(plan, scenario, data)
            model = self._build(scenario, data, plan.init_seed)
            if scenario.spec.stateful:
                log, seconds = self._fit_stateful(model, x, y, orders, progress)
            else:
                log, seconds = self._fit_stateless(model, x, y, orders, scenario, progress)
            yield SeedTraining(
                seed=plan.seed,
                predictor=KerasPredictor(model, scenario.spec.stateful),
                epoch_loss=log.loss,
                epoch_accuracy=log.accuracy,
                train_seconds=seconds,
                first_epoch_seconds=log.stamps[0] - log.start if log.stamps else 0.0,
                updates=int(model.optimizer.iterations),
                extra={},
            )

    def _train_fast(
        self,
        scenario: ResolvedScenario,
        data: AlphabetData,
        plans: list[SeedPlan],
        progress: ProgressFn,
    ) -> Iterator[SeedTraining]:
        """All plans in one batched program, starting from the idiomatic models' weights.

        Each seed's model is built (and seeded) exactly as the idiomatic path builds it;
        its initial weights and Adam hyper-parameters feed the program, and the trained
        weights go back into it, so evaluation runs the same `KerasPredictor` code.
        """
        if not plans:
            return
        orders = [_checked_orders(plan, scenario, data) for plan in plans]
        stateful = scenario.spec.stateful
        predictors = [
            KerasPredictor(self._build(scenario, data, plan.init_seed), stateful) for plan in plans
        ]
        yield from keras_fast.train_plans(
            plans, orders, predictors, data.x, data.one_hot(),
            batch=scenario.spec.batch_size or data.n_samples, stateful=stateful, progress=progress,
        )

    @staticmethod
    def _build(scenario: ResolvedScenario, data: AlphabetData, init_seed: int) -> keras.Model:
        """The tutorial's LSTM -> Dense(softmax) model, seeded and compiled."""
        from backends.initializers import initial_weights

        _, keras = _import()
        spec = scenario.spec
        keras.utils.set_random_seed(init_seed)
        shape = (spec.timesteps, spec.features)
        model = keras.Sequential(
            [
                keras.Input(batch_shape=(1, *shape)) if spec.stateful else keras.Input(shape),
                keras.layers.LSTM(spec.units, stateful=spec.stateful),
                keras.layers.Dense(data.n_classes, activation="softmax"),
            ]
        )
        model.compile(
            loss="categorical_crossentropy",
            optimizer=keras.optimizers.Adam(learning_rate=spec.learning_rate),
            metrics=["accuracy"],
        )
        override = initial_weights(scenario.options.init, "keras", spec.features, spec.units,
                                   data.n_classes, init_seed)
        if override is not None:  # the init ablation: another framework's defaults
            for name, var in _named_variables(model).items():
                var.assign(override[name])
        return model

    @staticmethod
    def _fit_stateless(
        model: keras.Model,
        x: np.ndarray,
        y: np.ndarray,
        orders: np.ndarray,
        scenario: ResolvedScenario,
        progress: ProgressFn,
    ) -> tuple[Any, float]:
        """All epochs in one `fit` over a dataset that already holds every epoch's order.

        Each epoch's rows are batched on their own, so a batch never spans two epochs
        even when the batch size does not divide the sample count. Keras keeps one
        iterator across epochs when `steps_per_epoch` is given, so epoch e sees orders[e].
        """
        tf, _ = _import()
        n = x.shape[0]
        batch = scenario.spec.batch_size or n
        steps = math.ceil(n / batch)
        ds = tf.data.Dataset.from_tensor_slices((x[orders], y[orders])).flat_map(
            lambda ex, ey: tf.data.Dataset.from_tensor_slices((ex, ey)).batch(batch)
        )
        log = _epoch_logger(progress, steps)
        log.start = time.perf_counter()
        model.fit(
            ds,
            epochs=scenario.epochs,
            steps_per_epoch=steps,
            shuffle=False,
            verbose=0,
            callbacks=[log],
        )
        return log, time.perf_counter() - log.start

    @staticmethod
    def _fit_stateful(
        model: keras.Model,
        x: np.ndarray,
        y: np.ndarray,
        orders: np.ndarray,
        progress: ProgressFn,
    ) -> tuple[Any, float]:
        """The tutorial's loop: one unshuffled `fit` epoch, then zero the LSTM state.

        The harness gives the identity order here; indexing by it keeps the plan binding.
        """
        log = _epoch_logger(progress, x.shape[0])
        lstm = model.layers[0]  # Sequential.layers excludes the Input
        log.start = time.perf_counter()
        for order in orders:
            xe, ye = x[order], y[order]
            model.fit(xe, ye, epochs=1, batch_size=1, shuffle=False, verbose=0, callbacks=[log])
            lstm.reset_state()
        return log, time.perf_counter() - log.start


def _checked_orders(plan: SeedPlan, scenario: ResolvedScenario, data: AlphabetData) -> np.ndarray:
    """The plan's (epochs, n_samples) orders, refusing any other shape."""
    orders = np.asarray(plan.orders, dtype=np.int64)
    if orders.shape != (scenario.epochs, data.n_samples):
        raise ValueError(
            f"plan {plan.seed}: orders shape {orders.shape} != {(scenario.epochs, data.n_samples)}"
        )
    return orders


BACKEND_CLASS = KerasBackend

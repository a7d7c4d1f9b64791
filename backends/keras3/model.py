"""The Keras model code every Keras backend shares (TensorFlow, JAX, PyTorch).

Why one module: "keras", "keras-jax" and "keras-torch" must train the same model, built,
seeded, initialised and evaluated by the same lines, so a difference between them is the
framework under Keras and never the model code. Nothing here imports TensorFlow; Keras is
imported lazily, after the backend has set KERAS_BACKEND and its thread knobs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from backends.base import ProgressFn, SeedPlan, SeedTraining, SnapshotRequest
from backends.keras3.snapshot import take_snapshot
from backends.timing import Stopwatch

if TYPE_CHECKING:
    import keras

    from scenarios import AlphabetData, ResolvedScenario


def import_keras() -> Any:
    """Import keras with TensorFlow's C++ logs quiet (set_random_seed imports TF where installed)."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras

    return keras


def hard_sigmoid_2017(x: Any) -> Any:
    """Keras 2's hard_sigmoid, clip(0.2 x + 0.5, 0, 1): the 2017 tutorial's LSTM gate activation.

    Keras 3's built-in "hard_sigmoid" is relu6(x + 3) / 6, a different function, so it is
    written out here with `keras.ops` (works on every Keras backend).
    """
    from keras import ops

    return ops.clip(ops.add(ops.multiply(x, 0.2), 0.5), 0.0, 1.0)


def gate_activation(name: str) -> Any:
    """The LSTM `recurrent_activation` (gates i, f, o) for a `ScenarioOptions.gate_activation`."""
    if name == "sigmoid":
        return "sigmoid"  # Keras's default, as a string: the model is exactly the usual one
    if name == "hard_sigmoid_2017":
        return hard_sigmoid_2017
    raise ValueError(f"unknown gate activation {name!r}")


def gate_name(model: keras.Model) -> str:
    """The `gate_activation` name of a built model's LSTM gates (what the fast path checks)."""
    fn = model.layers[0].cell.recurrent_activation
    return "hard_sigmoid_2017" if fn is hard_sigmoid_2017 else getattr(fn, "__name__", repr(fn))


def epoch_logger(stopwatch: Stopwatch, updates_per_epoch: int,
                 after_lap: Callable[[int], None] | None = None) -> Any:
    """A Keras callback recording loss and accuracy at every epoch end, and ending a lap there.

    The lap comes after the logs are converted to Python floats: that conversion waits for
    the epoch's last update on the device, so a lap never ends before the work it times.
    `after_lap(epochs done)` follows the lap (a snapshot); epochs are counted over every `fit`
    call the callback is passed to, as the stateful loop calls `fit` once per epoch.
    """
    keras = import_keras()

    class EpochLog(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.loss: list[float] = []
            self.accuracy: list[float] = []

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            self.loss.append(float(logs["loss"]))  # host sync
            self.accuracy.append(float(logs["accuracy"]))
            stopwatch.lap(updates_per_epoch)
            if after_lap is not None:
                after_lap(len(self.loss))

    return EpochLog()


class KerasPredictor:
    """A trained Keras model seen through `backends.base.Predictor`.

    Uses `predict_on_batch` (one traced function): `model.predict` builds a data pipeline
    per call and an eager `model(x)` runs the LSTM op by op, each an order of magnitude
    slower, which would dominate the per-letter probes.
    """

    def __init__(self, model: keras.Model, stateful: bool,
                 weights: dict[str, np.ndarray] | None = None, holder: list | None = None) -> None:
        self.model = model
        self.stateful = stateful
        self._own = weights  # set: this predictor shares `model`, and loads these before each use
        self._holder = [self] if holder is None else holder  # [the predictor whose weights it holds]

    def sharing(self, weights: dict[str, np.ndarray]) -> KerasPredictor:
        """A predictor of `weights` that runs on this predictor's model, loading them whenever
        another predictor of the model was used last. Why: each new model traces its own
        `predict_on_batch` function (~0.13 s here), so evaluating a fast job's S seeds on one model
        saves S - 1 traces; the graph is the same, so the predictions are too."""
        if self._own is None:  # from now on this one shares the model too: keep its weights
            self._own = self.weights()
        return KerasPredictor(self.model, self.stateful, weights, self._holder)

    def _call(self, x: np.ndarray) -> np.ndarray:
        self._load()
        out = self.model.predict_on_batch(np.asarray(x, dtype=np.float32))
        return np.asarray(out, dtype=np.float64)

    def _load(self) -> None:
        if self._own is not None and self._holder[0] is not self:
            self.set_weights(self._own)
            if self.stateful:
                self.model.layers[0].reset_state()

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
            self._load()
            self.model.layers[0].reset_state()

    def step(self, x: np.ndarray) -> np.ndarray:
        return self._call(x)[0]

    def weights(self) -> dict[str, np.ndarray]:
        """Trainable parameters as {"lstm/kernel": array, ...}, Keras layout."""
        self._load()
        return {name: np.asarray(var.numpy()) for name, var in named_variables(self.model).items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load parameters by `weights()` name: how a fast-trained seed becomes a Keras model."""
        variables = named_variables(self.model)
        if set(variables) != set(weights):
            raise ValueError(f"weight names {sorted(weights)} != model's {sorted(variables)}")
        for name, var in variables.items():
            var.assign(np.asarray(weights[name], dtype=np.float32))
        self._holder[0] = self
        if self._own is not None:
            self._own = {name: np.asarray(weights[name], dtype=np.float32) for name in variables}


def named_variables(model: keras.Model) -> dict[str, Any]:
    """Trainable variables keyed "<layer type>/<name>", stable across models (no "lstm_3")
    and across Keras backends (TensorFlow, JAX and PyTorch all name them "kernel", ...)."""
    return {
        f"{type(layer).__name__.lower()}/{var.name}": var
        for layer in model.layers
        for var in layer.trainable_weights
    }


def build_model(
    scenario: ResolvedScenario,
    data: AlphabetData,
    init_seed: int,
    lstm_options: dict[str, Any] | None = None,
    compile_options: dict[str, Any] | None = None,
) -> keras.Model:
    """The tutorial's LSTM -> Dense(softmax) model, seeded, compiled and initialised.

    `lstm_options`/`compile_options` carry what a Keras backend must add (a workaround, or
    the fast execution's `jit_compile`/`steps_per_execution`); the TensorFlow backend's
    idiomatic model passes none, so it is the plain tutorial model.
    """
    from backends.initializers import initial_weights

    keras = import_keras()
    spec, options = scenario.spec, scenario.options
    keras.utils.set_random_seed(init_seed)
    shape = (spec.timesteps, spec.features)
    lstm_kwargs = dict(lstm_options or {})
    if options.gate_activation != "sigmoid":  # default models keep Keras's own default argument
        lstm_kwargs["recurrent_activation"] = gate_activation(options.gate_activation)
    model = keras.Sequential(
        [
            keras.Input(batch_shape=(1, *shape)) if spec.stateful else keras.Input(shape),
            keras.layers.LSTM(scenario.units, stateful=spec.stateful, **lstm_kwargs),
            keras.layers.Dense(data.n_classes, activation="softmax"),
        ]
    )
    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=scenario.learning_rate,
                                        epsilon=options.adam_epsilon("keras")),
        metrics=["accuracy"],
        **(compile_options or {}),
    )
    override = initial_weights(options.init, "keras", spec.features, scenario.units, data.n_classes,
                               init_seed)
    if override is not None:  # the init ablation: another framework's defaults
        for name, var in named_variables(model).items():
            var.assign(override[name])
    return model


def fit_stateful(model: keras.Model, x: np.ndarray, y: np.ndarray, orders: np.ndarray, log: Any) -> None:
    """The tutorial's loop: one unshuffled `fit` epoch at batch 1, then zero the LSTM state.

    The harness gives the identity order here; indexing by it keeps the plan binding.
    """
    lstm = model.layers[0]  # Sequential.layers excludes the Input
    for order in orders:
        model.fit(x[order], y[order], epochs=1, batch_size=1, shuffle=False, verbose=0, callbacks=[log])
        lstm.reset_state()


def timed_fit(plan: SeedPlan, model: keras.Model, scenario: ResolvedScenario, progress: ProgressFn,
              fit: Callable[[Any], None], snapshots: SnapshotRequest | None = None) -> SeedTraining:
    """Train one seed by `fit(callback)` (every `model.fit` call of the seed, each passed that
    callback) under a `Stopwatch`, and hand it back: how every Keras `fit` path is timed.
    `snapshots` are taken after their epochs' laps, outside every timing figure."""
    stopwatch = Stopwatch(progress)  # the callback's float(loss) is the host sync
    after_lap = None if snapshots is None else partial(
        take_snapshot, snapshots, stopwatch, seeds=(plan.seed,), read=partial(_one_seed_stacked, model))
    log = epoch_logger(stopwatch, scenario.steps_per_epoch, after_lap)
    stopwatch.start()
    fit(log)
    return SeedTraining(
        seed=plan.seed,
        predictor=KerasPredictor(model, scenario.spec.stateful),
        epoch_loss=log.loss,
        epoch_accuracy=log.accuracy,
        timing=stopwatch.stop(),
        updates=int(np.asarray(model.optimizer.iterations)),
    )


def _one_seed_stacked(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's weights with a seed axis of one: a snapshot of the idiomatic path's one seed."""
    return {name: np.asarray(var.numpy())[None] for name, var in named_variables(model).items()}

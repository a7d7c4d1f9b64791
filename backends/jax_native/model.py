"""The jax backend's model, loss, optimizer and predictor: what both executions share.

Why one module: "idiomatic" trains the NNX module in place and "fast" trains the same module's
parameters inside one compiled program (`nnx.split`/`nnx.merge`), so the forward pass, the loss
and the Optax transformation are these lines in both, and their results differ only in float
summation order. The model is what a Flax user writes: `nnx.RNN(nnx.OptimizedLSTMCell)` then
`nnx.Linear`. Its parameters are in Keras's layout already (kernels (in, out), gates i, f, g, o,
one LSTM bias: `OptimizedLSTMCell` keeps a bias on the recurrent kernel only), so weight
transfer, the init ablation and snapshots are transposes at most.

JAX, Flax and Optax are imported inside functions, after `JaxBackend.setup` has set the
environment they read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from backends.initializers import keras_style, torch_style
from backends.weights import torch_to_keras
from scenarios import GATE_ACTIVATIONS, INITS

if TYPE_CHECKING:
    import optax
    from flax import nnx

    from scenarios import ResolvedScenario

# Keras name -> the NNX parameter holding that very array (same shape, same layout). The
# predictor's weights() use the Keras names, so backends.weights maps them as it maps Keras's.
NNX_PATHS: dict[str, str] = {
    "lstm/kernel": "lstm.cell.dense_i.kernel",
    "lstm/recurrent_kernel": "lstm.cell.dense_h.kernel",
    "lstm/bias": "lstm.cell.dense_h.bias",
    "dense/kernel": "head.kernel",
    "dense/bias": "head.bias",
}
# Keras name -> its name in the framework-free snapshot layout (backends.base.SNAPSHOT_SHAPES).
SNAPSHOT_NAMES: dict[str, str] = {
    "lstm/kernel": "w_ih", "lstm/recurrent_kernel": "w_hh", "lstm/bias": "b",
    "dense/kernel": "w_out", "dense/bias": "b_out",
}
Carry = tuple[Any, Any]  # the LSTM cell's (c, h), each (batch, units), as OptimizedLSTMCell orders it


def hard_sigmoid_2017(x: Any) -> Any:
    """Keras 2's hard_sigmoid, clip(0.2 x + 0.5, 0, 1); `jax.nn.hard_sigmoid` is relu6(x + 3) / 6."""
    import jax.numpy as jnp

    return jnp.clip(0.2 * x + 0.5, 0.0, 1.0)


def gate_function(name: str) -> Callable[[Any], Any]:
    """The activation of the i, f, o gates (OptimizedLSTMCell's `gate_fn`)."""
    import jax

    if name == "sigmoid":
        return jax.nn.sigmoid  # the cell's own default
    if name == "hard_sigmoid_2017":
        return hard_sigmoid_2017
    raise ValueError(f"unknown gate activation {name!r}; valid choices: {', '.join(GATE_ACTIVATIONS)}")


@cache
def model_class() -> type[nnx.Module]:
    """The alphabet model's class, defined on first use so Flax is imported lazily."""
    from flax import nnx

    class AlphabetLSTM(nnx.Module):
        """LSTM + dense head; logits of the last time step (softmax lives in the loss).

        The carry goes in and out explicitly, zeros for a fresh state: the stateful scenario
        carries it between updates, the others start every batch from zeros.
        """

        def __init__(self, features: int, units: int, classes: int, gate: str, rngs: nnx.Rngs,
                     unroll: bool = False) -> None:
            cell = nnx.OptimizedLSTMCell(features, units, gate_fn=gate_function(gate), rngs=rngs)
            # rngs=False: no carry RNG state; unroll: the time loop as straight-line code (or a loop)
            self.lstm = nnx.RNN(cell, return_carry=True, unroll=True if unroll else 1, rngs=False)
            self.head = nnx.Linear(units, classes, rngs=rngs)

        def __call__(self, x: Any, carry: Carry) -> tuple[Any, Carry]:
            carry, _ = self.lstm(x, initial_carry=carry)
            return self.head(carry[1]), carry

    return AlphabetLSTM


def zero_carry(batch: int, units: int) -> Carry:
    return np.zeros((batch, units), np.float32), np.zeros((batch, units), np.float32)


def keras_layout_init(init: str, features: int, units: int, classes: int, seed: int) -> dict | None:
    """The init ablation's weights by Keras name (this model's layout), None for Flax's own
    defaults (`native`: lecun-normal input kernels, orthogonal recurrent kernel, zero biases)."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; valid choices: {', '.join(INITS)}")
    if init == "keras":
        return keras_style(features, units, classes, seed)
    if init == "torch":  # PyTorch's two LSTM biases summed into the one this model has, as Keras does
        return torch_to_keras(torch_style(features, units, classes, seed))
    return None


def build_model(scenario: ResolvedScenario, init_seed: int, unroll: bool = False) -> nnx.Module:
    """A freshly initialised model: Flax's initialisers drawn from `nnx.Rngs(init_seed)`, or the
    `init` option's framework defaults loaded over them. `unroll` (the fast program's) changes how
    XLA runs the time steps, not what they compute: `nnx.RNN`'s default, a loop, is idiomatic's."""
    from flax import nnx

    spec = scenario.spec
    model = model_class()(spec.features, scenario.units, scenario.n_classes,
                          scenario.options.gate_activation, nnx.Rngs(init_seed), unroll)
    override = keras_layout_init(scenario.options.init, spec.features, scenario.units,
                                 scenario.n_classes, init_seed)
    if override is not None:
        set_weights(model, override)
    return model


def parameters(model: nnx.Module) -> dict[str, nnx.Param]:
    """The model's parameters by Keras name (NNX_PATHS says which attribute each is)."""
    cell = model.lstm.cell
    return {"lstm/kernel": cell.dense_i.kernel, "lstm/recurrent_kernel": cell.dense_h.kernel,
            "lstm/bias": cell.dense_h.bias, "dense/kernel": model.head.kernel, "dense/bias": model.head.bias}


def get_weights(model: nnx.Module) -> dict[str, np.ndarray]:
    return {name: np.array(p.get_value(), dtype=np.float32) for name, p in parameters(model).items()}


def set_weights(model: nnx.Module, weights: dict[str, np.ndarray]) -> None:
    """Load float32 copies by parameter name, refusing missing or extra names and other shapes."""
    import jax.numpy as jnp

    params = parameters(model)
    if set(weights) != set(params):
        raise ValueError(f"weight names {sorted(weights)} != model's {sorted(params)}")
    for name, param in params.items():
        value = np.asarray(weights[name], dtype=np.float32)
        if value.shape != param.get_value().shape:
            raise ValueError(f"{name}: shape {value.shape}, expected {param.get_value().shape}")
        param.set_value(jnp.asarray(value))


def snapshot_weights(stacked: dict[str, Any]) -> dict[str, np.ndarray]:
    """Parameters stacked on a seed axis (Keras names) -> the snapshot layout: kernels
    (S, in, out) come back (S, out, in), as float32 copies the caller may keep."""
    out = {}
    for name, key in SNAPSHOT_NAMES.items():
        w = np.asarray(stacked[name])
        w = np.swapaxes(w, 1, 2) if w.ndim == 3 else w
        out[key] = np.array(w, dtype=np.float32, order="C", copy=True)
    return out


def optimizer(learning_rate: float, adam_eps: float | None) -> optax.GradientTransformation:
    """Adam as an Optax user writes it: `optax.adam(lr)`, with eps only when the run sets one
    (`ScenarioOptions.adam_eps`; else Optax's default, 1e-8, NATIVE_ADAM_EPS["jax"]). The betas
    are Optax's defaults, backends.base.ADAM_BETAS. Optax adds eps to sqrt(v̂), after the bias
    correction, as PyTorch does (Keras adds it before).
    """
    import optax

    if adam_eps is None:
        return optax.adam(learning_rate)
    return optax.adam(learning_rate, eps=adam_eps)


def batch_loss(model: nnx.Module, xb: Any, yb: Any, carry: Carry) -> tuple[Any, tuple[Any, Carry]]:
    """Mean cross-entropy of the batch, with the logits (pre-update predictions) and the new carry."""
    import optax

    logits, carry = model(xb, carry)
    return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), (logits, carry)


@cache
def _forward() -> Callable[..., tuple[Any, Carry]]:
    from flax import nnx

    @nnx.jit
    def forward(model: nnx.Module, x: Any, carry: Carry) -> tuple[Any, Carry]:
        import jax

        logits, carry = model(x, carry)
        return jax.nn.softmax(logits), carry

    return forward


class JaxPredictor:
    """A trained model behind `backends.base.Predictor`; the stateful one carries (c, h) in `step`."""

    def __init__(self, model: nnx.Module, stateful: bool) -> None:
        self.model, self._stateful = model, stateful
        self._units = model.head.in_features
        self._carry: Carry | None = None

    def _run(self, x: np.ndarray, carry_on: bool) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        carry = self._carry if carry_on and self._carry is not None else zero_carry(len(x), self._units)
        probs, carry = _forward()(self.model, x, carry)
        if carry_on:
            self._carry = carry
        return np.asarray(probs)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, carry_on=False)

    def reset_state(self) -> None:
        self._carry = None

    def step(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, carry_on=self._stateful)[0]

    def weights(self) -> dict[str, np.ndarray]:
        """Parameters by Keras name: Flax's arrays are in Keras's layout (NNX_PATHS: which is which)."""
        return get_weights(self.model)

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        set_weights(self.model, weights)
        self._carry = None

"""Each framework's default LSTM initialisation, written in numpy, for the `init` ablation.

`init=keras` gives a PyTorch model Keras's defaults and `init=torch` gives a Keras model
PyTorch's, so a Keras–PyTorch accuracy gap can be split into "defaults" and "framework".
Drawn from the seed's init stream; no framework is imported here.
"""

from __future__ import annotations

import numpy as np

from backends.weights import keras_to_torch, torch_to_keras
from scenarios.spec import INITS


def _glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def _orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Keras's Orthogonal: QR of a normal matrix, signs fixed by R's diagonal."""
    flat = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    return q.T if rows < cols else q


def keras_style(features: int, units: int, classes: int, seed: int) -> dict[str, np.ndarray]:
    """Keras defaults, Keras layout: glorot-uniform kernels, orthogonal recurrent kernel,
    zero bias with the forget gate's at 1 (unit_forget_bias), zero dense bias."""
    rng = np.random.default_rng(seed)
    bias = np.zeros(4 * units)
    bias[units : 2 * units] = 1.0
    weights = {
        "lstm/kernel": _glorot_uniform(rng, features, 4 * units),
        "lstm/recurrent_kernel": _orthogonal(rng, units, 4 * units),
        "lstm/bias": bias,
        "dense/kernel": _glorot_uniform(rng, units, classes),
        "dense/bias": np.zeros(classes),
    }
    return {name: value.astype(np.float32) for name, value in weights.items()}


def torch_style(features: int, units: int, classes: int, seed: int) -> dict[str, np.ndarray]:
    """PyTorch defaults, PyTorch layout: every LSTM tensor (two biases) U(±1/√units), the
    Linear layer's weight and bias U(±1/√units) (kaiming-uniform with a=√5 reduces to that)."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(units)
    shapes = {
        "lstm.weight_ih_l0": (4 * units, features),
        "lstm.weight_hh_l0": (4 * units, units),
        "lstm.bias_ih_l0": (4 * units,),
        "lstm.bias_hh_l0": (4 * units,),
        "head.weight": (classes, units),
        "head.bias": (classes,),
    }
    return {name: rng.uniform(-bound, bound, size=shape).astype(np.float32) for name, shape in shapes.items()}


def initial_weights(init: str, layout: str, features: int, units: int, classes: int,
                    seed: int) -> dict[str, np.ndarray] | None:
    """Weights to load right after building a `layout` ("keras"/"torch") model; None = native."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; valid choices: {', '.join(INITS)}")
    if init == "native" or init == layout:
        return None
    if init == "keras":
        return keras_to_torch(keras_style(features, units, classes, seed))
    return torch_to_keras(torch_style(features, units, classes, seed))

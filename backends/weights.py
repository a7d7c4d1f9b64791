"""Map trained LSTM -> Dense weights between the Keras and PyTorch layouts (pure numpy).

Lets one framework's trained model be evaluated (or keep training) in the other, so a
difference in results can be pinned on training rather than on the forward pass. Both
frameworks order the LSTM gates i, f, c/g, o, so only transposes and the bias split differ:
Keras has one LSTM bias, PyTorch adds `bias_ih` and `bias_hh`. Keras -> PyTorch puts the
whole bias in `bias_ih` and zeros in `bias_hh` (the forget-gate +1 is counted once);
PyTorch -> Keras sums them. No framework is imported here.
"""

from __future__ import annotations

import numpy as np

from backends.base import SNAPSHOT_SHAPES

KERAS_NAMES = ("lstm/kernel", "lstm/recurrent_kernel", "lstm/bias", "dense/kernel", "dense/bias")
TORCH_NAMES = (
    "lstm.weight_ih_l0",
    "lstm.weight_hh_l0",
    "lstm.bias_ih_l0",
    "lstm.bias_hh_l0",
    "head.weight",
    "head.bias",
)


def _checked(w: dict[str, np.ndarray], names: tuple[str, ...], layout: str) -> dict[str, np.ndarray]:
    """The arrays as float32 numpy, refusing missing or extra names (silent drops hide bugs)."""
    if set(w) != set(names):
        raise ValueError(f"{layout} weights: got names {sorted(w)}, expected {sorted(names)}")
    return {name: np.asarray(w[name], dtype=np.float32) for name in names}


def keras_to_torch(w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keras `KerasPredictor.weights()` -> a PyTorch `state_dict` of numpy arrays."""
    k = _checked(w, KERAS_NAMES, "keras")
    bias = k["lstm/bias"]
    return {
        "lstm.weight_ih_l0": np.ascontiguousarray(k["lstm/kernel"].T),  # (F, 4H) -> (4H, F)
        "lstm.weight_hh_l0": np.ascontiguousarray(k["lstm/recurrent_kernel"].T),  # (H, 4H) -> (4H, H)
        "lstm.bias_ih_l0": bias.copy(),
        "lstm.bias_hh_l0": np.zeros_like(bias),
        "head.weight": np.ascontiguousarray(k["dense/kernel"].T),  # (H, C) -> (C, H)
        "head.bias": k["dense/bias"].copy(),
    }


def torch_to_keras(w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A PyTorch `state_dict` (numpy) -> Keras `KerasPredictor.set_weights()` names."""
    t = _checked(w, TORCH_NAMES, "torch")
    return {
        "lstm/kernel": np.ascontiguousarray(t["lstm.weight_ih_l0"].T),
        "lstm/recurrent_kernel": np.ascontiguousarray(t["lstm.weight_hh_l0"].T),
        "lstm/bias": t["lstm.bias_ih_l0"] + t["lstm.bias_hh_l0"],
        "dense/kernel": np.ascontiguousarray(t["head.weight"].T),
        "dense/bias": t["head.bias"].copy(),
    }


def to_snapshot(w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One seed's weights, in the Keras, PyTorch or (unstacked) snapshot layout, as a one-row
    snapshot (`backends.base.SNAPSHOT_SHAPES`): what the numpy reference and anytime evaluation
    read, so any backend whose predictor speaks one of these layouts is checked the same way."""
    names = set(w)
    if names == set(SNAPSHOT_SHAPES):
        return {name: np.asarray(w[name], dtype=np.float32)[None] for name in SNAPSHOT_SHAPES}
    if names not in (set(KERAS_NAMES), set(TORCH_NAMES)):
        raise ValueError(f"weights in no known layout: got names {sorted(w)}; expected the Keras, "
                         "PyTorch or snapshot names (backends.weights)")
    t = keras_to_torch(w) if names == set(KERAS_NAMES) else _checked(w, TORCH_NAMES, "torch")
    return {"w_ih": t["lstm.weight_ih_l0"][None], "w_hh": t["lstm.weight_hh_l0"][None],
            "b": (t["lstm.bias_ih_l0"] + t["lstm.bias_hh_l0"])[None],
            "w_out": t["head.weight"][None], "b_out": t["head.bias"][None]}

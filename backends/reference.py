"""The tutorial's LSTM -> Dense(softmax) forward pass in numpy, over snapshot weights.

Why: anytime evaluation scores every seed of a run many times while it trains. Doing it
here, on the weights a backend hands out (`Snapshot`), costs microseconds per seed, scores
Keras and PyTorch with the same lines, and needs no framework call inside a training loop.
It computes in float64, so it is at least as exact as either framework's float32 forward
pass; tests check it predicts what each framework's own predictor predicts.
"""

from __future__ import annotations

import numpy as np

from backends.base import SNAPSHOT_SHAPES


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # exact logistic, no overflow warning


def _hard_sigmoid_2017(x: np.ndarray) -> np.ndarray:
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


GATES = {"sigmoid": _sigmoid, "hard_sigmoid_2017": _hard_sigmoid_2017}


class StackedLSTM:
    """S models (one per snapshot row) evaluated together on the same inputs."""

    def __init__(self, weights: dict[str, np.ndarray], gate_activation: str = "sigmoid") -> None:
        if set(weights) != set(SNAPSHOT_SHAPES):
            raise ValueError(f"weights {sorted(weights)}, expected {sorted(SNAPSHOT_SHAPES)}")
        if gate_activation not in GATES:
            raise ValueError(f"unknown gate activation {gate_activation!r}; "
                             f"valid choices: {', '.join(GATES)}")
        self.w = {name: np.asarray(a, dtype=np.float64) for name, a in weights.items()}
        self.gate_activation, self.gate = gate_activation, GATES[gate_activation]
        self.seeds, four_units, _ = self.w["w_ih"].shape
        self.units = four_units // 4
        # Transposed once, so each step is a batched matmul (BLAS), not an einsum.
        self._w_ih, self._w_hh, self._w_out = (np.ascontiguousarray(self.w[k].transpose(0, 2, 1))
                                               for k in ("w_ih", "w_hh", "w_out"))

    def zero_state(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        shape = (self.seeds, batch, self.units)
        return np.zeros(shape), np.zeros(shape)

    def run(self, x: np.ndarray, state: tuple[np.ndarray, np.ndarray] | None = None
            ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Class probabilities (S, n, C) for inputs x (n, T, F) or (S, n, T, F), and the end state."""
        x = np.asarray(x, dtype=np.float64)
        h, c = state if state is not None else self.zero_state(x.shape[-3])
        b, u = self.w["b"][:, None, :], self.units
        for t in range(x.shape[-2]):
            z = x[..., t, :] @ self._w_ih + h @ self._w_hh + b  # (S, n, 4U); x (n, F) broadcasts
            i, f, o = self.gate(z[..., :u]), self.gate(z[..., u:2 * u]), self.gate(z[..., 3 * u:])
            c = f * c + i * np.tanh(z[..., 2 * u:3 * u])
            h = o * np.tanh(c)
        logits = h @ self._w_out + self.w["b_out"][:, None, :]
        logits -= logits.max(axis=-1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=-1, keepdims=True), (h, c)

    def predict_training_set(self, x: np.ndarray, stateful: bool) -> np.ndarray:
        """(S, n, C) for every training pattern; a stateful model carries its state in order."""
        if not stateful:
            return self.run(x)[0]
        state, rows = None, []
        for i in range(len(x)):
            p, state = self.run(x[i : i + 1], state)
            rows.append(p[:, 0])
        return np.stack(rows, axis=1)

    def predictor(self, row: int, stateful: bool) -> ReferencePredictor:
        rows = {name: w[row : row + 1] for name, w in self.w.items()}
        return ReferencePredictor(StackedLSTM(rows, self.gate_activation), stateful)


class ReferencePredictor:
    """One seed's snapshot behind the `Predictor` protocol, so the harness's probes run on it."""

    def __init__(self, model: StackedLSTM, stateful: bool) -> None:
        self._model, self._stateful = model, stateful
        self._state: tuple[np.ndarray, np.ndarray] | None = None

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self._model.run(x)[0][0].astype(np.float32)

    def reset_state(self) -> None:
        self._state = None

    def step(self, x: np.ndarray) -> np.ndarray:
        p, state = self._model.run(x, self._state if self._stateful else None)
        if self._stateful:
            self._state = state
        return p[0, 0].astype(np.float32)

    def weights(self) -> dict[str, np.ndarray]:
        return {name: a[0].astype(np.float32) for name, a in self._model.w.items()}

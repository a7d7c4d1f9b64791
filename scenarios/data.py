"""Alphabet data builders: the tutorial's arrays, built without any framework.

Inputs are letter codes divided by 26 (as the tutorial does), shaped
(samples, time steps, features); targets are integer class ids, one-hot
encoded only where a framework needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.spec import ALPHABET, ResolvedScenario

SCALE = float(len(ALPHABET))


@dataclass(frozen=True)
class AlphabetData:
    """The training set of one scenario, plus the strings that describe it."""

    x: np.ndarray  # float32, (samples, timesteps, features)
    y: np.ndarray  # int64 class ids, (samples,)
    inputs: tuple[str, ...]  # the input letters of each sample, e.g. "ABC"
    targets: tuple[str, ...]  # the target letter of each sample
    n_classes: int
    offset: int  # class id of "A": 0 for zero_based, 1 for one_based

    @property
    def n_samples(self) -> int:
        return len(self.y)

    def one_hot(self) -> np.ndarray:
        return np.eye(self.n_classes, dtype=np.float32)[self.y]

    def letter(self, class_id: int) -> str:
        """Letter for a predicted class id; '?' for a class that is no letter."""
        index = int(class_id) - self.offset
        return ALPHABET[index] if 0 <= index < len(ALPHABET) else "?"

    def encode(self, letters: str) -> np.ndarray:
        """One input sample (1, timesteps, features) for the given letters."""
        codes = [ALPHABET.index(c) + self.offset for c in letters]
        width = self.x.shape[1] * self.x.shape[2]
        codes = [0] * (width - len(codes)) + codes  # pre-pad, as the tutorial
        return (np.asarray(codes, dtype=np.float32) / SCALE).reshape(1, *self.x.shape[1:])


def _encoding_offset(encoding: str) -> int:
    return 1 if encoding == "one_based" else 0


def window_pairs(length: int) -> list[tuple[str, str]]:
    """(input, target) pairs X = alphabet[i:i+L], y = alphabet[i+L]."""
    return [(ALPHABET[i : i + length], ALPHABET[i + length]) for i in range(len(ALPHABET) - length)]


def variable_length_pairs(n_samples: int, max_len: int, data_seed: int) -> list[tuple[str, str]]:
    """The tutorial's random sub-sequences, drawn with numpy's legacy randint."""
    rng = np.random.RandomState(data_seed)
    pairs = []
    for _ in range(n_samples):
        start = rng.randint(len(ALPHABET) - 2)
        end = rng.randint(start, min(start + max_len, len(ALPHABET) - 1))
        pairs.append((ALPHABET[start : end + 1], ALPHABET[end + 1]))
    return pairs


def build_data(scenario: ResolvedScenario) -> AlphabetData:
    """Build the scenario's training arrays exactly as the tutorial does."""
    spec, options = scenario.spec, scenario.options
    offset = _encoding_offset(options.encoding)
    if spec.data == "variable_length":
        pairs = variable_length_pairs(spec.n_samples, spec.max_len, options.data_seed)
    else:
        pairs = window_pairs(spec.window)
    width = spec.timesteps * spec.features
    codes = np.zeros((len(pairs), width), dtype=np.float32)
    for row, (seq_in, _) in enumerate(pairs):
        letters = [ALPHABET.index(c) + offset for c in seq_in]
        codes[row, width - len(letters) :] = letters  # pre-padding with 0
    x = (codes / SCALE).reshape(len(pairs), spec.timesteps, spec.features)
    y = np.asarray([ALPHABET.index(t) + offset for _, t in pairs], dtype=np.int64)
    return AlphabetData(
        x=x.astype(np.float32),
        y=y,
        inputs=tuple(p[0] for p in pairs),
        targets=tuple(p[1] for p in pairs),
        n_classes=scenario.n_classes,
        offset=offset,
    )

"""Frozen, framework-free descriptions of the tutorial's alphabet tasks.

A `ScenarioSpec` says *what* is learned (data shape, model size, training
protocol); `ScenarioOptions` holds the user-selectable variations. Backends read
both and never decide protocol details themselves.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ENCODINGS: tuple[str, ...] = ("zero_based", "one_based")
INITS: tuple[str, ...] = ("native", "keras", "torch")
# LSTM gate (recurrent) activation: today's logistic sigmoid, or Keras 2's piecewise-linear
# hard sigmoid clip(0.2 x + 0.5, 0, 1), which produced the tutorial's 2017 figures.
GATE_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "hard_sigmoid_2017")
# Each framework's own Adam epsilon, used when `ScenarioOptions.adam_eps` is None (jax: optax.adam's).
NATIVE_ADAM_EPS: dict[str, float] = {"keras": 1e-7, "torch": 1e-8, "jax": 1e-8}
MAX_UNITS = 4096
DataKind = Literal["window", "variable_length"]


@dataclass(frozen=True)
class ScenarioSpec:
    """One tutorial task, with the tutorial's exact hyper-parameters."""

    id: str
    title: str
    section: str
    data: DataKind
    timesteps: int
    features: int
    units: int
    batch_size: int | None  # None: the whole training set in one batch
    epochs: int
    shuffle: bool
    stateful: bool
    tutorial_accuracy: float  # percent, as printed by the tutorial
    notebook_accuracy: float | None = None  # percent, the seed notebook's single run
    probes: tuple[str, ...] = ()
    window: int = 1  # letters per input for window data
    n_samples: int = 0  # variable_length only
    max_len: int = 0  # variable_length only
    learning_rate: float = 0.001

# Options added after the first records were written: stored only when set, so those
# records keep their resume keys and spec hashes.
LATE_DEFAULTS: dict[str, object] = {"adam_eps": None, "gate_activation": "sigmoid",
                                     "units": None, "learning_rate": None}


@dataclass(frozen=True)
class ScenarioOptions:
    """User-selectable variations of a scenario, recorded with every result."""

    encoding: str = "zero_based"
    data_seed: int = 7
    epochs: int | None = None  # None: the tutorial's epochs
    init: str = "native"  # weight initialisation: native, or the other framework's defaults
    adam_eps: float | None = None  # None: the framework's own (NATIVE_ADAM_EPS)
    gate_activation: str = "sigmoid"  # one of GATE_ACTIVATIONS
    units: int | None = None  # None: the tutorial's LSTM units (the spec's)
    learning_rate: float | None = None  # None: the tutorial's Adam learning rate (the spec's)

    def __post_init__(self) -> None:
        if self.gate_activation not in GATE_ACTIVATIONS:
            raise ValueError(f"unknown gate activation {self.gate_activation!r}; "
                             f"valid choices: {', '.join(GATE_ACTIVATIONS)}")
        if self.adam_eps is not None and not (0 < self.adam_eps < 1):
            raise ValueError(f"adam_eps must be between 0 and 1, got {self.adam_eps}")
        if self.units is not None and not (isinstance(self.units, int) and 1 <= self.units <= MAX_UNITS):
            raise ValueError(f"units must be an integer from 1 to {MAX_UNITS}, got {self.units}")
        if self.learning_rate is not None and not (0 < self.learning_rate <= 1):
            raise ValueError(f"learning_rate must be above 0 and at most 1, got {self.learning_rate}")

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items()
                if k not in LATE_DEFAULTS or v != LATE_DEFAULTS[k]}

    def adam_epsilon(self, framework: str) -> float:
        """The epsilon a `framework` ("keras"/"torch"/"jax") model trains with under these options."""
        return self.adam_eps if self.adam_eps is not None else NATIVE_ADAM_EPS[framework]


@dataclass(frozen=True)
class ResolvedScenario:
    """A spec with its options applied: everything a backend needs to train."""

    spec: ScenarioSpec
    options: ScenarioOptions = field(default_factory=ScenarioOptions)

    @property
    def epochs(self) -> int:
        return self.options.epochs if self.options.epochs is not None else self.spec.epochs

    @property
    def units(self) -> int:
        """LSTM units: the option when set, else the tutorial's. Backends read this, never the spec's."""
        return self.options.units if self.options.units is not None else self.spec.units

    @property
    def learning_rate(self) -> float:
        """Adam's learning rate: the option when set, else the tutorial's."""
        return self.options.learning_rate if self.options.learning_rate is not None \
            else self.spec.learning_rate

    @property
    def n_classes(self) -> int:
        return 27 if self.options.encoding == "one_based" else 26

    @property
    def n_samples(self) -> int:
        """Training samples: the drawn sub-sequences, or every window the alphabet holds."""
        spec = self.spec
        return spec.n_samples if spec.data == "variable_length" else len(ALPHABET) - spec.window

    @property
    def batch_size(self) -> int:
        return self.spec.batch_size or self.n_samples

    @property
    def steps_per_epoch(self) -> int:
        """Updates per epoch; a short last batch is an update of its own."""
        return math.ceil(self.n_samples / self.batch_size)

    @property
    def updates_per_seed(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def orders_shape(self) -> tuple[int, int]:
        """Shape of a seed's sample orders: one permutation of the samples per epoch."""
        return (self.epochs, self.n_samples)

    def with_epochs(self, epochs: int | None) -> ResolvedScenario:
        return replace(self, options=replace(self.options, epochs=epochs))

    def spec_hash(self) -> str:
        """Stable hash of spec + options: records with equal hashes are comparable."""
        payload = json.dumps(
            {"spec": asdict(self.spec), "options": self.options.as_dict()}, sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

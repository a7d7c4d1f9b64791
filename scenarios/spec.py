"""Frozen, framework-free descriptions of the tutorial's alphabet tasks.

A `ScenarioSpec` says *what* is learned (data shape, model size, training
protocol); `ScenarioOptions` holds the user-selectable variations. Backends read
both and never decide protocol details themselves.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

Encoding = Literal["zero_based", "one_based"]
ENCODINGS: tuple[str, ...] = ("zero_based", "one_based")
INITS: tuple[str, ...] = ("native", "keras", "torch")
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


@dataclass(frozen=True)
class ScenarioOptions:
    """User-selectable variations of a scenario, recorded with every result."""

    encoding: str = "zero_based"
    data_seed: int = 7
    epochs: int | None = None  # None: the tutorial's epochs
    init: str = "native"  # weight initialisation: native, or the other framework's defaults

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ResolvedScenario:
    """A spec with its options applied: everything a backend needs to train."""

    spec: ScenarioSpec
    options: ScenarioOptions = field(default_factory=ScenarioOptions)

    @property
    def epochs(self) -> int:
        return self.options.epochs if self.options.epochs is not None else self.spec.epochs

    @property
    def n_classes(self) -> int:
        return 27 if self.options.encoding == "one_based" else 26

    def with_epochs(self, epochs: int | None) -> ResolvedScenario:
        return replace(self, options=replace(self.options, epochs=epochs))

    def spec_hash(self) -> str:
        """Stable hash of spec + options: records with equal hashes are comparable."""
        payload = json.dumps(
            {"spec": asdict(self.spec), "options": self.options.as_dict()}, sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

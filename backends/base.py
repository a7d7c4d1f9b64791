"""The contract between the harness and one framework.

The harness decides everything about the protocol (data, seeds, per-epoch sample
order, epochs); a backend only builds the model and runs the updates it is told
to run, then hands back a `Predictor` so evaluation and probes stay framework-free.

A backend is registered by a `backends.BackendEntry` (name, `module`, the modules it `requires`,
the `distributions` whose versions `list` shows, the `extra` that installs it, the `env` its
framework needs before import, `default`), found one of three ways (`backends.backends()`):
built in (`backends._BUILTIN`); an installed distribution's entry point in the group
`alphabet_bench.backends`, whose object is the entry (`jax = "backends.jax_native:ENTRY"`; the
entry point's name and the entry's must agree, and the module it names must import no framework:
`list` loads every one); or `$ALPHABET_BENCH_BACKENDS="name=module"` for a module not packaged as a
distribution. A plugin cannot take a built-in's name; one that fails to load is left out with a
warning. `harness.testing.check_backend(name)` checks a backend against this contract
(docs/plugins.md).

A backend module (a registry entry's `module`) exposes:

- `BACKEND_CLASS`: its `Backend` subclass, instantiated with no arguments in the worker
  after `backends.apply_env`; `setup` then applies the `RuntimeConfig` and returns the
  knobs it set, for the record.
- `EXECUTIONS`: the executions it implements, `EXECUTIONS` below or a subset of it
  (a module without one offers them all); `setup` refuses any other (`check_config`).
  "idiomatic" is the framework as its users write the loop, one seed at a time: the
  measurement. "fast" runs the very same updates (batches, sample orders, state resets,
  loss, optimizer and its hyper-parameters), only executed faster, e.g. all seeds of a
  call at once, compiled; its results equal idiomatic's up to float summation order.
- `gpu_count()`: the GPUs its framework sees, 0 when it cannot tell. It is called in a
  fresh process (`backends.gpu_count`), so `--device cuda` is refused up front; a module
  without one counts as 0.

Importing the module must not import its framework: the registry reads `EXECUTIONS` from
it in processes that never train, where the framework may be missing.

`Backend.train` yields one `SeedTraining` per plan (as each seed finishes, or all at the
end) recording, per seed: the trained model as a `Predictor`; per epoch, the mean training
loss and the accuracy of the pre-update predictions over all samples; the optimizer steps
(`updates`); and the `Timing` of the loop that trained it, from one `Stopwatch` lapped
after the first epoch alone, then after every epoch or chunk of epochs, so that it counts
the training loop (compilation included) and nothing else. A backend with `anytime` set
also hands over the snapshots a `SnapshotRequest` asks for.

A `Predictor`'s `weights()` keep the framework's own names; in the Keras, PyTorch or snapshot
layout (`backends.weights.to_snapshot`) the kit compares them with the numpy reference, and a
predictor with `set_weights(weights)` (same names) is checked to load them back.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from backends.timing import ProgressFn, Timing
from scenarios import AlphabetData, ResolvedScenario

DEVICES: tuple[str, ...] = ("cpu", "cuda")
# The executions a backend may offer (see the module docstring); a backend module may narrow them.
EXECUTIONS: tuple[str, ...] = ("idiomatic", "fast")
# Adam's (beta_1, beta_2) in every backend: Keras's and torch.optim.Adam's defaults, so the idiomatic
# loops leave them unset (tests check the defaults still are these); code that writes Adam out uses these.
ADAM_BETAS: tuple[float, float] = (0.9, 0.999)


@dataclass(frozen=True)
class RuntimeConfig:
    """Process-wide knobs, applied once per worker before training."""

    threads: int = 1
    deterministic: bool = True
    execution: str = "idiomatic"
    device: str = "cpu"  # "cpu" or "cuda": where model and data live; timing syncs it


def check_config(backend: str, config: RuntimeConfig, executions: tuple[str, ...]) -> None:
    """Refuse an execution or device the backend does not implement, naming the valid ones,
    so nothing runs silently mislabelled."""
    for what, value, choices in (("execution", config.execution, executions),
                                 ("device", config.device, DEVICES)):
        if value not in choices:
            raise ValueError(f"{backend} backend: unsupported {what} {value!r}; "
                             f"valid choices: {', '.join(choices)}")


@dataclass(frozen=True)
class SeedPlan:
    """What the harness fixed for one training seed."""

    seed: int
    init_seed: int  # weight-initialisation stream (framework RNG seed)
    orders: np.ndarray  # (epochs, n_samples) sample order of every epoch

    def checked_orders(self, scenario: ResolvedScenario) -> np.ndarray:
        """The orders as int64, refusing a shape other than the scenario's: a wrong plan must
        fail before training, never train another protocol."""
        orders = np.asarray(self.orders, dtype=np.int64)
        if orders.shape != scenario.orders_shape:
            raise ValueError(f"plan for seed {self.seed}: orders shape {orders.shape}, "
                             f"expected {scenario.orders_shape} (epochs, samples)")
        return orders


@dataclass
class SeedTraining:
    """What a backend hands back for one seed: the trained model and its training log."""

    seed: int
    predictor: Predictor
    epoch_loss: list[float]
    epoch_accuracy: list[float]
    timing: Timing  # of the loop that trained this seed (and the seeds trained with it)
    updates: int  # optimizer steps of this seed
    extra: dict = field(default_factory=dict)

    @property
    def train_seconds(self) -> float:
        """This seed's share of its training loop."""
        return self.timing.per_seed_seconds

    @property
    def first_epoch_seconds(self) -> float:
        return self.timing.first_epoch_seconds

    @property
    def seeds_together(self) -> int:
        return self.timing.seeds_together

    @property
    def batch_train_seconds(self) -> float | None:
        """The whole batch's loop when seeds trained together; None for a seed trained alone."""
        return self.timing.train_seconds if self.timing.seeds_together > 1 else None


# The one framework-free weight layout of a snapshot (PyTorch's, gates i, f, g, o; one LSTM
# bias: PyTorch's two summed, Keras's as is), every array stacked on a leading seed axis.
SNAPSHOT_SHAPES: dict[str, str] = {
    "w_ih": "(S, 4U, F)", "w_hh": "(S, 4U, U)", "b": "(S, 4U)", "w_out": "(S, C, U)", "b_out": "(S, C)",
}


@dataclass(frozen=True)
class Snapshot:
    """The weights of some seeds after `epoch` epochs, for anytime evaluation.

    Row s of every array belongs to `seeds[s]`. A backend copies the arrays out (float32
    numpy, in the `SNAPSHOT_SHAPES` layout), so training may go on in place afterwards.
    """

    epoch: int  # epochs done, 1 .. scenario.epochs
    seeds: tuple[int, ...]
    weights: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        if set(self.weights) != set(SNAPSHOT_SHAPES):
            raise ValueError(f"snapshot weights {sorted(self.weights)}, expected {sorted(SNAPSHOT_SHAPES)}")
        if any(len(w) != len(self.seeds) for w in self.weights.values()):
            raise ValueError(f"snapshot: every array needs one row per seed ({len(self.seeds)})")


@dataclass(frozen=True)
class SnapshotRequest:
    """After which epochs a backend hands its weights to `callback` while training.

    The callback's time is evaluation, not training: backends call it between stopwatch laps
    (`Stopwatch.excluded()`), so no timing figure includes it. A backend that trains in chunks
    of epochs ends a chunk at every requested epoch.
    """

    epochs: frozenset[int]
    callback: Callable[[Snapshot], None]

    def due(self, done: int) -> bool:
        return done in self.epochs

    def chunk(self, done: int, count: int) -> int:
        """`count` epochs from `done`, cut short so the chunk ends at the next requested epoch."""
        later = [e for e in self.epochs if e > done]
        return min(count, min(later) - done) if later else count


def chunk_to_snapshot(snapshots: SnapshotRequest | None, done: int, count: int) -> int:
    return count if snapshots is None else snapshots.chunk(done, count)


class Predictor(Protocol):
    """A trained model, seen through the only operations evaluation needs."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (n, classes) for a batch, from a zero state."""

    def reset_state(self) -> None:
        """Stateful models: zero the carried state. Stateless: no-op."""

    def step(self, x: np.ndarray) -> np.ndarray:
        """Stateful models: one sample (1, T, F) with state carried; returns (classes,)."""

    def weights(self) -> dict[str, np.ndarray]:
        """Trained parameters as numpy arrays, in the backend's native names and layout."""


class Backend(abc.ABC):
    """One framework. Subclasses import their framework only inside methods."""

    name: str = ""
    anytime: bool = False  # True: honours a SnapshotRequest; False: declines (the harness notes it)

    @abc.abstractmethod
    def setup(self, config: RuntimeConfig) -> dict:
        """Apply threads and determinism before any model exists; return the knobs set."""

    @abc.abstractmethod
    def versions(self) -> dict[str, str]:
        """Framework versions, for the record."""

    @abc.abstractmethod
    def train(
        self,
        scenario: ResolvedScenario,
        data: AlphabetData,
        plans: list[SeedPlan],
        progress: ProgressFn,
        snapshots: SnapshotRequest | None = None,
    ) -> Iterator[SeedTraining]:
        """Train one independent model per plan, yielding each as soon as it is done.

        With `snapshots`, call `snapshots.callback` after each requested epoch with the
        weights of the seeds training at that moment (one seed at a time, or all together).
        """

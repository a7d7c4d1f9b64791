"""One definition of training time, measured the same way by every backend.

Why one class: µs per update is compared across frameworks and executions, so which
seconds count must not depend on who wrote the loop. Counted: the whole training loop
(tracing and compilation included: a framework that compiles pays for it). Not counted:
time inside the harness's progress callback, which is reporting, not training. `sync`
makes queued device work finish before each clock read, so a figure never precedes the
work it times.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

ProgressFn = Callable[[int], None]  # called with the number of updates just done


@dataclass(frozen=True)
class Timing:
    """Seconds of one training call: one seed, or a batch of seeds trained together."""

    train_seconds: float  # the whole loop of this call, compilation in, progress reporting out
    first_epoch_seconds: float  # start to the end of the first epoch, same rules
    seeds_together: int = 1  # seeds trained by this one loop

    def __post_init__(self) -> None:
        if self.seeds_together < 1:
            raise ValueError(f"seeds_together must be at least 1, got {self.seeds_together}")

    @property
    def per_seed_seconds(self) -> float:
        """Each seed's share of the loop: what a seed trained alone would be compared with."""
        return self.train_seconds / self.seeds_together


def no_sync() -> None:
    """For frameworks whose loop already waits on the host before a lap (e.g. reading the loss)."""


class Stopwatch:
    """Times a training loop: `start()`, one `lap(updates)` per epoch or chunk of epochs, `stop()`.

    The first lap must end exactly the first epoch: it stamps `first_epoch_seconds`.
    `lap` reads the clock before it calls `progress`, and the time spent in `progress` is
    taken out of every figure.
    """

    def __init__(self, progress: ProgressFn, sync: Callable[[], None] = no_sync,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._progress, self._sync, self._clock = progress, sync, clock
        self._start: float | None = None
        self._first: float | None = None
        self._paused = 0.0

    def _read(self) -> float:
        if self._start is None:
            raise RuntimeError("Stopwatch: start() was not called")
        self._sync()
        return self._clock()

    def start(self) -> None:
        self._sync()
        self._start, self._first, self._paused = self._clock(), None, 0.0

    def lap(self, updates: int) -> None:
        """End an epoch (or chunk of epochs) of `updates` updates, then report them."""
        now = self._read()
        if self._first is None:
            self._first = now - self._start - self._paused
        self._progress(updates)
        self._paused += self._clock() - now

    @contextmanager
    def excluded(self) -> Iterator[None]:
        """Time spent inside (e.g. an anytime evaluation's snapshot) counts in no figure."""
        begin = self._clock()
        try:
            yield
        finally:
            self._paused += self._clock() - begin

    def stop(self, seeds_together: int = 1) -> Timing:
        """The loop's Timing; `first_epoch_seconds` is 0.0 when no epoch ran."""
        elapsed = self._read() - self._start - self._paused
        return Timing(elapsed, 0.0 if self._first is None else self._first, seeds_together)


@dataclass
class LoopResult:
    """One seed's training log; the model itself was trained in place."""

    epoch_loss: list[float]
    epoch_accuracy: list[float]
    timing: Timing
    updates: int

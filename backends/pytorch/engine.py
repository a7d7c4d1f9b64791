"""The two epoch loops of the torch fast path (the compiled, in-place one and its eager
fallback) and `train_stacked`, which runs one of them under the stopwatch.

Both loops run the scenario's updates in its order for all S stacked seeds, a chunk of epochs
at a time, and hand back, per epoch, each seed's summed sample loss and its number of correct
pre-update predictions. The layout, the Adam schedule and the eager update they share come
from `backends.pytorch.fast`.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from backends.pytorch.fast import Layout, Params, adam_schedule, eager_step
from backends.timing import ProgressFn, Stopwatch, Timing

if TYPE_CHECKING:
    import torch

    from backends.pytorch.compiled import CompileReport
    from scenarios import ResolvedScenario

    State = tuple[Params, Params, Params]  # parameters, Adam first and second moments

# Epochs per chunk are chosen so a chunk holds at least this many steps: per-chunk work (filling
# buffers, reducing the epoch logs, the progress report) then costs little per step, yet
# progress is still reported every fraction of a second.
CHUNK_STEPS = 256


def chunk_epochs(steps_per_epoch: int) -> int:
    return max(1, CHUNK_STEPS // steps_per_epoch)


class CompiledLoop:
    """Calls the compiled update once per step, every tensor it touches allocated once.

    A chunk's inputs (sample orders, Adam scalars) are copied into fixed buffers, and each
    step's arguments are one prebuilt tuple of views into them: the program always sees the
    layouts it was compiled for and indexes nothing by step. A short last batch is padded
    and its padding weighted 0.
    """

    def __init__(
        self, scenario: ResolvedScenario, layout: Layout, x: torch.Tensor, y: torch.Tensor,
        state: State, seeds: int,
    ) -> None:
        import torch

        from backends.pytorch.compiled import compile_program
        from backends.pytorch.update import to_engine, update_step

        spec, device = scenario.spec, x.device
        self.steps, self.batch, n = scenario.steps_per_epoch, scenario.batch_size, scenario.n_samples
        if spec.stateful and self.batch * self.steps != n:
            raise ValueError("a stateful model needs batches that divide the samples")
        self.stateful, self.chunk = spec.stateful, chunk_epochs(self.steps)
        slots = self.chunk * self.steps
        sizes = [min(self.batch, n - k * self.batch) for k in range(self.steps)]
        self.sizes = torch.tensor(sizes, dtype=torch.float64, device=device).view(1, self.steps, 1)
        eps = scenario.options.adam_epsilon("torch")
        updates = max(1, scenario.updates_per_seed)
        self.schedule = adam_schedule(scenario.learning_rate, updates, eps).to(device)
        width = seeds * self.batch
        padded = self.steps * self.batch  # an epoch's samples, a short last batch padded
        self.orders = torch.zeros(self.chunk, seeds, padded, dtype=torch.int64, device=device)
        # Per-step rows, each starting 16 bytes after the last (see _rows).
        self.sched = _rows(slots, 3, torch.float32, device)
        self.sched[:, :3] = self.schedule[0]  # real scalars from the start: see compiled.py
        self.batches = _rows(slots, width, torch.int64, device)
        self.losses = _rows(slots, seeds, torch.float32, device)
        self.correct = _rows(slots, seeds, torch.int64, device)
        weights = _rows(self.steps, self.batch, torch.float32, device)
        for k, size in enumerate(sizes):
            weights[k, :size] = 1.0 / size
        self.h = torch.zeros(seeds, self.batch, layout.units, device=device)
        self.c = torch.zeros_like(self.h)
        self.trained = state[0]
        self.params = to_engine(state[0])
        moments = [tuple(torch.zeros_like(p) for p in self.params) for _ in range(2)]
        shared = (*self.params, *moments[0], *moments[1], self.h, self.c, x, y)
        self.calls = [
            (*shared, self.batches[j, :width].view(seeds, self.batch), weights[j % self.steps, : self.batch],
             self.sched[j, :3], self.losses[j, :seeds], self.correct[j, :seeds])
            for j in range(slots)
        ]  # step j's inputs: its batch, sample weights and Adam scalars, and its log rows
        key = ("update", spec.stateful, scenario.options.gate_activation, str(device))
        self.program, self.report = compile_program(
            key, update_step(spec.stateful, scenario.options.gate_activation), self.calls[0]
        )
        for args in self.calls:  # views of one layout: the program reads them unchecked
            self.program.check(args)

    def epochs(self, first: int, orders: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Train epochs first, first + 1, ... in orders (S, E, n), E <= self.chunk.

        Returns (E, S) sums of sample losses and (E, S) correct counts.
        """
        seeds, count, n = orders.shape
        used, width = count * self.steps, seeds * self.batch
        self.orders[:count, :, :n] = orders.transpose(0, 1)  # padding keeps sample 0, weighted 0
        by_step = self.orders[:count].view(count, seeds, self.steps, self.batch).transpose(1, 2)
        self.batches[:used, :width] = by_step.reshape(used, width)
        self.sched[:used, :3] = self.schedule[first * self.steps : first * self.steps + used]
        run = self.program.run
        collecting = gc.isenabled()
        gc.disable()  # the calls make no reference cycles; a collection would stall a step
        try:
            for epoch in range(count):
                if self.stateful:  # zero state at the start of every epoch
                    self.h.zero_()
                    self.c.zero_()
                for args in self.calls[epoch * self.steps : (epoch + 1) * self.steps]:
                    run(*args)
        finally:
            if collecting:
                gc.enable()
        losses = self.losses[:used, :seeds].reshape(count, self.steps, seeds).double() * self.sizes
        return losses.sum(dim=1), self.correct[:used, :seeds].reshape(count, self.steps, seeds).sum(dim=1)

    def finish(self) -> None:
        """Write the trained parameters back into the caller's tensors, in their layout."""
        from backends.pytorch.update import from_engine

        for dst, src in zip(self.trained, from_engine(self.params), strict=True):
            dst.copy_(src)


def _rows(count: int, width: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A zero (count, width') buffer whose rows start 16 bytes apart or a multiple of it.

    Why: the program is compiled for row 0 of each per-step buffer; inductor may assume that
    inputs keep that row's alignment (it does for GPU kernels), so every row keeps it.
    """
    import torch

    per_16 = 16 // torch.empty((), dtype=dtype).element_size()
    return torch.zeros(count, -(-width // per_16) * per_16, dtype=dtype, device=device)


class EagerLoop:
    """The same updates without a compiler: one autograd step per batch (fast.eager_step)."""

    def __init__(
        self, scenario: ResolvedScenario, layout: Layout, x: torch.Tensor, y: torch.Tensor, state: State
    ) -> None:
        import torch

        spec = scenario.spec
        self.x, self.y, self.state, self.units = x, y, state, layout.units
        self.steps, self.batch, n = scenario.steps_per_epoch, scenario.batch_size, scenario.n_samples
        self.chunk = chunk_epochs(self.steps)
        self.starts = list(range(0, n, self.batch))
        self.sizes = torch.tensor([min(self.batch, n - s) for s in self.starts], dtype=torch.float64,
                                  device=x.device)
        self.step = eager_step(layout.units, spec.stateful, scenario.learning_rate,
                               eps=scenario.options.adam_epsilon("torch"),
                               gate=scenario.options.gate_activation)

    def epochs(self, first: int, orders: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        logs = [self._epoch(orders[:, e]) for e in range(orders.shape[1])]
        return torch.stack([loss for loss, _ in logs]), torch.stack([hits for _, hits in logs])

    def _epoch(self, order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        seeds = order.shape[0]
        zeros = torch.zeros(seeds, self.batch, self.units, device=self.x.device)
        h, c = zeros, zeros.clone()  # stateful: zero state each epoch; h is not c, as later
        losses, correct = [], []
        for xb, yb in _epoch_batches(self.x, self.y, order, self.starts, self.batch):
            loss_b, correct_b, h, c = self.step(*self.state, xb, yb, h, c)
            losses.append(loss_b)
            correct.append(correct_b)
        loss_sum = (torch.stack(losses, dim=1).double() * self.sizes).sum(dim=1)
        return loss_sum, torch.stack(correct, dim=1).sum(dim=1)

    def finish(self) -> None:
        """Nothing to do: the eager steps train the caller's tensors themselves."""


def _epoch_batches(
    x: torch.Tensor, y: torch.Tensor, order: torch.Tensor, starts: list[int], batch: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """This epoch's batches as (S, B, ...) tensors: one gather for all full batches."""
    seeds, n = order.shape
    full = n // batch
    idx = order[:, : full * batch].reshape(seeds, full, batch).transpose(0, 1)  # (steps, S, B)
    out = list(zip(x[idx].unbind(0), y[idx].unbind(0), strict=True))
    if full < len(starts):  # a last, smaller batch
        tail = order[:, full * batch :]
        out.append((x[tail], y[tail]))
    return out


@dataclass
class StackedResult:
    """What the stacked loop hands back for all S seeds of a call."""

    params: Params  # trained, stacked (S, *shape)
    epoch_loss: np.ndarray  # (S, epochs)
    epoch_accuracy: np.ndarray  # (S, epochs)
    updates_per_seed: int
    timing: Timing  # of the whole batch; the first epoch includes tracing and compiling
    path: str  # "compiled" or "eager-stacked"
    note: str | None = None  # why compilation was abandoned, if it was
    compile: CompileReport | None = None  # how the compiled program was obtained


def train_stacked(
    scenario: ResolvedScenario,
    layout: Layout,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    orders: np.ndarray,
    progress: ProgressFn,
    compile_step: bool,
) -> StackedResult:
    """Train all seeds together; orders (S, epochs, n); params, x and y on one device.

    Batch size, state carrying, learning rate, Adam epsilon and gate activation are the
    scenario's. Compilation (or its cache lookup) happens before the first update, inside
    the first epoch's time, as for any framework that compiles.
    """
    import torch

    from backends.pytorch.cells import sync

    seeds, epochs, n = orders.shape
    orders_t = torch.from_numpy(np.ascontiguousarray(orders, dtype=np.int64)).to(x.device)
    params = tuple(p.clone() for p in params)  # trained in place; the caller's stay as given
    state = (params, tuple(torch.zeros_like(p) for p in params), tuple(torch.zeros_like(p) for p in params))
    loop: CompiledLoop | EagerLoop | None = None
    path, note, report = "eager-stacked", None, None
    epoch_loss, epoch_acc = np.zeros((seeds, epochs)), np.zeros((seeds, epochs))
    stopwatch = Stopwatch(progress, sync=lambda: sync(x.device))
    stopwatch.start()
    if compile_step:
        try:
            loop = CompiledLoop(scenario, layout, x, y, state, seeds)
            path, report = "compiled", loop.report
        except Exception as exc:  # no usable compiler: nothing has run yet, train eagerly
            note = f"{type(exc).__name__}: {str(exc)[:300]}"
    if loop is None:
        loop = EagerLoop(scenario, layout, x, y, state)
    done = 0
    while done < epochs:  # the first lap is the first epoch alone, later ones chunks of epochs
        count = 1 if done == 0 else min(loop.chunk, epochs - done)
        loss_sum, correct = loop.epochs(done, orders_t[:, done : done + count])
        # One host sync per chunk, reduced exactly as the idiomatic loop does.
        epoch_loss[:, done : done + count] = (loss_sum / n).T.cpu().numpy()
        epoch_acc[:, done : done + count] = correct.T.cpu().numpy() / n
        done += count
        stopwatch.lap(seeds * loop.steps * count)
    timing = stopwatch.stop(seeds_together=seeds)
    loop.finish()
    return StackedResult(state[0], epoch_loss, epoch_acc, epochs * loop.steps, timing, path, note, report)

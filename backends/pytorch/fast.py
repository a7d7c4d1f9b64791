"""The torch backend's "fast" execution: every seed of a call trained as one stacked program.

Why: an idiomatic update of these tiny models is almost all Python and dispatcher overhead.
Here the S independent models of a call live side by side in stacked (S, ...) parameter
tensors (`stacked.Layout`), and one update trains all of them at once: the hand-written
forward, backward and Adam of `update`, compiled by inductor (`compiled`) into one program
per shape that updates parameters, Adam moments and state in place, and is called once per
step with nothing but its inputs (`CompiledLoop`). Where no C++ compiler is found, or
compilation fails, the same updates run eagerly instead (`eager.EagerLoop`). `train_stacked`
runs one of the two loops under the stopwatch, a chunk of epochs at a time.

Batches, sample orders, state resets, loss, gate activation and Adam hyper-parameters (eps
included) are those of the idiomatic loop; every seed's loss is its own mean, so its gradient
and its Adam moments are exactly its own. Results equal idiomatic up to float summation
order. On cuda, data, parameters and optimizer state all live on the GPU.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from backends.base import SnapshotRequest, chunk_to_snapshot
from backends.pytorch.eager import EagerLoop
from backends.pytorch.snapshots import hand_over
from backends.pytorch.stacked import Layout, Params, adam_schedule, chunk_epochs
from backends.timing import ProgressFn, Stopwatch, Timing

if TYPE_CHECKING:
    import torch

    from backends.pytorch.compiled import CompileReport
    from scenarios import ResolvedScenario

    State = tuple[Params, Params, Params]  # parameters, Adam first and second moments


class CompiledLoop:
    """Calls the compiled update once per step, every tensor it touches allocated once.

    A chunk's inputs (sample orders, Adam scalars) are copied into fixed buffers, and each
    step's arguments are one prebuilt tuple of views into them: the program always sees the
    layouts it was compiled for and indexes nothing by step. A short last batch is padded
    and its padding weighted 0.

    The buffers hold a window of up to `chunk` epochs. A chunk cut short (the last one, or
    one that ends at a snapshot) runs some of the same calls: one program, never recompiled,
    and the next chunk, if it fits in the window, runs on without refilling it; the loss and
    hit rows are read out only when the window is refilled, and at the end. So a chunk end
    costs a few Python calls, not a dozen tensor operations (each slow after a step has
    pushed the interpreter out of the caches).
    """

    def __init__(
        self, scenario: ResolvedScenario, layout: Layout, x: torch.Tensor, y: torch.Tensor,
        state: State, orders: torch.Tensor,
    ) -> None:
        import torch

        from backends.pytorch.compiled import compile_program
        from backends.pytorch.update import to_engine, update_step

        spec, device = scenario.spec, x.device
        seeds, epochs, _ = orders.shape
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
        self.all_orders = orders  # (S, E, n)
        self.window, self.ran = (0, 0), 0  # epochs [start, end) in the buffers; of them trained
        self.loss_log = torch.zeros(epochs, seeds, dtype=torch.float64, device=device)
        self.correct_log = torch.zeros(epochs, seeds, dtype=torch.int64, device=device)
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
        self.trained, self.layout = state[0], layout
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

    def epochs(self, first: int, count: int) -> None:
        """Train epochs first .. first + count - 1 (count <= self.chunk), right after the last."""
        start, end = self.window
        if first != start + self.ran or first + count > end:
            self._drain()
            self._fill(first, min(self.chunk, self.all_orders.shape[1] - first))
        offset = (first - self.window[0]) * self.steps
        run = self.program.run
        collecting = gc.isenabled()
        gc.disable()  # the calls make no reference cycles; a collection would stall a step
        try:
            for epoch in range(count):
                if self.stateful:  # zero state at the start of every epoch
                    self.h.zero_()
                    self.c.zero_()
                for args in self.calls[offset + epoch * self.steps : offset + (epoch + 1) * self.steps]:
                    run(*args)
        finally:
            if collecting:
                gc.enable()
        self.ran += count

    def _fill(self, first: int, count: int) -> None:
        """Load the inputs of epochs first .. first + count - 1 into the step buffers."""
        orders = self.all_orders[:, first : first + count]
        seeds, _, n = orders.shape
        used, width = count * self.steps, seeds * self.batch
        self.orders[:count, :, :n] = orders.transpose(0, 1)  # padding keeps sample 0, weighted 0
        by_step = self.orders[:count].view(count, seeds, self.steps, self.batch).transpose(1, 2)
        self.batches[:used, :width] = by_step.reshape(used, width)
        self.sched[:used, :3] = self.schedule[first * self.steps : first * self.steps + used]
        self.window, self.ran = (first, first + count), 0

    def _drain(self) -> None:
        """Reduce the trained epochs' loss and hit rows into the logs, as the idiomatic loop does."""
        start, count, seeds = self.window[0], self.ran, self.loss_log.shape[1]
        if count:
            used = count * self.steps
            losses = self.losses[:used, :seeds].reshape(count, self.steps, seeds).double() * self.sizes
            self.loss_log[start : start + count] = losses.sum(dim=1)
            self.correct_log[start : start + count] = (
                self.correct[:used, :seeds].reshape(count, self.steps, seeds).sum(dim=1))
        self.ran = 0

    def logs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(E, S) sums of sample losses and correct counts of every epoch trained."""
        self._drain()
        return self.loss_log, self.correct_log

    def snapshot(self) -> dict[str, np.ndarray]:
        """The parameters as trained so far, copied out in the snapshot layout."""
        return self.layout.snapshot(self.params, kernels_transposed=True)

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
    snapshots: SnapshotRequest | None = None,
    seeds: tuple[int, ...] = (),
) -> StackedResult:
    """Train all seeds together; orders (S, epochs, n); params, x and y on one device.

    Batch size, state carrying, learning rate, Adam epsilon and gate activation are the
    scenario's. Compilation (or its cache lookup) happens before the first update, inside
    the first epoch's time, as for any framework that compiles. Chunks end at every
    requested snapshot, handed over after the chunk's lap with rows named by `seeds`.
    """
    import torch

    from backends.pytorch.cells import sync

    count_seeds, epochs, n = orders.shape
    if snapshots is not None and len(seeds) != count_seeds:
        raise ValueError(f"snapshots need one seed per row: {len(seeds)} seeds for {count_seeds} rows")
    orders_t = torch.from_numpy(np.ascontiguousarray(orders, dtype=np.int64)).to(x.device)
    params = tuple(p.clone() for p in params)  # trained in place; the caller's stay as given
    state = (params, tuple(torch.zeros_like(p) for p in params), tuple(torch.zeros_like(p) for p in params))
    loop: CompiledLoop | EagerLoop | None = None
    path, note, report = "eager-stacked", None, None
    stopwatch = Stopwatch(progress, sync=lambda: sync(x.device))
    stopwatch.start()
    if compile_step:
        try:
            loop = CompiledLoop(scenario, layout, x, y, state, orders_t)
            path, report = "compiled", loop.report
        except Exception as exc:  # no usable compiler: nothing has run yet, train eagerly
            note = f"{type(exc).__name__}: {str(exc)[:300]}"
    if loop is None:
        loop = EagerLoop(scenario, layout, x, y, state, orders_t)
    done = 0
    while done < epochs:  # the first lap is the first epoch alone, later ones chunks of epochs
        count = 1 if done == 0 else chunk_to_snapshot(snapshots, done, min(loop.chunk, epochs - done))
        loop.epochs(done, count)
        done += count
        stopwatch.lap(count_seeds * loop.steps * count)
        hand_over(snapshots, stopwatch, done, seeds, loop.snapshot, lambda: sync(x.device))
    loss_sum, correct = loop.logs()  # one host sync for the logs, inside the timed loop
    epoch_loss, epoch_acc = (loss_sum / n).T.cpu().numpy(), correct.T.cpu().numpy() / n
    timing = stopwatch.stop(seeds_together=count_seeds)
    loop.finish()
    return StackedResult(state[0], epoch_loss, epoch_acc, epochs * loop.steps, timing, path, note, report)

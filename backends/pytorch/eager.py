"""The torch fast path's eager fallback loop: the stacked updates without a compiler.

Why a module of its own: engine.py runs it (or the compiled loop) under the stopwatch; it
needs only what fast.py shares (the eager step, the chunk size).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backends.pytorch.fast import Layout, Params, chunk_epochs, eager_step

if TYPE_CHECKING:
    import torch

    from scenarios import ResolvedScenario

    State = tuple[Params, Params, Params]  # parameters, Adam first and second moments


class EagerLoop:
    """The same updates without a compiler: one autograd step per batch (fast.eager_step)."""

    def __init__(
        self, scenario: ResolvedScenario, layout: Layout, x: torch.Tensor, y: torch.Tensor, state: State,
        orders: torch.Tensor,
    ) -> None:
        import torch

        spec = scenario.spec
        self.x, self.y, self.state, self.layout, self.units = x, y, state, layout, layout.units
        self.orders = orders
        self.logged: list[tuple[torch.Tensor, torch.Tensor]] = []  # each epoch's (S,) loss, hits
        self.steps, self.batch, n = scenario.steps_per_epoch, scenario.batch_size, scenario.n_samples
        self.chunk = chunk_epochs(self.steps)
        self.starts = list(range(0, n, self.batch))
        self.sizes = torch.tensor([min(self.batch, n - s) for s in self.starts], dtype=torch.float64,
                                  device=x.device)
        self.step = eager_step(layout.units, spec.stateful, scenario.learning_rate,
                               eps=scenario.options.adam_epsilon("torch"),
                               gate=scenario.options.gate_activation)

    def epochs(self, first: int, count: int) -> None:
        self.logged.extend(self._epoch(self.orders[:, e]) for e in range(first, first + count))

    def logs(self) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        return torch.stack([loss for loss, _ in self.logged]), torch.stack([hits for _, hits in self.logged])

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

    def snapshot(self) -> dict[str, np.ndarray]:
        """The parameters as trained so far (in place), copied out in the snapshot layout."""
        return self.layout.snapshot(self.state[0])

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

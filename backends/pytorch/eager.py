"""The torch fast execution's fallback where inductor cannot compile: the same stacked
updates, run eagerly (autograd, then torch.optim's own functional Adam).

Why a module of its own: `fast.train_stacked` runs this loop or the compiled one under the
same stopwatch, with the same layout and chunk size (`stacked`); only how an update executes
differs, never which updates run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from backends.base import ADAM_BETAS
from backends.pytorch.stacked import EPS, Layout, Params, chunk_epochs

if TYPE_CHECKING:
    import torch

    from scenarios import ResolvedScenario

    State = tuple[Params, Params, Params]  # parameters, Adam first and second moments

StepFn = Callable[..., tuple]


class EagerLoop:
    """The same updates without a compiler: one autograd step per batch (eager_step)."""

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


def _loss(
    params: Params, xb: torch.Tensor, yb: torch.Tensor, h: torch.Tensor, c: torch.Tensor, gate: str
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Summed per-seed mean cross-entropy of a stacked batch xb (S, B, T, F), yb (S, B), for
    autograd; `gate` is the i, f, o activation (cells.gate_function)."""
    import torch
    import torch.nn.functional as F

    from backends.pytorch.cells import gate_function

    act = gate_function(gate)
    w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
    s, b, t_steps, _ = xb.shape
    bias = (b_ih + b_hh).unsqueeze(1)  # (S, 1, 4H)
    for t in range(t_steps):  # PyTorch's gate order: input, forget, cell, output
        gates = bias + torch.bmm(xb[:, :, t], w_ih.transpose(1, 2)) + torch.bmm(h, w_hh.transpose(1, 2))
        i, f, g, o = gates.chunk(4, dim=-1)
        c = act(f) * c + act(i) * torch.tanh(g)
        h = act(o) * torch.tanh(c)
    logits = b_out.unsqueeze(1) + torch.bmm(h, w_out.transpose(1, 2))  # (S, B, C)
    per_sample = F.cross_entropy(logits.reshape(s * b, -1), yb.reshape(-1), reduction="none")
    losses = per_sample.view(s, b).mean(dim=1)
    correct = (logits.argmax(dim=-1) == yb).sum(dim=1)
    return losses.sum(), (losses.detach(), correct, h.detach(), c.detach())


def eager_step(
    units: int, stateful: bool, lr: float, steps_done: int = 0, eps: float = EPS, gate: str = "sigmoid"
) -> StepFn:
    """The update without a compiler: autograd, then torch.optim's own Adam (foreach).

    (params, m, v, xb, yb, h, c) -> (losses, correct, h, c); updates params, m and v in
    place and keeps Adam's step counts itself (from steps_done), so use one per run.
    """
    import torch
    from torch.optim.adam import adam

    counts: list[torch.Tensor] = []

    def step(params, m, v, xb, yb, h, c):  # type: ignore[no-untyped-def]
        if not stateful:
            h = c = xb.new_zeros(xb.shape[0], xb.shape[1], units)
        leaves = [p.detach().requires_grad_() for p in params]  # share storage with params
        total, (losses, correct, h, c) = _loss(tuple(leaves), xb, yb, h, c, gate)
        grads = torch.autograd.grad(total, leaves)
        if not counts:
            counts.extend(torch.tensor(float(steps_done)) for _ in params)
        with torch.no_grad():
            adam(
                list(params), list(grads), list(m), list(v), [], counts, foreach=True,
                amsgrad=False, beta1=ADAM_BETAS[0], beta2=ADAM_BETAS[1], lr=lr, weight_decay=0.0,
                eps=eps, maximize=False,
            )
        return losses, correct, h, c

    return step

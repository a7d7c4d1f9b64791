"""Fast execution for the torch backend: every seed of a call trained as one stacked program.

Why: an idiomatic update of these tiny models is almost all Python and dispatcher overhead.
Here the S independent models of a call live side by side in one (S, P) parameter tensor,
and one step (hand-written LSTM cell in PyTorch's gate order i, f, g, o, gradient by
`torch.func.grad_and_value`, Adam written out exactly as `torch.optim.Adam`'s single-tensor
update) updates all of them at once, compiled by `torch.compile` when a C++ compiler is
present. Batches, sample orders, state resets, loss and Adam hyper-parameters are those of
the idiomatic loop; every seed's loss is its own mean, summed over seeds, so its gradient and
its Adam moments are exactly its own. Results equal idiomatic up to float summation order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

# torch.optim.Adam defaults (no weight decay, no amsgrad); lr comes from the spec.
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
# Parameter names and order of the idiomatic model's state_dict.
PARAM_NAMES = (
    "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
    "head.weight", "head.bias",
)
StepFn = Callable[..., tuple]


@dataclass(frozen=True)
class Layout:
    """Where each parameter of one model lives in its flat row of the stacked tensor."""

    features: int
    units: int
    classes: int

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        g, h = 4 * self.units, self.units
        return (g, self.features), (g, h), (g,), (g,), (self.classes, h), (self.classes,)

    @property
    def bounds(self) -> tuple[tuple[int, int], ...]:
        out, start = [], 0
        for shape in self.shapes:
            out.append((start, start + math.prod(shape)))
            start += math.prod(shape)
        return tuple(out)

    @property
    def size(self) -> int:
        return self.bounds[-1][1]

    def split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Views (S, *shape) of a stacked (S, P) tensor, in PARAM_NAMES order."""
        rows, shapes = flat.shape[0], self.shapes
        return [flat[:, a:b].reshape(rows, *shapes[k]) for k, (a, b) in enumerate(self.bounds)]

    def stack(self, models: list[nn.Module]) -> torch.Tensor:
        """(S, P) float32 copy of the models' parameters (each model's own initialisation)."""
        import torch

        rows = []
        for model in models:
            state = model.state_dict()
            rows.append(torch.cat([state[name].detach().reshape(-1) for name in PARAM_NAMES]))
        return torch.stack(rows).contiguous()

    def state_dict(self, row: torch.Tensor) -> dict[str, torch.Tensor]:
        """One seed's flat row as a state_dict for the idiomatic model."""
        return {name: p[0].clone() for name, p in zip(PARAM_NAMES, self.split(row.unsqueeze(0)), strict=True)}


def _loss(
    flat: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
    layout: Layout,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Summed per-seed mean cross-entropy of a stacked batch xb (S, B, T, F), yb (S, B)."""
    import torch
    import torch.nn.functional as F

    w_ih, w_hh, b_ih, b_hh, w_out, b_out = layout.split(flat)
    s, b, t_steps, f = xb.shape
    gates_x = torch.baddbmm(
        (b_ih + b_hh).unsqueeze(1), xb.reshape(s, b * t_steps, f), w_ih.transpose(1, 2)
    ).view(s, b, t_steps, -1)
    w_hh_t = w_hh.transpose(1, 2)
    for t in range(t_steps):
        i, fg, g, o = torch.baddbmm(gates_x[:, :, t], h, w_hh_t).chunk(4, dim=-1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    logits = torch.baddbmm(b_out.unsqueeze(1), h, w_out.transpose(1, 2))  # (S, B, C)
    per_sample = F.cross_entropy(logits.reshape(s * b, -1), yb.reshape(-1), reduction="none")
    losses = per_sample.view(s, b).mean(dim=1)
    correct = (logits.argmax(dim=-1) == yb).sum(dim=1)
    return losses.sum(), (losses.detach(), correct, h.detach(), c.detach())


def _adam(
    flat: torch.Tensor, m: torch.Tensor, v: torch.Tensor, grad: torch.Tensor, sched: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """torch.optim.Adam's single-tensor update; sched = (lr / bias_c1, sqrt(bias_c2)) of this step."""
    import torch

    m = torch.lerp(m, grad, 1 - BETA1)
    v = v * BETA2 + grad * grad * (1 - BETA2)
    denom = v.sqrt() / sched[1] + EPS
    return flat - sched[0] * m / denom, m, v


def adam_schedule(lr: float, steps: int) -> torch.Tensor:
    """Per-step Adam scalars, computed in double as torch.optim.Adam does, as float32 rows."""
    import torch

    rows = [(lr / (1 - BETA1**k), math.sqrt(1 - BETA2**k)) for k in range(1, steps + 1)]
    return torch.tensor(rows, dtype=torch.float64).float()


def _make_step(layout: Layout, stateful: bool) -> StepFn:
    """A pure update: (flat, m, v, sched, xb, yb, h, c) -> (flat, m, v, losses, correct, h, c)."""
    import torch

    def step(flat, m, v, sched, xb, yb, h, c):  # type: ignore[no-untyped-def]
        if not stateful:  # stateless: zero state for every sample
            h = c = xb.new_zeros(xb.shape[0], xb.shape[1], layout.units)
        grad, (_, (losses, correct, h, c)) = torch.func.grad_and_value(_loss, has_aux=True)(
            flat, xb, yb, h, c, layout
        )
        flat, m, v = _adam(flat, m, v, grad, sched)
        return flat, m, v, losses, correct, h, c

    return step


@lru_cache(maxsize=16)
def compiled_step(layout: Layout, stateful: bool) -> StepFn:
    """The step compiled once per model shape; shapes of S and B specialise inside."""
    import torch

    return torch.compile(_make_step(layout, stateful), fullgraph=True, dynamic=False)


def eager_step(layout: Layout, stateful: bool) -> StepFn:
    return _make_step(layout, stateful)


@dataclass
class StackedResult:
    """What the stacked loop hands back for all S seeds of a call."""

    flat: torch.Tensor  # (S, P) trained parameters
    epoch_loss: np.ndarray  # (S, epochs)
    epoch_accuracy: np.ndarray  # (S, epochs)
    updates_per_seed: int
    train_seconds: float  # the whole batch's training loop, progress callbacks excluded
    first_epoch_seconds: float  # includes tracing and compilation of the step
    path: str  # "compiled" or "eager-stacked"
    note: str | None = None  # why compilation was abandoned, if it was


def train_stacked(
    layout: Layout,
    flat: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    orders: np.ndarray,
    batch: int,
    stateful: bool,
    lr: float,
    progress: Callable[[int], None],
    compile_step: bool,
) -> StackedResult:
    """Train all seeds together; orders (S, epochs, n). Compilation time lands in epoch one."""
    import torch

    seeds, epochs, n = orders.shape
    starts = list(range(0, n, batch))
    sizes = torch.tensor([min(batch, n - s) for s in starts], dtype=torch.float64)
    orders_t = torch.from_numpy(np.ascontiguousarray(orders, dtype=np.int64))
    sched = adam_schedule(lr, epochs * len(starts)).unbind(0)
    step = compiled_step(layout, stateful) if compile_step else eager_step(layout, stateful)
    path, note = ("compiled" if compile_step else "eager-stacked"), None
    m, v = torch.zeros_like(flat), torch.zeros_like(flat)
    zeros = torch.zeros(seeds, batch, layout.units)  # stateless steps make their own

    losses_out = np.zeros((seeds, epochs))
    acc_out = np.zeros((seeds, epochs))
    k, first_epoch, paused = 0, 0.0, 0.0
    t0 = time.perf_counter()
    for epoch in range(epochs):
        batches = _epoch_batches(x, y, orders_t[:, epoch], starts, batch)
        h = c = zeros  # stateful: zero state at the start of every epoch
        losses, correct = [], []
        for xb, yb in batches:
            try:
                out = step(flat, m, v, sched[k], xb, yb, h, c)
            except Exception as exc:  # no usable compiler: fall back, the state is untouched
                if path != "compiled" or k != 0:
                    raise
                path, note = "eager-stacked", f"{type(exc).__name__}: {str(exc)[:300]}"
                step = eager_step(layout, stateful)
                out = step(flat, m, v, sched[k], xb, yb, h, c)
            flat, m, v, loss_b, correct_b, h, c = out
            losses.append(loss_b)
            correct.append(correct_b)
            k += 1
        # One host sync per epoch, reduced exactly as the idiomatic loop does.
        loss_sum = (torch.stack(losses, dim=1).double() * sizes).sum(dim=1)
        losses_out[:, epoch] = (loss_sum / n).numpy()
        acc_out[:, epoch] = torch.stack(correct, dim=1).sum(dim=1).numpy() / n
        now = time.perf_counter()
        if epoch == 0:
            first_epoch = now - t0
        progress(seeds * len(starts))
        paused += time.perf_counter() - now
    return StackedResult(
        flat, losses_out, acc_out, epochs * len(starts),
        time.perf_counter() - t0 - paused, first_epoch, path, note,
    )


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

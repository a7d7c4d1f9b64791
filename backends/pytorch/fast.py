"""Fast execution for the torch backend: every seed of a call trained as one stacked program.

Why: an idiomatic update of these tiny models is almost all Python and dispatcher overhead.
Here the S independent models of a call live side by side in stacked (S, ...) parameter
tensors, and one step (hand-written LSTM cell in PyTorch's gate order i, f, g, o, gradient by
`torch.func.grad_and_value`, Adam written out exactly as `torch.optim.Adam`'s single-tensor
update) updates all of them at once, compiled by `torch.compile` when a C++ compiler is
present (else autograd and torch.optim's own functional Adam, eagerly). Batches, sample
orders, state resets, loss, gate activation and Adam hyper-parameters (eps included) are
those of the idiomatic loop; every seed's loss is its own mean, summed over seeds, so its
gradient and its Adam moments are exactly its own. Results equal idiomatic up to float
summation order. On cuda, data, parameters and optimizer state all live on the GPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from backends.timing import ProgressFn, Stopwatch, Timing

if TYPE_CHECKING:
    import torch
    from torch import nn

    from scenarios import ResolvedScenario

# torch.optim.Adam defaults (no weight decay, no amsgrad); lr and eps come from the scenario.
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
# Parameter names and order of the idiomatic model's state_dict.
PARAM_NAMES = (
    "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
    "head.weight", "head.bias",
)
StepFn = Callable[..., tuple]
Params = tuple["torch.Tensor", ...]  # stacked (S, *shape) tensors, in PARAM_NAMES order


@dataclass(frozen=True)
class Layout:
    """Shapes of one model's parameters, in PARAM_NAMES order; stacked tensors add a seed axis."""

    features: int
    units: int
    classes: int

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        g, h = 4 * self.units, self.units
        return (g, self.features), (g, h), (g,), (g,), (self.classes, h), (self.classes,)

    def stack(self, models: list[nn.Module]) -> Params:
        """(S, *shape) copies of the models' parameters, each model its own initialisation.

        Canonical contiguous strides matter: the compiled step guards on them, and its
        outputs (fed back as inputs) have them.
        """
        import torch

        states = [model.state_dict() for model in models]
        for state in states:
            found = tuple(tuple(state[name].shape) for name in PARAM_NAMES)
            if found != self.shapes:
                raise ValueError(f"model parameters {found} do not match the layout {self.shapes}")
        return tuple(
            torch.stack([state[name].detach() for state in states]).clone(
                memory_format=torch.contiguous_format
            )
            for name in PARAM_NAMES
        )

    def state_dict(self, params: Params, row: int) -> dict[str, torch.Tensor]:
        """One seed's slice of the stacked parameters, as the idiomatic model's state_dict."""
        return {name: p[row].clone() for name, p in zip(PARAM_NAMES, params, strict=True)}


def _matmul(a: torch.Tensor, w: torch.Tensor, fused: bool) -> torch.Tensor:
    """a @ w.T per seed: a (S, B, K), w (S, N, K) -> (S, B, N).

    Compiled, as broadcast-multiply-sum: inductor then fuses the whole step into one C++
    kernel instead of calling BLAS for every tiny product. Eager, as bmm:
    one op instead of three.
    """
    import torch

    if fused:
        return (a.unsqueeze(-2) * w.unsqueeze(1)).sum(dim=-1)
    return torch.bmm(a, w.transpose(1, 2))


def _loss(
    params: Params, xb: torch.Tensor, yb: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
    fused: bool, gate: str = "sigmoid",
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Summed per-seed mean cross-entropy of a stacked batch xb (S, B, T, F), yb (S, B).

    `gate` is the i, f, o activation (cells.gate_function); g and the output keep tanh.
    """
    import torch
    import torch.nn.functional as F

    from backends.pytorch.cells import gate_function

    act = gate_function(gate)
    w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
    s, b, t_steps, _ = xb.shape
    bias = (b_ih + b_hh).unsqueeze(1)  # (S, 1, 4H)
    for t in range(t_steps):  # PyTorch's gate order: input, forget, cell, output
        gates = bias + _matmul(xb[:, :, t], w_ih, fused) + _matmul(h, w_hh, fused)
        i, f, g, o = gates.chunk(4, dim=-1)
        c = act(f) * c + act(i) * torch.tanh(g)
        h = act(o) * torch.tanh(c)
    logits = b_out.unsqueeze(1) + _matmul(h, w_out, fused)  # (S, B, C)
    per_sample = F.cross_entropy(logits.reshape(s * b, -1), yb.reshape(-1), reduction="none")
    losses = per_sample.view(s, b).mean(dim=1)
    correct = (logits.argmax(dim=-1) == yb).sum(dim=1)
    return losses.sum(), (losses.detach(), correct, h.detach(), c.detach())


def _adam(
    p: torch.Tensor, m: torch.Tensor, v: torch.Tensor, grad: torch.Tensor, sched: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """torch.optim.Adam's single-tensor update; sched = (lr / bias_c1, sqrt(bias_c2), eps) of this step."""
    import torch

    m = torch.lerp(m, grad, 1 - BETA1)
    v = v * BETA2 + (1 - BETA2) * grad * grad  # addcmul's order: (value * t1) * t2
    denom = v.sqrt() / sched[1] + sched[2]
    return p - sched[0] * m / denom, m, v  # addcdiv's order: (value * t1) / t2


def adam_schedule(lr: float, steps: int, eps: float = EPS) -> torch.Tensor:
    """Per-step Adam scalars, computed in double as torch.optim.Adam does, as float32 rows.

    eps rides along as a column, an input of the compiled step rather than a constant baked
    into it, so one compiled program serves every eps and none can run with a stale one.
    """
    import torch

    rows = [(lr / (1 - BETA1**k), math.sqrt(1 - BETA2**k), eps) for k in range(1, steps + 1)]
    return torch.tensor(rows, dtype=torch.float64).float()


def _unzip(new: list[tuple[torch.Tensor, ...]]) -> tuple[Params, Params, Params]:
    return tuple(n[0] for n in new), tuple(n[1] for n in new), tuple(n[2] for n in new)


def pure_step(units: int, stateful: bool, gate: str = "sigmoid") -> StepFn:
    """(params, m, v, sched, xb, yb, h, c) -> (params, m, v, losses, correct, h, c).

    One graph: forward, gradient (torch.func) and Adam. Pure (no in-place writes), so a call
    whose compilation fails has changed nothing.
    """
    import torch

    def step(params, m, v, sched, xb, yb, h, c):  # type: ignore[no-untyped-def]
        if not stateful:  # stateless: zero state for every sample
            h = c = xb.new_zeros(xb.shape[0], xb.shape[1], units)
        grads, (_, (losses, correct, h, c)) = torch.func.grad_and_value(_loss, has_aux=True)(
            params, xb, yb, h, c, True, gate
        )
        new = [_adam(*group, sched) for group in zip(params, m, v, grads, strict=True)]
        return (*_unzip(new), losses, correct, h, c)

    return step


@lru_cache(maxsize=16)
def compiled_step(units: int, stateful: bool, gate: str = "sigmoid") -> StepFn:
    """pure_step compiled once per process and kind; each (S, B, T, shapes) specialises inside."""
    import torch

    return torch.compile(pure_step(units, stateful, gate), fullgraph=True, dynamic=False)


def _compiled_for(units: int, stateful: bool, gate: str) -> StepFn:
    """compiled_step, called as (units, stateful) for sigmoid: one cache entry per kind, and
    the two-argument form that tests substitute keeps working."""
    return compiled_step(units, stateful) if gate == "sigmoid" else compiled_step(units, stateful, gate)


def eager_step(
    units: int, stateful: bool, lr: float, steps_done: int = 0, eps: float = EPS, gate: str = "sigmoid"
) -> StepFn:
    """The same update without a compiler: autograd, then torch.optim's own Adam (foreach).

    Updates params, m and v in place; keeps Adam's step counts itself (from steps_done), so
    use one per run.
    """
    import torch
    from torch.optim.adam import adam

    counts: list[torch.Tensor] = []

    def step(params, m, v, sched, xb, yb, h, c):  # type: ignore[no-untyped-def]
        if not stateful:
            h = c = xb.new_zeros(xb.shape[0], xb.shape[1], units)
        leaves = [p.detach().requires_grad_() for p in params]  # share storage with params
        total, (losses, correct, h, c) = _loss(tuple(leaves), xb, yb, h, c, False, gate)
        grads = torch.autograd.grad(total, leaves)
        if not counts:
            counts.extend(torch.tensor(float(steps_done)) for _ in params)
        with torch.no_grad():
            adam(
                list(params), list(grads), list(m), list(v), [], counts, foreach=True,
                amsgrad=False, beta1=BETA1, beta2=BETA2, lr=lr, weight_decay=0.0, eps=eps,
                maximize=False,
            )
        return params, m, v, losses, correct, h, c

    return step


@dataclass
class StackedResult:
    """What the stacked loop hands back for all S seeds of a call."""

    params: Params  # trained, stacked (S, *shape)
    epoch_loss: np.ndarray  # (S, epochs)
    epoch_accuracy: np.ndarray  # (S, epochs)
    updates_per_seed: int
    timing: Timing  # of the whole batch; the first epoch includes tracing and compiling the step
    path: str  # "compiled" or "eager-stacked"
    note: str | None = None  # why compilation was abandoned, if it was


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
    scenario's. Tracing and compilation happen in the first update, so they land in the
    first epoch (and in the whole loop, as for any framework that compiles).
    """
    import torch

    from backends.pytorch.cells import sync

    device = x.device
    stateful, lr, gate = scenario.spec.stateful, scenario.spec.learning_rate, scenario.options.gate_activation
    eps = scenario.options.adam_epsilon("torch")
    seeds, epochs, n = orders.shape
    batch = scenario.batch_size
    starts = list(range(0, n, batch))
    sizes = torch.tensor([min(batch, n - s) for s in starts], dtype=torch.float64, device=device)
    orders_t = torch.from_numpy(np.ascontiguousarray(orders, dtype=np.int64)).to(device)
    sched = adam_schedule(lr, epochs * len(starts), eps).to(device).unbind(0)

    def fallback(steps_done: int) -> StepFn:
        return eager_step(layout.units, stateful, lr, steps_done=steps_done, eps=eps, gate=gate)

    step = _compiled_for(layout.units, stateful, gate) if compile_step else fallback(0)
    path, note = ("compiled" if compile_step else "eager-stacked"), None
    m = tuple(torch.zeros_like(p) for p in params)
    v = tuple(torch.zeros_like(p) for p in params)
    zeros = torch.zeros(seeds, batch, layout.units, device=device)  # stateless steps make their own

    epoch_loss, epoch_acc = np.zeros((seeds, epochs)), np.zeros((seeds, epochs))
    k = 0
    stopwatch = Stopwatch(progress, sync=lambda: sync(device))
    stopwatch.start()
    for epoch in range(epochs):
        h, c = zeros, zeros.clone()  # stateful: zero state each epoch; h is not c, as later
        losses, correct = [], []
        for xb, yb in _epoch_batches(x, y, orders_t[:, epoch], starts, batch):
            try:
                out = step(params, m, v, sched[k], xb, yb, h, c)
            except Exception as exc:  # no usable compiler: fall back; the pure step changed nothing
                if path != "compiled":
                    raise
                path, note = "eager-stacked", f"{type(exc).__name__}: {str(exc)[:300]}"
                step = fallback(k)
                out = step(params, m, v, sched[k], xb, yb, h, c)
            params, m, v, loss_b, correct_b, h, c = out
            losses.append(loss_b)
            correct.append(correct_b)
            k += 1
        # One host sync per epoch, reduced exactly as the idiomatic loop does.
        loss_sum = (torch.stack(losses, dim=1).double() * sizes).sum(dim=1)
        epoch_loss[:, epoch] = (loss_sum / n).cpu().numpy()
        epoch_acc[:, epoch] = torch.stack(correct, dim=1).sum(dim=1).cpu().numpy() / n
        stopwatch.lap(seeds * len(starts))
    timing = stopwatch.stop(seeds_together=seeds)
    return StackedResult(params, epoch_loss, epoch_acc, epochs * len(starts), timing, path, note)


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

"""Fast execution for the torch backend: every seed of a call trained as one stacked program.

Why: an idiomatic update of these tiny models is almost all Python and dispatcher overhead.
Here the S independent models of a call live side by side in stacked (S, ...) parameter
tensors, and one update trains all of them at once: the hand-written forward, backward and
Adam of backends/pytorch/update.py, compiled by inductor (backends/pytorch/compiled.py)
into one program per shape that updates parameters, Adam moments and state in place, and
is called once per step with nothing but its inputs. Where no C++ compiler is found, or
compilation fails, the same updates run eagerly instead: autograd, then torch.optim's own
functional Adam. Batches, sample orders, state resets, loss, gate activation and Adam
hyper-parameters (eps included) are those of the idiomatic loop; every seed's loss is its
own mean, so its gradient and its Adam moments are exactly its own. Results equal
idiomatic up to float summation order. On cuda, data, parameters and optimizer state all
live on the GPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn


EPS = 1e-8  # torch.optim.Adam's default; the scenario's eps is passed explicitly
# Parameter names and order of the idiomatic model's state_dict.
PARAM_NAMES = (
    "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
    "head.weight", "head.bias",
)
StepFn = Callable[..., tuple]
Params = tuple["torch.Tensor", ...]  # stacked (S, *shape) tensors, in PARAM_NAMES order


# Epochs per chunk are chosen so a chunk holds at least this many steps: per-chunk work (filling
# buffers, reducing the epoch logs, the progress report) then costs little per step, yet
# progress is still reported every fraction of a second.
CHUNK_STEPS = 256


def chunk_epochs(steps_per_epoch: int) -> int:
    return max(1, CHUNK_STEPS // steps_per_epoch)


SNAPSHOT_NAMES = ("w_ih", "w_hh", "b", "w_out", "b_out")  # backends.base.SNAPSHOT_SHAPES, in order


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

        Canonical contiguous strides matter: the compiled update reads them as compiled.
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

    def snapshot(self, params: Params, kernels_transposed: bool = False) -> dict[str, np.ndarray]:
        """Stacked parameters (PARAM_NAMES order, any device) as float32 numpy copies in the
        framework-free snapshot layout (backends.base.SNAPSHOT_SHAPES): PyTorch's gate
        order already, its two LSTM biases summed into the one Keras has.

        `kernels_transposed`: the LSTM kernels are stored (S, F, 4U) and (S, U, 4U), as the
        compiled engine keeps them; they come out as transposed views of their copy, because
        a transposing copy cost ~8x a straight one (units 32, 100 seeds: 0.9 ms a snapshot).
        Dense snapshots come between a few steps each, right after a compiled step has pushed
        the interpreter out of the caches, where every tensor operation costs tens of µs: so
        one copy of everything into one buffer, then numpy views.
        """
        found = [tuple(p.shape[1:]) for p in params]
        if kernels_transposed:
            found[:2] = [shape[::-1] for shape in found[:2]]
        if tuple(found) != self.shapes:
            raise ValueError(f"stacked parameters {tuple(found)} do not match the layout {self.shapes}")
        flat, blocks, offset = _host_copy(params), [], 0
        for p in params:
            blocks.append(flat[offset : offset + p.numel()].reshape(p.shape))
            offset += p.numel()
        w_ih, w_hh, b_ih, b_hh, w_out, b_out = blocks
        if kernels_transposed:
            w_ih, w_hh = w_ih.swapaxes(1, 2), w_hh.swapaxes(1, 2)
        return dict(zip(SNAPSHOT_NAMES, (w_ih, w_hh, b_ih + b_hh, w_out, b_out), strict=True))

    def state_dict(self, params: Params, row: int) -> dict[str, torch.Tensor]:
        """One seed's slice of the stacked parameters, as the idiomatic model's state_dict."""
        return {name: p[row].clone() for name, p in zip(PARAM_NAMES, params, strict=True)}


def adam_schedule(lr: float, steps: int, eps: float = EPS) -> torch.Tensor:
    """Per-step Adam scalars (lr / bias_c1, 1 / sqrt(bias_c2), eps), computed in double as
    torch.optim.Adam does, as float32 rows.

    eps rides along as a column, an input of the compiled update rather than a constant baked
    into it, so one compiled program serves every eps and none can run with a stale one.
    """
    import torch

    from backends.pytorch.update import BETA1, BETA2

    rows = [(lr / (1 - BETA1**k), 1 / math.sqrt(1 - BETA2**k), eps) for k in range(1, steps + 1)]
    return torch.tensor(rows, dtype=torch.float64).float()


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
                amsgrad=False, beta1=0.9, beta2=0.999, lr=lr, weight_decay=0.0, eps=eps,
                maximize=False,
            )
        return losses, correct, h, c

    return step


def _host_copy(params: Params) -> np.ndarray:
    """All of params, flattened one after the other, as one new float32 numpy array: one
    numpy copy on cpu, one transfer from a GPU."""
    import torch

    if all(p.device.type == "cpu" for p in params):
        return np.concatenate([p.detach().numpy().reshape(-1) for p in params], dtype=np.float32)
    return torch.cat([p.detach().reshape(-1) for p in params]).to("cpu", torch.float32).numpy()

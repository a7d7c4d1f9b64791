"""What the torch fast execution's loops share: S models' parameters stacked side by side.

Why a module of its own: the compiled loop and its eager fallback (`fast`, `eager`) train
the same stacked (S, ...) tensors, a chunk of epochs at a time, and the idiomatic loop hands
over its snapshots through the same layout. Here: that layout (`Layout`: stacking models,
slicing one seed back out, copying snapshots out), the chunk size and the per-step Adam
scalars of the compiled update. torch is imported inside functions, as in the rest of the
backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from backends.base import ADAM_BETAS

if TYPE_CHECKING:
    import torch
    from torch import nn


EPS = 1e-8  # torch.optim.Adam's default; the scenario's eps is passed explicitly
# Parameter names and order of the idiomatic model's state_dict.
PARAM_NAMES = (
    "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
    "head.weight", "head.bias",
)
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

    beta1, beta2 = ADAM_BETAS
    rows = [(lr / (1 - beta1**k), 1 / math.sqrt(1 - beta2**k), eps) for k in range(1, steps + 1)]
    return torch.tensor(rows, dtype=torch.float64).float()


def _host_copy(params: Params) -> np.ndarray:
    """All of params, flattened one after the other, as one new float32 numpy array: one
    numpy copy on cpu, one transfer from a GPU."""
    import torch

    if all(p.device.type == "cpu" for p in params):
        return np.concatenate([p.detach().numpy().reshape(-1) for p in params], dtype=np.float32)
    return torch.cat([p.detach().reshape(-1) for p in params]).to("cpu", torch.float32).numpy()

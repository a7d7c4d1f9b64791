"""The idiomatic torch training loop: one seed, a plain eager PyTorch loop, as people write it.

Why a module of its own: backend.py builds models and predictors for both executions; the
loop that is the `idiomatic` measurement (and hands over its anytime snapshots) lives here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backends.base import SnapshotRequest
from backends.timing import LoopResult, ProgressFn, Stopwatch

if TYPE_CHECKING:
    import torch
    from torch import nn

    from scenarios import ResolvedScenario


def train_one(
    model: nn.Module,
    scenario: ResolvedScenario,
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int,
    orders: np.ndarray,
    progress: ProgressFn,
    snapshots: SnapshotRequest | None = None,
) -> LoopResult:
    """The training loop for one seed, timed without model building or evaluation.

    Model, x and y on one device. Requested snapshots (S = 1, row `seed`) are handed over
    after their epoch's lap, outside the timing.
    """
    import torch
    from torch import nn

    from backends.pytorch.cells import sync
    from backends.pytorch.snapshots import hand_over
    from backends.pytorch.stacked import Layout

    spec = scenario.spec
    device = x.device
    n, batch = scenario.n_samples, scenario.batch_size
    starts = range(0, n, batch)
    sizes = torch.tensor([min(batch, n - s) for s in starts], dtype=torch.float64, device=device)
    orders_t = torch.from_numpy(np.ascontiguousarray(orders)).to(device)
    layout = Layout(spec.features, scenario.units, scenario.n_classes)
    loss_fn = nn.CrossEntropyLoss()
    # eps is passed only when asked for: the default call is the tutorial's, torch's own eps.
    eps = {} if scenario.options.adam_eps is None else {"eps": scenario.options.adam_epsilon("torch")}
    optimizer = torch.optim.Adam(model.parameters(), lr=scenario.learning_rate, **eps)
    model.train()

    epoch_loss: list[float] = []
    epoch_accuracy: list[float] = []
    stopwatch = Stopwatch(progress, sync=lambda: sync(device))
    stopwatch.start()
    for order in orders_t:
        xe, ye = x[order], y[order]  # this epoch's order
        state = None  # stateful: zero state at the start of every epoch
        losses, logits_seen = [], []
        for start in starts:
            xb, yb = xe[start : start + batch], ye[start : start + batch]
            logits, new_state = model(xb, state)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if spec.stateful:  # carry the state, cut the graph at the update
                state = (new_state[0].detach(), new_state[1].detach())
            losses.append(loss.detach())
            logits_seen.append(logits.detach())
        # One host sync per epoch: sample-weighted loss, accuracy of pre-update predictions.
        epoch_loss.append(float((torch.stack(losses).double() * sizes).sum()) / n)
        correct = (torch.cat(logits_seen).argmax(dim=1) == ye).sum()
        epoch_accuracy.append(int(correct) / n)
        stopwatch.lap(len(starts))
        hand_over(snapshots, stopwatch, len(epoch_loss), (seed,),
                  lambda: layout.snapshot(layout.stack([model])), lambda: sync(device))
    timing = stopwatch.stop()
    return LoopResult(epoch_loss, epoch_accuracy, timing, len(starts) * len(epoch_loss))

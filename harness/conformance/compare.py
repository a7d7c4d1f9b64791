"""How the kit compares two trainings, and the tolerances it allows (the backends' own tests'
figures, explained where they are measured).

REFERENCE_ATOL: a framework's float32 forward pass vs the float64 numpy reference
(tests/backends/test_reference.py). FAST_*: "fast" runs the idiomatic updates in another
summation order (and XLA/inductor fuse differently): measured <= 1e-6 on the weights after a few
epochs (tests/backends/pytorch/test_fast.py, keras3/test_fast.py), while one missing or wrong Adam
step moves a weight by up to the learning rate, 1e-3.
"""

from __future__ import annotations

import math

import numpy as np

from backends.base import SNAPSHOT_SHAPES, SeedTraining

REFERENCE_ATOL = 2e-6
FAST_WEIGHT_ATOL = 1e-4
FAST_LOSS_RTOL = 1e-4
FAST_PROBA_ATOL = 1e-4


def expect(condition: bool, message: str) -> None:
    """An assertion that survives `python -O`."""
    if not condition:
        raise AssertionError(message)


def same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray], where: str, atol: float = 0.0) -> None:
    """Same names and shapes, and values equal (atol 0: bit for bit) or within atol."""
    expect(set(a) == set(b), f"{where}: names {sorted(a)} vs {sorted(b)}")
    for name in a:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        expect(x.shape == y.shape, f"{where}: {name} has shape {x.shape} vs {y.shape}")
        if atol == 0.0:
            expect(np.array_equal(x, y), f"{where}: {name} differs (max |d| "
                                         f"{float(np.max(np.abs(x - y))):.3g}; expected bit for bit)")
        else:
            gap = float(np.max(np.abs(x.astype(np.float64) - y))) if x.size else 0.0
            expect(gap <= atol, f"{where}: {name} differs by {gap:.3g} > {atol:g}")


def snapshot_row(weights: dict[str, np.ndarray], row: int) -> dict[str, np.ndarray]:
    return {name: weights[name][row : row + 1] for name in SNAPSHOT_SHAPES}


def close_predictions(a: np.ndarray, b: np.ndarray, where: str, atol: float) -> None:
    """Probabilities within atol, and the same predicted class wherever the top two are not tied
    within atol (where they are, either class is a faithful prediction)."""
    gap = float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
    expect(gap <= atol, f"{where}: probabilities differ by {gap:.3g} > {atol:g}")
    top2 = np.sort(a, axis=-1)[..., -2:]
    clear = (top2[..., 1] - top2[..., 0]) > 2 * atol
    flips = int(np.sum((a.argmax(axis=-1) != b.argmax(axis=-1)) & clear))
    expect(flips == 0, f"{where}: {flips} predicted classes differ")


def same_log(a: SeedTraining, b: SeedTraining, where: str, loss_rtol: float = 0.0, samples: int = 0) -> None:
    """Updates, per-epoch losses (exact, or within loss_rtol) and accuracies (exact, or within one
    sample of `samples`: a flip needs a near-tie)."""
    expect(a.updates == b.updates, f"{where}: {a.updates} vs {b.updates} updates")
    expect(len(a.epoch_loss) == len(b.epoch_loss),
           f"{where}: {len(a.epoch_loss)} vs {len(b.epoch_loss)} epochs")
    for epoch, (x, y) in enumerate(zip(a.epoch_loss, b.epoch_loss, strict=True), 1):
        same = (x == y or (math.isnan(x) and math.isnan(y))) if loss_rtol == 0.0 \
            else math.isclose(x, y, rel_tol=loss_rtol)
        expect(same, f"{where}: epoch {epoch} loss {x!r} vs {y!r}")
    slack = 1.01 / samples if samples else 0.0
    for epoch, (x, y) in enumerate(zip(a.epoch_accuracy, b.epoch_accuracy, strict=True), 1):
        expect(abs(x - y) <= slack, f"{where}: epoch {epoch} accuracy {x!r} vs {y!r}")

"""Time to learn as survival data: when each seed first gets every training pattern right.

Per seed, the first evaluated epoch of its `accuracy_curve` at a threshold; a seed that never gets
there is right-censored at its last evaluated epoch, never dropped, so a slow framework cannot look
fast by losing its slow seeds. Estimates and tests are scipy's (`CensoredData`, `ecdf`, `logrank`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from harness.reporting.labels import Label, backend_label, scenario_label, scenario_sort_key

LEARNED = (1.0, 0.95)  # accuracy thresholds: every pattern right, and nearly
CONFIDENCE = 0.95
CI_METHOD = "log-log"  # scipy's pointwise band of the survival function (stays inside 0–1)
TOL = 1e-9


@dataclass(frozen=True)
class Times:
    """Per seed: the epoch it learned at, or its censoring epoch when `learned` is False."""

    epochs: tuple[float, ...]
    learned: tuple[bool, ...]

    @property
    def n(self) -> int:
        return len(self.epochs)

    def censored(self) -> sps.CensoredData:
        events = [e for e, ok in zip(self.epochs, self.learned, strict=True) if ok]
        right = [e for e, ok in zip(self.epochs, self.learned, strict=True) if not ok]
        return sps.CensoredData(uncensored=events, right=right)


@dataclass(frozen=True)
class Median:
    """Median epoch to learn with its CI; NaN = not reached within the epochs run."""

    value: float
    low: float
    high: float


def first_epoch(curve: dict[str, list] | None, threshold: float) -> tuple[int, bool] | None:
    """(first evaluated epoch at ≥ threshold, True), or (last evaluated epoch, False): censored."""
    epochs, accuracy = (curve or {}).get("epochs") or [], (curve or {}).get("accuracy") or []
    if not epochs:
        return None
    for epoch, acc in zip(epochs, accuracy, strict=False):
        if acc >= threshold - TOL:
            return int(epoch), True
    return int(epochs[-1]), False


def as_times(found: Iterable[tuple[int, bool] | None]) -> Times | None:
    """`Times` of the seeds that have a curve (`first_epoch` results; None entries skipped)."""
    kept = [f for f in found if f is not None]
    if not kept:
        return None
    return Times(tuple(float(e) for e, _ in kept), tuple(ok for _, ok in kept))


def first_running_epoch(epoch_accuracy: list[float]) -> int | None:
    """The first epoch (1-based) whose running training accuracy, measured during it, is 100 %."""
    return next((i for i, a in enumerate(epoch_accuracy or [], 1) if a is not None and a >= 1.0 - TOL), None)


def curved(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ok records that carry an accuracy curve."""
    return [r for r in records if r.get("status") == "ok" and (r.get("accuracy_curve") or {}).get("epochs")]


def times_by_cell(records: list[dict[str, Any]], threshold: float = 1.0,
                  label: Label = scenario_label) -> dict[tuple[str, str], Times]:
    """(scenario, backend) → every seed's time to learn, censored ones included."""
    cells: dict[tuple[str, str], list[tuple[int, bool] | None]] = {}
    for r in curved(records):
        cells.setdefault((label(r), backend_label(r)), []).append(first_epoch(r["accuracy_curve"], threshold))
    ordered = sorted(cells, key=lambda k: (scenario_sort_key(k[0]), k[1]))
    return {k: times for k in ordered if (times := as_times(cells[k])) is not None}


def curve_step(curve: dict[str, list]) -> int:
    """A curve's evaluation step in epochs (its first gap): a time is known to within it."""
    epochs = curve["epochs"]
    return int(epochs[1] - epochs[0] if len(epochs) > 1 else epochs[0])


def survival(times: Times) -> Any:
    """scipy's Kaplan–Meier estimate (`ecdf` of censored data): `.cdf` = share learned by an epoch."""
    return sps.ecdf(times.censored())


def band(function: Any) -> tuple[np.ndarray, np.ndarray]:
    """scipy's pointwise CI of an ecdf/sf step function; where it is undefined (every seed learned, or
    none yet), the estimate itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = function.confidence_interval(CONFIDENCE, method=CI_METHOD)
    p = function.probabilities
    low, high = ci.low.probabilities, ci.high.probabilities
    return np.where(np.isnan(low), p, low), np.where(np.isnan(high), p, high)


def _first_at_or_below(epochs: np.ndarray, sf: np.ndarray, level: float) -> float:
    hit = np.nonzero(sf <= level + TOL)[0]
    return float(epochs[hit[0]]) if hit.size else math.nan


def median_time(times: Times) -> Median:
    """Median from scipy's survival function; CI where its band crosses one half (lower band → lower
    limit, upper band → upper limit), the usual Brookmeyer–Crowley reading."""
    if not any(times.learned):
        return Median(math.nan, math.nan, math.nan)
    sf = survival(times).sf
    low, high = band(sf)
    return Median(_first_at_or_below(sf.quantiles, sf.probabilities, 0.5),
                  _first_at_or_below(sf.quantiles, low, 0.5), _first_at_or_below(sf.quantiles, high, 0.5))


def fmt_median(m: Median, censor: float) -> str:
    """'120 (95–150)'; 'not reached' past the last evaluated epoch."""
    if math.isnan(m.value):
        return f"not reached (> {censor:,.0f})"
    high = "not reached" if math.isnan(m.high) else f"{m.high:,.0f}"
    return f"{m.value:,.0f} ({m.low:,.0f}–{high})"


def logrank(a: Times, b: Times) -> float:
    """scipy's two-sided logrank p; NaN when no seed learned in either or every time is the same."""
    if not (any(a.learned) or any(b.learned)):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero variance: scipy returns NaN, we keep it
        p = float(sps.logrank(a.censored(), b.censored()).pvalue)
    return p if math.isfinite(p) else math.nan


def framework_pairs(keys: list[tuple[Any, str]]) -> list[tuple[Any, str, str]]:
    """(cell, keras label, torch label) for rows that differ only by framework: keras[x] ↔ torch[x]."""
    pairs = []
    for cell, backend in keys:
        if backend == "keras" or backend.startswith("keras["):
            other = "torch" + backend[len("keras"):]
            if (cell, other) in keys:
                pairs.append((cell, backend, other))
    return pairs

"""Time to learn as survival data, on two clocks read off each seed's `accuracy_curve`.

*First touch*: the first evaluated epoch at ≥ θ. *Learned for good*: the first evaluated epoch from
which every later evaluation, up to the end of the seed's budget, is ≥ θ ("for good within this
budget"). Most seeds touch 100 % and drop below it again, so the two can be far apart; a seed that
drops after its first touch has *relapsed*. A seed that never gets there (or whose last evaluation
is below θ) is right-censored at its last evaluated epoch, never dropped, so a slow framework cannot
look fast by losing its slow seeds. Estimates and tests are scipy's (`CensoredData`, `ecdf`,
`logrank`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
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
    filled: bool = False  # a limit where scipy's band is undefined, read off the estimate instead


def first_epoch(curve: dict[str, list] | None, threshold: float) -> tuple[int, bool] | None:
    """(first evaluated epoch at ≥ threshold, True), or (last evaluated epoch, False): censored."""
    epochs, accuracy = (curve or {}).get("epochs") or [], (curve or {}).get("accuracy") or []
    if not epochs:
        return None
    for epoch, acc in zip(epochs, accuracy, strict=False):
        if acc >= threshold - TOL:
            return int(epoch), True
    return int(epochs[-1]), False


def settled_epoch(curve: dict[str, list] | None, threshold: float) -> tuple[int, bool] | None:
    """(first evaluated epoch from which every later one is ≥ threshold, True), or (last evaluated
    epoch, False) when the last evaluation is below it: censored, not learned for good within the
    budget."""
    epochs, accuracy = (curve or {}).get("epochs") or [], (curve or {}).get("accuracy") or []
    if not epochs:
        return None
    accuracy = accuracy[:len(epochs)]
    if not accuracy or accuracy[-1] < threshold - TOL:
        return int(epochs[-1]), False
    start = len(accuracy) - 1
    while start > 0 and accuracy[start - 1] >= threshold - TOL:
        start -= 1
    return int(epochs[start]), True


@dataclass(frozen=True)
class Relapse:
    """What a seed's curve did after its first touch of θ: whether it dropped below θ again, and the
    lowest accuracy it fell to (NaN for a seed that never touched θ)."""

    touched: bool
    relapsed: bool
    lowest: float


def relapse(curve: dict[str, list] | None, threshold: float) -> Relapse | None:
    epochs, accuracy = (curve or {}).get("epochs") or [], (curve or {}).get("accuracy") or []
    if not epochs:
        return None
    first = next((i for i, acc in enumerate(accuracy) if acc >= threshold - TOL), None)
    if first is None:
        return Relapse(False, False, math.nan)
    lowest = float(min(accuracy[first:]))
    return Relapse(True, lowest < threshold - TOL, lowest)


CLOCKS = {"first touch": first_epoch, "for good": settled_epoch}  # name → the clock's reading of a curve


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


def times_by_cell(records: list[dict[str, Any]], threshold: float = 1.0, label: Label = scenario_label,
                  clock: Callable[[dict[str, list] | None, float], tuple[int, bool] | None] = first_epoch,
                  ) -> dict[tuple[str, str], Times]:
    """(scenario, backend) → every seed's time to learn on `clock`, censored ones included."""
    cells: dict[tuple[str, str], list[tuple[int, bool] | None]] = {}
    for r in curved(records):
        cells.setdefault((label(r), backend_label(r)), []).append(clock(r["accuracy_curve"], threshold))
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
    none yet), the estimate itself (`band_filled` says where)."""
    low, high, _ = _band(function)
    return low, high


def _band(function: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = function.confidence_interval(CONFIDENCE, method=CI_METHOD)
    p = function.probabilities
    low, high = ci.low.probabilities, ci.high.probabilities
    filled = np.isnan(low) | np.isnan(high)
    return np.where(np.isnan(low), p, low), np.where(np.isnan(high), p, high), filled


def _crossing(sf: np.ndarray, level: float) -> int | None:
    """The index of the first point at or below `level`, if any."""
    hit = np.nonzero(sf <= level + TOL)[0]
    return int(hit[0]) if hit.size else None


def _median_point(epochs: np.ndarray, sf: np.ndarray) -> float:
    """Where the survival function crosses one half; where it sits exactly at one half (exactly half
    the seeds learned by t), the midpoint between t and the next epoch at which it drops, the usual
    convention for a step function (the lower value otherwise)."""
    i = _crossing(sf, 0.5)
    if i is None:
        return math.nan
    below = np.nonzero(sf < 0.5 - TOL)[0]
    if abs(sf[i] - 0.5) <= TOL and below.size:
        return (float(epochs[i]) + float(epochs[below[0]])) / 2.0
    return float(epochs[i])


def median_time(times: Times) -> Median:
    """Median from scipy's survival function (the midpoint convention at exactly one half); CI where
    its band crosses one half (lower band → lower limit, upper band → upper limit), the usual
    Brookmeyer–Crowley reading."""
    if not any(times.learned):
        return Median(math.nan, math.nan, math.nan)
    sf = survival(times).sf
    low, high, filled = _band(sf)
    ends = [_crossing(band_, 0.5) for band_ in (low, high)]
    limits = [math.nan if i is None else float(sf.quantiles[i]) for i in ends]
    return Median(_median_point(sf.quantiles, sf.probabilities), *limits,
                  any(i is not None and filled[i] for i in ends))


def fmt_median(m: Median, censor: float, step: int = 0) -> str:
    """'120 (95–150)'; 'not reached' past the last evaluated epoch. A time read at an evaluated epoch t
    lies in (t − step, t]: a CI that collapses to one epoch is widened to that step. A '*' marks a CI
    with a limit read off the estimate where scipy's band is undefined (every seed learned by then)."""
    if math.isnan(m.value):
        return f"not reached (> {censor:,.0f})"
    low = m.low - step + 1 if step > 1 and m.low == m.high else m.low
    high = "not reached" if math.isnan(m.high) else f"{m.high:,.0f}"
    return f"{m.value:,.0f} ({low:,.0f}–{high}{'*' if m.filled else ''})"


def km_medians(epochs: np.ndarray, learned: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """The Kaplan–Meier median (midpoint convention at exactly one half) of many resamples at once:
    picks (R × n) index the seeds each resample draws. `median_time` computes the same point with
    scipy one sample at a time; a bootstrap needs thousands, so here it is arithmetic on counts per
    distinct epoch."""
    times = np.unique(epochs)
    rows = np.repeat(np.arange(picks.shape[0]), picks.shape[1])
    counts = np.zeros((picks.shape[0], epochs.size))
    np.add.at(counts, (rows, picks.ravel()), 1.0)
    at_time = (epochs[:, None] == times[None, :]).astype(float)  # n × T
    events = counts @ (at_time * learned[:, None])  # R × T
    leaving = counts @ at_time
    at_risk = epochs.size - np.cumsum(leaving, axis=1) + leaving
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1 - events / at_risk, 1.0)
    surviving = np.cumprod(factor, axis=1)
    hit = surviving <= 0.5 + 1e-9
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    medians = np.where(first >= 0, times[np.clip(first, 0, None)], np.nan)
    below = surviving < 0.5 - 1e-9
    nxt = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    half = (first >= 0) & (np.abs(surviving[np.arange(len(first)), np.clip(first, 0, None)] - 0.5) <= 1e-9)
    midpoint = half & (nxt >= 0)
    medians[midpoint] = (times[first[midpoint]] + times[nxt[midpoint]]) / 2.0
    return medians


def bootstrap_medians(times: Times, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The median of `resamples` with-replacement resamples of the seeds (NaN where not reached)."""
    return km_medians(np.asarray(times.epochs, dtype=float), np.asarray(times.learned, dtype=bool),
                      rng.integers(0, times.n, (resamples, times.n)))


RATIO_MARGIN = 1.25  # medians within this factor of each other are "equivalent" (time to learn)


def median_ratio_interval(a: Times, b: Times, confidence: float = 0.90, resamples: int = 1_000,
                          seed: int = 0) -> tuple[float, float]:
    """Seeded percentile bootstrap CI of median(a) / median(b) over seeds; at 90 % it is the equivalence
    test of two one-sided 5 % tests (inside [1/RATIO_MARGIN, RATIO_MARGIN]: equivalent). NaN where
    too few resamples reach both medians."""
    rng = np.random.default_rng(seed)
    medians = [bootstrap_medians(t, resamples, rng) for t in (a, b)]
    fine = np.isfinite(medians[0]) & np.isfinite(medians[1]) & (medians[1] > 0)
    ratios = medians[0][fine] / medians[1][fine]
    if ratios.size < resamples / 2:
        return math.nan, math.nan
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


def medians_overlap(a: Median, b: Median) -> bool:
    """Whether two medians' CIs overlap (an upper limit not reached counts as open-ended)."""
    if math.isnan(a.low) or math.isnan(b.low):
        return True
    a_high, b_high = (math.inf if math.isnan(m.high) else m.high for m in (a, b))
    return a.low <= b_high and b.low <= a_high


def logrank(a: Times, b: Times) -> float:
    """scipy's two-sided logrank p; NaN when no seed learned in either or every time is the same."""
    if not (any(a.learned) or any(b.learned)):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero variance: scipy returns NaN, we keep it
        p = float(sps.logrank(a.censored(), b.censored()).pvalue)
    return p if math.isfinite(p) else math.nan

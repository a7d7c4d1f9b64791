"""The report's "Time to learn": when each seed first gets every training pattern right.

Why: two frameworks can both end at 100 % and still differ in how long they take. Per seed, the
first evaluated epoch of its `accuracy_curve` at 100 % (and at ≥ 95 %); a seed that never gets
there is right-censored at its last evaluated epoch, never dropped, so a slow framework cannot
look fast by losing its slow seeds. The survival estimates and tests are scipy's
(`CensoredData`, `ecdf`, `logrank`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.reporting import stats
from harness.reporting.aggregate import backend_label, scenario_label, scenario_sort_key
from harness.reporting.markdown import md

LEARNED = (1.0, 0.95)  # accuracy thresholds: every pattern right, and nearly
CONFIDENCE = 0.95
CI_METHOD = "log-log"  # scipy's pointwise band of the survival function (stays inside 0–1)
TOL = 1e-9

Label = Callable[[dict[str, Any]], str]


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


def first_running_epoch(epoch_accuracy: list[float]) -> int | None:
    """The first epoch (1-based) whose running training accuracy, measured during it, is 100 %."""
    return next((i for i, a in enumerate(epoch_accuracy or [], 1) if a is not None and a >= 1.0 - TOL), None)


def _curved(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") == "ok" and (r.get("accuracy_curve") or {}).get("epochs")]


def has_curves(records: list[dict[str, Any]]) -> bool:
    return bool(_curved(records))


def times_by_cell(records: list[dict[str, Any]], threshold: float = 1.0,
                  label: Label = scenario_label) -> dict[tuple[str, str], Times]:
    """(scenario, backend) → every seed's time to learn, censored ones included."""
    cells: dict[tuple[str, str], list[tuple[int, bool]]] = {}
    for r in _curved(records):
        found = first_epoch(r["accuracy_curve"], threshold)
        if found is not None:
            cells.setdefault((label(r), backend_label(r)), []).append(found)
    ordered = sorted(cells, key=lambda k: (scenario_sort_key(k[0]), k[1]))
    return {k: Times(tuple(float(e) for e, _ in cells[k]), tuple(ok for _, ok in cells[k])) for k in ordered}


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


def resolution(records: list[dict[str, Any]]) -> dict[str, int]:
    """Scenario → the curve's step in epochs (the first gap of its evaluated epochs)."""
    out: dict[str, set[int]] = {}
    for r in _curved(records):
        epochs = r["accuracy_curve"]["epochs"]
        step = epochs[1] - epochs[0] if len(epochs) > 1 else epochs[0]
        out.setdefault(r["scenario"], set()).add(int(step))
    return {s: min(v) for s, v in sorted(out.items(), key=lambda kv: scenario_sort_key(kv[0]))}


def _running(records: list[dict[str, Any]], scenario: str, backend: str, label: Label) -> str:
    """The running training accuracy's first 100 % epoch: median over the seeds that got there."""
    mine = [r for r in _curved(records) if label(r) == scenario and backend_label(r) == backend
            and r.get("epoch_accuracy")]
    firsts = [first_running_epoch(r["epoch_accuracy"]) for r in mine]
    reached = [e for e in firsts if e is not None]
    if not mine:
        return "—"
    median = f"{np.median(reached):,.0f}, " if reached else ""
    return f"{median}{len(reached)}/{len(mine)} seeds"


def learning_table(records: list[dict[str, Any]], label: Label = scenario_label) -> pd.DataFrame:
    full, near = times_by_cell(records, 1.0, label), times_by_cell(records, LEARNED[1], label)
    rows = []
    for (scenario, backend), times in full.items():
        censor = max(times.epochs)
        near_times = near[(scenario, backend)]
        rows.append({
            "scenario": scenario, "backend": backend, "n": times.n,
            "learned 100 %": f"{sum(times.learned)}/{times.n} ({np.mean(times.learned):.0%})",
            "median epoch to 100 % (95 % CI)": fmt_median(median_time(times), censor),
            "learned ≥ 95 %": f"{sum(near_times.learned)}/{near_times.n}",
            "median epoch to ≥ 95 % (95 % CI)": fmt_median(median_time(near_times), censor),
            "running train acc first 100 % (median, seeds)": _running(records, scenario, backend, label),
        })
    return pd.DataFrame(rows)


def _logrank(a: Times, b: Times) -> float:
    """scipy's two-sided logrank p; NaN when it cannot be computed (e.g. no seed learned in either)."""
    if not (any(a.learned) or any(b.learned)):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(sps.logrank(a.censored(), b.censored()).pvalue)
    return p if math.isfinite(p) else math.nan


def framework_pairs(keys: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(scenario, keras label, torch label) for rows that differ only by framework: keras[x] ↔ torch[x]."""
    pairs = []
    for scenario, backend in keys:
        if backend == "keras" or backend.startswith("keras["):
            other = "torch" + backend[len("keras"):]
            if (scenario, other) in keys:
                pairs.append((scenario, backend, other))
    return pairs


def logrank_table(records: list[dict[str, Any]], label: Label = scenario_label,
                  alpha: float = stats.ALPHA) -> pd.DataFrame:
    """Keras vs PyTorch time to 100 % per scenario: logrank p raw and BH-adjusted across the table."""
    cells = times_by_cell(records, 1.0, label)
    rows = []
    for scenario, keras, torch in framework_pairs(list(cells)):
        a, b = cells[(scenario, keras)], cells[(scenario, torch)]
        rows.append({"scenario": scenario, "A": keras, "B": torch, "n A/B": f"{a.n}/{b.n}",
                     "learned A/B": f"{sum(a.learned)}/{sum(b.learned)}",
                     "median A": fmt_median(median_time(a), max(a.epochs)),
                     "median B": fmt_median(median_time(b), max(b.epochs)), "logrank p": _logrank(a, b)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["BH-adjusted p"] = stats.adjusted_p_values(table["logrank p"])
    table["verdict"] = ["not testable" if math.isnan(p) else "different" if p < alpha
                        else "no significant difference" for p in table["BH-adjusted p"]]
    return table


def learning_section(records: list[dict[str, Any]], label: Label = scenario_label) -> str:
    """Rendered only when some seed carries an accuracy curve."""
    if not has_curves(records):
        return ""
    steps = resolution(records)
    by_step: dict[int, list[str]] = {}
    for scenario, step in steps.items():
        by_step.setdefault(step, []).append(scenario)
    res = "; ".join(f"every {f'{step:,} epochs' if step != 1 else 'epoch'} ({', '.join(s)})"
                    for step, s in by_step.items())
    parts = [
        "## Time to learn\n\nPer seed, the first evaluated epoch at which the model gets 100 % of the "
        "training patterns right (and ≥ 95 %), read from its accuracy curve. "
        f"Resolution: {res}, so a time is known to within one step. A seed that never gets there is "
        "censored at its last evaluated epoch: it counts in `n` and in the share, and the median comes "
        "from scipy's Kaplan–Meier estimate (`scipy.stats.ecdf` of `CensoredData`), its "
        f"{CONFIDENCE:.0%} CI where scipy's {CI_METHOD} band of the survival function crosses one half; "
        "'not reached': fewer than half the seeds got there. The last column is a different quantity: "
        "the running training accuracy Keras and PyTorch report during an epoch (the weights change "
        "while it is measured), its first epoch at 100 %.",
        md(learning_table(records, label)),
        "![share of seeds that learned by each epoch](time_to_learn.png)",
    ]
    tests = logrank_table(records, label)
    if not tests.empty:
        parts.append(f"Keras vs PyTorch, time to 100 %: scipy's logrank test (two-sided, censoring-aware); "
                     f"p-values Benjamini–Hochberg-adjusted across the {len(tests)} rows, verdict on the "
                     f"adjusted p at α = {stats.ALPHA}.\n\n" + md(tests, ".3g"))
    return "\n\n".join(parts)

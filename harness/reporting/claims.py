"""The tutorial's six claims, each tested from the records with a verdict per backend.

Shared by the Findings section (the verdicts at the end of training) and the Budget section (the
same verdicts as of every checkpoint epoch), so both judge a claim by the same rule.

A verdict is worded in the claim's own terms ("small but real lift", "holds for 99 of 100
seeds"): with many seeds "holds / does not hold" hides what the numbers show. Every sentence
is computed from the records; the thresholds are constants here, printed in the report. The
findings' p-values are one family, adjusted together (Benjamini–Hochberg) before any verdict
uses them. `verdict` stays the coarse category (holds, mixed, …) for code that compares verdicts,
e.g. across checkpoint epochs; `wording` is what the report shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.reporting import significance, stats
from harness.reporting.labels import backend_label
from harness.reporting.markdown import counted, interval, p_text
from scenarios import ALPHABET, get_scenario

HOLDS, FAILS, MIXED, NO_DATA = "holds", "does not hold", "mixed", "no data"
INCONCLUSIVE = "inconclusive"  # the data lean one way, but the seeds cannot tell
END_OF_ALPHABET = ALPHABET[ALPHABET.index("N") :]  # the last 13 of the 25 one_char targets
_TARGETS = ALPHABET[get_scenario("one_char").window :]
CHANCE_END_SHARE = sum(t in END_OF_ALPHABET for t in _TARGETS) / len(_TARGETS)  # 13 / 25
END_SHARE_HOLDS = 2 / 3  # errors in N–Z needed for "mostly near the end"
LIFT_POINTS = 5.0  # accuracy points that count as a real lift
LEARNS_MIN = 95.0  # every seed at least this for "learns the mapping"
VARIABLE_NEAR = 97.0  # mean accuracy that counts as "≈ 99 %"
VARIABLE_SHORT = 90.0  # mean accuracy below which the variable-length claim does not hold


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %"


THRESHOLDS = (
    f"(1) holds when ≥ {_pct(END_SHARE_HOLDS)} of one_char errors have targets in N–Z "
    f"({sum(t in END_OF_ALPHABET for t in _TARGETS)} of {len(_TARGETS)} targets: "
    f"{_pct(CHANCE_END_SHARE)} by chance) and a sign test over seeds (more vs fewer than "
    f"{_pct(CHANCE_END_SHARE)} of a seed's errors in N–Z) is significant; significant but below "
    f"{_pct(END_SHARE_HOLDS)}: 'more than chance, not mostly'; at most {_pct(CHANCE_END_SHARE)}, or "
    "significantly fewer: does not hold; otherwise inconclusive. "
    "(2) the feature window's lift over one_char, like for like: each seed scored on the targets both "
    "scenarios have (one_char's B and C are no target of the window; the tutorial's own comparison, "
    "each on its own targets, is shown beside it); Mann–Whitney (exact given the ties): 'real lift' "
    f"when ≥ {LIFT_POINTS:g} points and significant, 'small but real lift' when significant and "
    f"< {LIFT_POINTS:g} points, 'no lift' when significantly lower; otherwise holds ('no real lift') "
    f"only when an equivalence test (TOST, two one-sided Welch t-tests) puts the lift within "
    f"±{LIFT_POINTS:g} points, and is inconclusive when it does not: no difference found is not "
    f"evidence of none. The seeds a {LIFT_POINTS:g}-point lift needs for {_pct(stats.POWER)} power "
    "are shown. "
    f"(3) every seed reaches ≥ {LEARNS_MIN:g} %; (4) every seed reaches 100 %; (5) every seed "
    "generates B…Z from A and gives B from a cold start at K; for 3–5 the verdict counts the seeds "
    f"that do, and does not hold when fewer than half do. (6) holds when the mean is ≥ "
    f"{VARIABLE_NEAR:g} %, short of it at ≥ {VARIABLE_SHORT:g} %, does not hold below. "
    f"Significant: Benjamini–Hochberg-adjusted p < {stats.ALPHA}."
)


@dataclass(frozen=True)
class Finding:
    number: int
    claim: str
    backend: str
    verdict: str  # coarse: holds / does not hold / mixed / inconclusive / no data
    evidence: str
    wording: str = ""  # the verdict in the claim's own terms, e.g. "small but real lift"
    p_value: float = math.nan  # the claim's test, raw (NaN: the claim uses none)
    p_adjusted: float = math.nan  # Benjamini–Hochberg over this evaluation's findings
    p_equivalence: float = math.nan  # the claim's equivalence test (TOST), raw (NaN: none)


Judgement = tuple[str, str, str]  # verdict (coarse), wording, evidence


@dataclass(frozen=True)
class Draft:
    """A claim checked up to its p-value: the verdict waits for the family's adjustment."""

    p_value: float
    judge: Callable[[float, float], Judgement]  # adjusted p, adjusted equivalence p → judgement
    equivalence_p: float = math.nan  # the claim's equivalence test (TOST), raw; its own family


def _fixed(verdict: str, wording: str, evidence: str) -> Draft:
    return Draft(math.nan, lambda _q, _e: (verdict, wording, evidence))


def _ok(records: list[dict], scenario: str, backend: str) -> list[dict]:
    return [r for r in records
            if r["scenario"] == scenario and backend_label(r) == backend and r["status"] == "ok"
            and not _is_variant(r)]


def _is_variant(record: dict) -> bool:
    """The tutorial's claims are about its own encoding; ablations show as their own backend rows."""
    return (record.get("options") or {}).get("encoding", "zero_based") != "zero_based"


def _acc(records: list[dict]) -> list[float]:
    return [100.0 * r["accuracy"] for r in records]


def _ci(low: float, high: float, fmt: str = ".1f") -> str:
    return interval(low, high, fmt, sep=" to ", missing="too few seeds for one")


def _end_share(targets: list[str]) -> float:
    return sum(t in END_OF_ALPHABET for t in targets) / len(targets)


def end_of_alphabet(records: list[dict], backend: str) -> Draft:
    runs = _ok(records, "one_char", backend)
    if not runs:
        return _fixed(NO_DATA, NO_DATA, "no one_char records")
    chance = _end_share([p["expected"] for r in runs for p in r["patterns"]])
    per_seed = [[p["expected"] for p in r["patterns"] if p["expected"] != p["predicted"]] for r in runs]
    errors = [t for seed in per_seed for t in seed]
    if not errors:
        return _fixed(FAILS, "does not hold: no errors at all", f"no one_char errors in {len(runs)} seeds")
    late = sum(t in END_OF_ALPHABET for t in errors)
    share = late / len(errors)
    shares = [_end_share(seed) for seed in per_seed if seed]
    above, below = sum(s > chance for s in shares), sum(s < chance for s in shares)
    p, floor = significance.sign_test(above, below)
    facts = (f"{_pct(share)} of one_char errors ({late} of {len(errors)} over "
             f"{len(runs)} seeds) have targets in N–Z, against {_pct(chance)} by chance; {above} of "
             f"{len(shares)} seeds with errors put more than {_pct(chance)} of theirs there, {below} fewer")

    def judge(q: float, _e: float) -> Judgement:
        evidence = f"{facts} ({p_text('sign test', p, q)})"
        significant = q < stats.ALPHA
        if share <= chance or (significant and below > above):
            return FAILS, "does not hold: errors no nearer the end than chance", evidence
        if significant and share >= END_SHARE_HOLDS:
            return HOLDS, "holds: errors cluster in N–Z", evidence
        if significant:
            return MIXED, f"more errors in N–Z than chance, not mostly ({_pct(share)})", evidence
        few = "" if floor < stats.ALPHA else f"; too few seeds with errors: p can never go below {floor:.2g}"
        return INCONCLUSIVE, f"leans to N–Z, not significant{few}", evidence

    return Draft(p, judge)


def _power_words(window: list[float], single: list[float]) -> tuple[bool, str]:
    """Whether these seeds could have detected a LIFT_POINTS lift, and the sentence that says so."""
    need = stats.power(window, single, LIFT_POINTS)
    if need.reason == stats.TOO_FEW:
        return False, "too few seeds to estimate the spread"
    if need.reason == stats.ZERO_SPREAD:
        return True, "zero spread: every seed of each scored the same, so no seed count is computed"
    enough = min(len(window), len(single)) >= need.seeds
    seeds = counted(int(need.seeds), "seed")
    return enough, (f"a {LIFT_POINTS:g}-point lift needs {seeds} each for 80 % power (pooled "
                    f"SD {need.sd:.1f} points); {'enough' if enough else 'too few'} seeds here")


def _targets(records: list[dict]) -> set[str]:
    return {p["expected"] for r in records for p in r["patterns"]}


def _acc_on(records: list[dict], targets: set[str]) -> list[float]:
    """Each seed's accuracy (%) on the patterns whose target is in `targets`."""
    out = []
    for r in records:
        kept = [p for p in r["patterns"] if p["expected"] in targets]
        out.append(100.0 * sum(p["expected"] == p["predicted"] for p in kept) / len(kept))
    return out


def _letters(targets: set[str]) -> str:
    """'D–Z' for a run of the alphabet, else the letters."""
    ordered = sorted(targets, key=ALPHABET.index)
    run = ALPHABET[ALPHABET.index(ordered[0]): ALPHABET.index(ordered[-1]) + 1]
    return f"{ordered[0]}–{ordered[-1]}" if list(run) == ordered else ", ".join(ordered)


def no_feature_lift(records: list[dict], backend: str) -> Draft:
    """Judged like for like, on the targets both scenarios have (one_char's B and C are not targets of
    the three-letter window): the tutorial's own comparison, each scenario on its own targets, is
    shown beside it. A lift is real when significant; the claim holds when the lift is shown to lie
    within ±LIFT_POINTS (equivalence), not when it merely is not significant."""
    window_runs, single_runs = _ok(records, "feature_window", backend), _ok(records, "one_char", backend)
    if not window_runs or not single_runs:
        return _fixed(NO_DATA, NO_DATA, "needs feature_window and one_char records")
    shared = _targets(window_runs) & _targets(single_runs)
    if not shared:
        return _fixed(NO_DATA, NO_DATA, "feature_window and one_char share no target letter")
    window, single = _acc_on(window_runs, shared), _acc_on(single_runs, shared)
    published = stats.diff_of_means(_acc(window_runs), _acc(single_runs))
    diff = stats.diff_of_means(window, single)
    test = significance.mann_whitney(window, single)
    equivalence = significance.tost(window, single, LIFT_POINTS)
    _, power = _power_words(window, single)
    facts = (f"on the {len(shared)} targets both have ({_letters(shared)}): feature_window "
             f"{np.mean(window):.1f} % vs one_char {np.mean(single):.1f} %, lift {diff.diff:+.1f} points "
             f"(95 % CI {_ci(diff.low, diff.high, '+.1f')}), n = {len(window)}/{len(single)}; as the "
             f"tutorial compared them, each on its own targets ({len(_targets(window_runs))} vs "
             f"{len(_targets(single_runs))}): {published.diff:+.1f} points")

    def judge(q: float, e: float) -> Judgement:
        if test.identical:
            return HOLDS, "no lift: every seed scores the same on the shared targets", f"{facts}; {power}"
        tost_text = (f"{p_text(f'TOST ±{LIFT_POINTS:g} points', equivalence, e)}; "
                     if math.isfinite(equivalence) else "no equivalence test (no spread within a scenario); ")
        evidence = f"{facts}; {p_text('Mann–Whitney', test.p_value, q)}; {tost_text}{power}"
        if q < stats.ALPHA:
            if diff.diff >= LIFT_POINTS:
                unsure = f"; the CI reaches below {LIFT_POINTS:g}" if diff.low < LIFT_POINTS else ""
                return FAILS, f"real lift (≥ {LIFT_POINTS:g} points{unsure})", evidence
            if diff.diff > 0:
                unsure = f"; the CI reaches past {LIFT_POINTS:g}" if diff.high >= LIFT_POINTS else ""
                return MIXED, f"small but real lift (< {LIFT_POINTS:g} points{unsure})", evidence
            return HOLDS, "no lift: the window scores lower", evidence
        if e < stats.ALPHA:
            return HOLDS, f"no real lift: within ±{LIFT_POINTS:g} points (equivalence test)", evidence
        why = (f"p can never go below {test.min_p_value:.2g} at this n" if not test.can_reach()
               else f"not shown within ±{LIFT_POINTS:g} points either")
        return INCONCLUSIVE, f"no detectable lift, not shown absent ({why})", evidence

    return Draft(test.p_value, judge, equivalence)


def _count_verdict(k: int, n: int) -> tuple[str, str]:
    """Outcome and wording of a claim every seed should meet: how many seeds do."""
    if k == n:
        return HOLDS, "holds for every seed"
    outcome = MIXED if k >= n / 2 else FAILS
    return outcome, (f"holds for {k} of {n} seeds" if outcome == MIXED
                     else f"does not hold: {k} of {n} seeds")


def _every_seed(scenario: str, floor: float) -> Callable[[list[dict], str], Draft]:
    def check(records: list[dict], backend: str) -> Draft:
        acc = _acc(_ok(records, scenario, backend))
        if not acc:
            return _fixed(NO_DATA, NO_DATA, f"no {scenario} records")
        k = sum(a >= floor - 1e-9 for a in acc)
        reach = "reach 100 %" if floor == 100.0 else f"reach ≥ {floor:g} %"
        return _fixed(*_count_verdict(k, len(acc)), f"{k} of {len(acc)} seeds {reach} on {scenario} "
                      f"(mean {np.mean(acc):.1f} %, min {min(acc):.1f} %)")
    return check


def stateful_probes(records: list[dict], backend: str) -> Draft:
    runs = [r for r in _ok(records, "stateful", backend) if "generate_from_A" in r["probes"]]
    if not runs:
        return _fixed(NO_DATA, NO_DATA, "no stateful records")
    generates = [r["probes"]["generate_from_A"]["share_correct"] == 1.0 for r in runs]
    cold_b = [bool(r["probes"]["cold_start_K"]["first_is_B"]) for r in runs]
    both = sum(g and c for g, c in zip(generates, cold_b, strict=True))
    n, right = len(runs), ALPHABET[ALPHABET.index("K") + 1]
    return _fixed(*_count_verdict(both, n), f"{sum(generates)} of {n} seeds generate B…Z from A; "
                  f"{sum(cold_b)} of {n} give B from a cold start at K ({right} would be right); "
                  f"{both} of {n} do both")


def variable_near_99(records: list[dict], backend: str) -> Draft:
    runs = _ok(records, "variable_length", backend)
    if not runs:
        return _fixed(NO_DATA, NO_DATA, "no variable_length records")
    acc = _acc(runs)
    mean, n, k = float(np.mean(acc)), len(acc), sum(a >= VARIABLE_NEAR for a in acc)
    ci = stats.bootstrap_mean_ci(acc)
    tutorial = (runs[0].get("spec") or {}).get("tutorial_accuracy")
    evidence = (f"mean {mean:.1f} % over {n} seeds (95 % CI {_ci(ci.low, ci.high)}, min "
                f"{min(acc):.1f} %); {k} of {n} seeds ≥ {VARIABLE_NEAR:g} %"
                + ("" if tutorial is None else f"; tutorial {tutorial:.1f} %"))
    if mean >= VARIABLE_NEAR:
        verdict = ("holds for every seed" if k == n
                   else f"holds on average ({k} of {n} seeds ≥ {VARIABLE_NEAR:g} %)")
        return _fixed(HOLDS, verdict, evidence)
    if mean >= VARIABLE_SHORT:
        return _fixed(MIXED, f"short of it on average ({mean:.1f} %)", evidence)
    return _fixed(FAILS, f"does not hold: mean {mean:.1f} %", evidence)


CLAIMS: tuple[tuple[str, Callable[[list[dict], str], Draft]], ...] = (
    ("one-char naive fails mostly near the end of the alphabet", end_of_alphabet),
    ("the three-char feature window gives no real lift over one-char", no_feature_lift),
    ("the three-char time-step window learns the mapping", _every_seed("timestep_window", LEARNS_MIN)),
    ("full-batch 'state within a batch' reaches 100 %", _every_seed("batch_state", 100.0)),
    ("the stateful model generates the alphabet from A and fails from a cold start at K", stateful_probes),
    ("variable-length input reaches ≈ 99 %", variable_near_99),
)


Drafted = tuple[int, str, str, Draft]  # finding number, claim, backend, the claim checked up to its p


def draft_findings(records: list[dict[str, Any]]) -> list[Drafted]:
    """Every claim per backend, checked up to its p-values (no family adjusted yet)."""
    backends = sorted({backend_label(r) for r in records})
    return [(number, claim, backend, check(records, backend))
            for number, (claim, check) in enumerate(CLAIMS, start=1) for backend in backends]


def judge_findings(drafts: list[Drafted], adjusted: list[float], equivalent: list[float]) -> list[Finding]:
    """The verdicts, from each draft's p and equivalence p adjusted in whatever family the caller chose."""
    found = []
    for (number, claim, backend, draft), q, e in zip(drafts, adjusted, equivalent, strict=True):
        verdict, wording, evidence = draft.judge(q, e)
        found.append(Finding(number, claim, backend, verdict, evidence, wording, draft.p_value, q,
                             draft.equivalence_p))
    return found


def evaluate_findings(records: list[dict[str, Any]]) -> list[Finding]:
    """Every claim per backend; the claims' p-values are adjusted as one family first, their
    equivalence tests as another."""
    drafts = draft_findings(records)
    return judge_findings(drafts, stats.adjusted_p_values([d.p_value for *_, d in drafts]),
                          stats.adjusted_p_values([d.equivalence_p for *_, d in drafts]))

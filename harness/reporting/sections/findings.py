"""The report's "The tutorial's findings, tested": each claim per backend (`claims`), worded in the
claim's own terms, the findings' tests one Benjamini–Hochberg family."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.reporting.claims import THRESHOLDS, Finding, evaluate_findings
from harness.reporting.markdown import counted, md
from harness.reporting.section import Section
from harness.reporting.view import ReportView


def findings_table(found: list[Finding]) -> pd.DataFrame:
    """One row per claim and backend."""
    return pd.DataFrame([
        {"#": f.number, "tutorial's claim": f.claim, "backend": f.backend, "verdict": f.wording or f.verdict,
         "evidence": f.evidence} for f in found
    ])


def table(view: ReportView) -> pd.DataFrame:
    return findings_table(evaluate_findings(view.reference)) if view.reference else pd.DataFrame()


def body(view: ReportView) -> str:
    found = evaluate_findings(view.reference)
    tested = sorted({f.number for f in found if np.isfinite(f.p_adjusted)})
    family = sum(np.isfinite(f.p_adjusted) for f in found)
    numbers = " and ".join(", ".join(map(str, tested)).rsplit(", ", 1))
    equivalence = sum(np.isfinite(f.p_equivalence) for f in found)
    tests = counted(family, "test")
    adjusted = (f"Many comparisons: the {tests} behind finding{'s' if len(tested) > 1 else ''} "
                f"{numbers} (one per finding and backend) are one family, their "
                "p-values adjusted together by Benjamini–Hochberg"
                + (f", and the {equivalence} equivalence tests another" if equivalence else "")
                + "; the evidence shows the raw p beside the adjusted one and the verdict uses the adjusted "
                "one. " if family else "")
    return ("Each verdict is worded in the claim's own terms and, "
            f"with every sentence, computed from the records. {adjusted}Thresholds: {THRESHOLDS}\n\n"
            + md(findings_table(found)))


SECTION = Section("The tutorial's findings, tested", body, tables={"findings": table})

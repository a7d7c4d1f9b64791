"""The one markdown-table helper every report, comparison and speed table uses."""

from __future__ import annotations

import numpy as np
import pandas as pd


def md(frame: pd.DataFrame, floatfmt: str = ".2f") -> str:
    if frame.empty:
        return "_no data_"
    blanked = frame.astype(object).where(frame.notna(), None)  # NaN → "—", not "nan"
    return blanked.to_markdown(index=False, floatfmt=floatfmt, missingval="—")


def interval(low: float, high: float, fmt: str = ".1f") -> str:
    """A confidence interval as 'low – high', or '—' when the data cannot support one."""
    return "—" if np.isnan(low) or np.isnan(high) else f"{low:{fmt}} – {high:{fmt}}"

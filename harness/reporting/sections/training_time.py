"""The report's "Training time": how the frameworks run as written first, the harness's engine second.

The headline is the idiomatic figure (Keras `fit`, an eager PyTorch loop): what a user of either
framework will see. It comes from the folder's idiomatic timing samples, or from its idiomatic
seeds where the run trained some. The `fast` figures follow, labelled as the harness's own
compiled engines, with their speed-up over the idiomatic ones.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from harness.records import steady_us_per_update
from harness.reporting.frames import ID_COLUMNS, identified, ok, timing_table
from harness.reporting.labels import (
    FRAMEWORKS,
    backend_label,
    display,
    pair_order,
    scenario_label,
    scenario_sort_key,
)
from harness.reporting.markdown import md
from harness.reporting.section import Plot, Section
from harness.reporting.speed_figure import caption, draw_speed
from harness.reporting.view import ReportView


def as_written(record: dict[str, Any]) -> str:
    """The backend label the record's model has when written idiomatically (no execution mark)."""
    return backend_label({**record, "execution": "idiomatic"})


def idiomatic_table(records: list[dict[str, Any]], timings: list[dict[str, Any]]) -> pd.DataFrame:
    """µs per update as written, per scenario × backend: the folder's idiomatic seeds (steady state,
    spread over seeds) where it has them, else its timing sample (spread over the timed blocks)."""
    rows = []
    for r in records:
        steady = steady_us_per_update(r)
        if r["status"] == "ok" and r.get("execution", "idiomatic") == "idiomatic" and steady is not None:
            rows.append((scenario_label(r), as_written(r), "idiomatic seeds", steady))
    seeded = {(s, b) for s, b, _, _ in rows}
    for t in timings:
        key = (scenario_label(t), as_written(t))
        if t["status"] == "ok" and key not in seeded:
            rows += [(*key, "timing sample", us) for us in (t.get("timing_sample") or {}).get(
                "blocks_us_per_update", [])]
    frame = pd.DataFrame(rows, columns=["scenario", "backend", "source", "us"])
    if frame.empty:
        return pd.DataFrame()
    table = frame.groupby(["scenario", "backend", "source"], sort=False)["us"].agg(
        ["median", "min", "max", "size"]).reset_index()
    table.columns = ["scenario", "backend", "source", "µs/update", "min", "max", "n"]
    order = [(scenario_sort_key(scenario), pair_order(backend))  # keras, torch, then jax
             for scenario, backend in zip(table["scenario"], table["backend"], strict=True)]
    return table.iloc[sorted(range(len(table)), key=order.__getitem__)]


def idiomatic_us(written: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(scenario, backend as written) → µs per update, from `idiomatic_table`."""
    if written.empty:
        return {}
    keys = zip(written["scenario"], written["backend"], strict=True)
    return dict(zip(keys, written["µs/update"], strict=True))


def framework_ratio(table: pd.DataFrame, value: str, suffix: str = "") -> pd.DataFrame:
    """Per scenario, A/B for each pair of backends that differ only by framework (`Keras / PyTorch`;
    with JAX too, `Keras / JAX` and `PyTorch / JAX`): the frameworks' columns, then each pair's ratio.
    A scenario is kept where at least one pair has both figures."""
    wide = table.pivot_table(index="scenario", columns="backend", values=value, sort=False)
    present = [fw for fw in FRAMEWORKS if f"{fw}{suffix}" in wide.columns]
    pairs = list(combinations(present, 2))
    if not pairs:
        return pd.DataFrame()
    out = wide[[f"{fw}{suffix}" for fw in present]].copy()
    for a, b in pairs:
        out[ratio_column(a, b)] = out[f"{a}{suffix}"] / out[f"{b}{suffix}"]
    out = out[out[[ratio_column(a, b) for a, b in pairs]].notna().any(axis=1)]
    out.columns.name = None
    return out.reset_index()


def ratio_column(a: str, b: str) -> str:
    """The column of framework a's figure over b's: 'Keras / PyTorch'."""
    return f"{display(a)} / {display(b)}"


def ratio_columns(ratio: pd.DataFrame) -> list[str]:
    return [c for c in ratio.columns if " / " in c]


def ratio_sentence(ratio: pd.DataFrame, execution: str) -> str:
    """What the ratios say, in words, for the execution they measure: one sentence per pair (a list of
    them when there are several)."""
    if ratio.empty:
        return ""
    said = [_pair_sentence(ratio.dropna(subset=[c]), c, execution) for c in ratio_columns(ratio)]
    return said[0] if len(said) == 1 else "\n".join(f"- {s}" for s in said)


def _pair_sentence(ratio: pd.DataFrame, column: str, execution: str) -> str:
    values, (a, b) = ratio[column], column.split(" / ")
    name = f"{a}/{b}"
    span = f"{values.min():.2g}–{values.max():.2g}×" if len(values) > 1 else f"{values.iloc[0]:.2g}×"
    if (values > 1).all():
        return f"{execution}: {b} is faster than {a} on every scenario here ({name} {span})."
    if (values < 1).all():
        return f"{execution}: {a} is faster than {b} on every scenario here ({name} {span})."
    faster = ", ".join(ratio.loc[values > 1, "scenario"])
    return (f"{execution}: neither framework is faster everywhere ({name} {span}); "
            f"{b} is faster on {faster or 'none'}.")


def ratio_heading(ratio: pd.DataFrame, what: str, slower: str) -> str:
    """'Keras/PyTorch ratio of …' for one pair, 'Ratios A/B of …' for more (> 1: A slower)."""
    columns = ratio_columns(ratio)
    if len(columns) == 1:
        a, b = columns[0].split(" / ")
        return f"{a}/{b} ratio of {what} (> 1: {a}{slower} slower)"
    return (f"Ratios A/B of {what}, for each pair of frameworks ({', '.join(columns)}; > 1: "
            f"A{slower} slower)")


def _jax_words(written: pd.DataFrame) -> str:
    """How JAX is written, said only where the table has JAX rows (a two-framework report reads as before)."""
    has_jax = not written.empty and written["backend"].str.startswith("jax").any()
    return (" and, in JAX, a Flax NNX model trained with Optax, one `nnx.jit` step per update" if has_jax
            else "")


def _fast_seeds(frame: pd.DataFrame) -> pd.DataFrame:
    """The ok seeds of a `to_frame` frame that the `fast` engines trained."""
    fast = ok(frame)
    return fast[fast["backend"].str.contains(r"\[fast")] if not fast.empty else fast


def fast_table(frame: pd.DataFrame, written: pd.DataFrame) -> pd.DataFrame:
    """The `fast` engines' timing per scenario × backend, with their speed-up over `written`."""
    fast = _fast_seeds(frame)
    if fast.empty:
        return pd.DataFrame()
    table = timing_table(fast).rename(columns={"us_after_epoch1": "µs after epoch 1"})
    table["updates_per_seed"] = table["updates_per_seed"].round(0).astype("Int64")
    idiomatic = idiomatic_us(written)
    as_written_label = table["backend"].str.replace("[fast,", "[", regex=False).str.replace(
        "[fast]", "", regex=False)
    table["speed-up over idiomatic ×"] = [
        idiomatic.get((s, b), np.nan) / us
        for s, b, us in zip(table["scenario"], as_written_label, table["µs after epoch 1"], strict=True)]
    return table


def draw(fig: Figure, view: ReportView) -> bool:
    """Steady µs per update, as written beside the harness's engine (`speed_figure`)."""
    return draw_speed(fig, view.reference, view.reference_timings)


PLOT = Plot("speed", "µs per update of each backend and execution", draw)


def body(view: ReportView) -> str:
    written = idiomatic_table(view.reference, view.reference_timings)
    figure = PLOT.link(view)
    parts = [figure, figure and caption(view.reference, view.reference_timings), (
        "### How the frameworks run as written (idiomatic)\n\nµs per update, one seed at a time, "
        f"trained the way people write it: Keras `model.fit`, an eager PyTorch loop{_jax_words(written)}. "
        "After the first "
        "epoch (tracing, warm-up). Source `timing sample`: a short sample `run` takes of each scenario × "
        "backend (one seed, a warm-up epoch, then blocks of whole epochs; `µs/update` is the median block, "
        "`min`–`max` the spread over blocks, `n` the blocks), never beside another job. Source "
        "`idiomatic seeds`: the run's own idiomatic seeds (median, spread and `n` over seeds).")]
    if written.empty:
        parts.append("_no idiomatic timing in this folder: it was written before `run` sampled it, by a "
                     "run of seconds (`--quick`, a few epochs: too short to time, unless "
                     "`--idiomatic-timing`) or with `--no-idiomatic-timing`; `python -m harness speed` "
                     "measures it_")
    else:
        parts.append(md(written, ".4g"))
        ratio = framework_ratio(written, "µs/update")
        if not ratio.empty:
            parts.append(ratio_heading(ratio, "µs per update, as written", "") + ":\n\n"
                         + md(ratio, ".4g") + "\n\n" + ratio_sentence(ratio, "As written"))
    fast = fast_table(view.frame, written)
    if not fast.empty:
        parts.append(
            "### The harness's compiled engine (`fast`)\n\nNot how either framework is written: the "
            "harness's own engines, training a job's `seeds_together` seeds in one compiled program "
            "(the same updates). Median per seed; `median_train_s` is each seed's share of the batch's wall "
            "time `batch_train_s`, compilation included; `us_per_update` is per seed-update over the whole "
            "job, `µs after epoch 1` after compilation; `speed-up over idiomatic ×` = idiomatic µs/update "
            "÷ `µs after epoch 1`.\n\n" + md(fast, ".3g"))
        ratio = framework_ratio(fast, "µs after epoch 1", "[fast]")
        if not ratio.empty:
            which = "The harness's `fast` engines (not the frameworks as written)"
            parts.append(ratio_heading(ratio, "the `fast` engines, µs per seed-update after epoch 1",
                                       "'s engine") + ":\n\n" + md(ratio, ".3g") + "\n\n"
                         + ratio_sentence(ratio, which))
    return "\n\n".join(p for p in parts if p)


def table(view: ReportView) -> pd.DataFrame:
    """The idiomatic figures (µs per update as written)."""
    return idiomatic_table(view.reference, view.reference_timings)


TIDY = ("source", "n", "us_per_update", "us_per_update_min", "us_per_update_max")


def tidy_table(view: ReportView) -> pd.DataFrame:
    """The API's table (docs/api.md): one row per scenario × backend × execution, one unit. Every
    `us_per_update` is steady state, the report's headline figures: idiomatic after a warm-up epoch
    (`µs/update`), fast after epoch 1, which pays compilation (`µs after epoch 1`). Median over `n`
    (seeds, or a timing sample's blocks: `source`), with the spread. Compile-included figures are per
    seed in `Results.frame` (`train_seconds`, `us_per_update`)."""
    written = table(view)
    parts = []
    if not written.empty:
        rows = written.rename(columns={"µs/update": "us_per_update", "min": "us_per_update_min",
                                       "max": "us_per_update_max"})
        parts.append(identified(rows, view.reference + view.reference_timings, as_written)
                     .assign(execution="idiomatic"))
    fast = _fast_seeds(view.frame)
    if not fast.empty:
        us = fast.groupby(["scenario", "backend"], sort=False)["steady_us_per_update"]
        rows = us.agg(["count", "median", "min", "max"]).reset_index().assign(source="fast seeds")
        rows = rows.rename(columns={"count": "n", "median": "us_per_update", "min": "us_per_update_min",
                                    "max": "us_per_update_max"})
        parts.append(identified(rows, view.reference))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)[[*ID_COLUMNS, *TIDY]]


def engine_table(view: ReportView) -> pd.DataFrame:
    """The `fast` engines' figures, with their speed-up over idiomatic."""
    return fast_table(view.frame, table(view)) if view.reference else pd.DataFrame()


SECTION = Section("Training time", body, (PLOT,),
                  {"idiomatic": table, "fast": engine_table, "timing": tidy_table})

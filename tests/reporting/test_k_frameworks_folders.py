"""The committed folders with a third framework: each one's torch records copied as `jax` records (the
same accuracies, curves and timings under another framework's name), rendered as a report. The
sections of a two-framework report all come back, now comparing every pair of the three; the
two-framework report itself is the golden test's."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from scipy import stats as sps

from harness.reporting import stats
from harness.reporting.report import render
from harness.reporting.sections import comparison, gap
from harness.reporting.view import ReportView
from harness.store import LoadedRecords, load_folder

ROOT = Path(__file__).resolve().parents[2] / "reports"
PAIRS = ("Keras − PyTorch", "Keras − JAX", "PyTorch − JAX")


def as_jax(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        if r["backend"] == "torch":
            twin = copy.deepcopy(r)
            twin.update(backend="jax", framework_versions={"jax": "0.4"})
            out.append(twin)
    return out


def with_jax(name: str) -> ReportView:
    loaded = load_folder(ROOT / name)
    return ReportView.of(LoadedRecords(loaded.records + as_jax(loaded.records), list(loaded.warnings),
                                       loaded.timings + as_jax(loaded.timings)))


def headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("## ")]


def test_the_example_with_jax_has_every_section_and_every_pair():
    view = with_jax("example")
    text = render(view)
    assert headings(text) == headings((ROOT / "example" / "report.md").read_text(encoding="utf-8"))
    table = comparison.table(view)
    assert len(table) == 3 * 6  # three pairs in each of the six scenarios
    assert set(zip(table["A"], table["B"], strict=True)) == {
        ("keras[fast]", "torch[fast]"), ("keras[fast]", "jax[fast]"), ("torch[fast]", "jax[fast]")}
    assert table[stats.P_ADJUSTED].notna().sum() == table["Mann–Whitney p"].notna().sum()
    assert "| one_char        | jax       | timing sample |" in text
    assert "Keras / PyTorch |   Keras / JAX |   PyTorch / JAX |" in text
    for number in range(1, 7):
        assert f"|   {number} |" in text.split("## The tutorial's findings, tested")[1].split("\n## ")[0]


def test_the_ablation_with_jax_explains_every_pair_of_frameworks():
    two, view = ReportView.load(ROOT / "ablation"), with_jax("ablation")
    text = render(view)
    assert "## Where the gaps between frameworks come from" in text
    for words in PAIRS:
        assert f"- **one_char ({words})**" in text
    both, alone = gap.table(view), gap.table(two)
    mine = both[both["pair"].str.contains("jax")]
    assert len(mine) > 0 and mine["settings"].iloc[0] == "each framework's own defaults"
    kept = both[~both["pair"].str.contains("jax")].reset_index(drop=True)
    assert kept["pair"].tolist() == alone["pair"].tolist()  # the Keras–PyTorch rows are what they were
    assert kept["Mann–Whitney p"].tolist() == pytest.approx(alone["Mann–Whitney p"].tolist(), nan_ok=True)
    tested = both.dropna(subset=["Mann–Whitney p"])  # one family: every pair of every block
    assert tested[stats.P_ADJUSTED].tolist() == pytest.approx(
        list(sps.false_discovery_control(tested["Mann–Whitney p"].tolist())))


def test_the_sweep_with_jax_tests_every_pair_at_every_grid_point():
    text = render(with_jax("study/sweep"))
    sweeps = text.split("## Sweeps")[1].split("\n## ")[0]
    assert "the gap of each pair of frameworks (Keras − PyTorch, Keras − JAX, PyTorch − JAX)" in sweeps
    for words in PAIRS:
        assert f"- one_char, {words} over 12 grid points after adjustment" in sweeps
    assert "Every pair of frameworks (Keras vs PyTorch, Keras vs JAX, PyTorch vs JAX)" in text

"""Budget section: records as of a checkpoint, verdicts per epoch, the change sentence, late collapses."""

from __future__ import annotations

import pytest

from harness.reporting import anytime
from harness.reporting.claims import FAILS, HOLDS, evaluate_findings
from harness.reporting.report import render
from harness.reporting.sections import budget
from harness.reporting.view import ReportView
from tests.fakes import make_record


def budget_section(records: list[dict]) -> str:
    """The section as the report renders it, heading included."""
    return budget.SECTION.render(ReportView(records))


def checkpoint(record: dict, epoch: int, wrong: dict[str, str] | None = None, **probes) -> dict:
    """A checkpoint of `record` at `epoch` whose predictions are right but for `wrong` (target → letter)."""
    wrong = wrong or {}
    predicted = "".join(wrong.get(p["expected"], p["expected"]) for p in record["patterns"])
    right = sum(p["expected"] == q for p, q in zip(record["patterns"], predicted, strict=True))
    return {"epoch": epoch, "accuracy": right / len(predicted), "predicted": predicted, "probes": probes}


def batch_state(backend: str, seed: int, wrong_at: dict[int, dict[str, str]]) -> dict:
    """A batch_state seed (5,000 epochs) with checkpoints at the given epochs, right at the end."""
    record = make_record("batch_state", backend, seed)
    record["spec"]["epochs"] = 5000
    record["checkpoints"] = [checkpoint(record, e, wrong_at.get(e)) for e in (1250, 2500, 5000)]
    return record


def flipping() -> list[dict]:
    """Finding 4 (every seed reaches 100 %) fails for torch at 1,250 and 2,500 epochs, holds at 5,000;
    keras holds throughout."""
    early = {1250: {"Z": "Y"}, 2500: {"Z": "Y"}}
    return ([batch_state("torch", s, early) for s in range(3)]
            + [batch_state("keras", s, {}) for s in range(3)])


def test_as_of_replaces_accuracy_predictions_and_probes():
    record = make_record("stateful", "torch", 0)
    record["checkpoints"] = [checkpoint(record, 10, {"C": "D"}, generate_from_A={"share_correct": 0.5})]
    then = anytime.as_of(record, 10)
    assert then["accuracy"] == pytest.approx(24 / 25) and then["epochs"] == 10
    assert next(p for p in then["patterns"] if p["expected"] == "C")["predicted"] == "D"
    assert then["probes"] == {"generate_from_A": {"share_correct": 0.5}}
    assert anytime.as_of(record, 11) is None  # no checkpoint there: the record is left out
    record["checkpoints"][0]["predicted"] = "AB"  # does not match the patterns
    assert anytime.as_of(record, 10) is None


def test_verdicts_per_epoch_and_the_change_sentence():
    table, claims = budget.verdicts_by_epoch(flipping())
    assert list(table.columns) == [1250, 2500, 5000]
    assert list(table.loc[(4, "torch")]) == [FAILS, FAILS, HOLDS]
    assert list(table.loc[(4, "keras")]) == [HOLDS, HOLDS, HOLDS]
    assert (1, "torch") not in table.index  # no one_char records: no row, and a line saying so
    sentences = budget.change_sentences(table, claims)
    finding4 = next(s for s in sentences if s.startswith("**(4)"))
    assert "torch: does not hold up to 2,500 epochs, holds from 5,000 on" in finding4
    never = "keras: holds at every budget run (1,250–5,000 epochs, 3 checkpoints): it never changes"
    assert never in finding4


def test_change_sentence_with_a_middle_run():
    text = budget.change_sentence([(10, FAILS), (20, "mixed"), (40, HOLDS), (80, HOLDS)])
    assert text == "does not hold up to 10 epochs, mixed at 20, holds from 40 on"
    assert budget.change_sentence([]) == "no checkpoint with data"


def test_the_last_checkpoint_agrees_with_the_findings_at_the_final_epoch():
    records = flipping()
    table, _ = budget.verdicts_by_epoch(records)
    final = {(f.number, f.backend): f.verdict for f in evaluate_findings(records) if f.number == 4}
    assert table[5000].to_dict() == final


def test_late_collapse_is_found_and_a_small_dip_is_not():
    collapsed = make_record("one_char", "keras", 3, wrong=dict.fromkeys("BCDEF", "Z"))  # final 80 %
    collapsed["checkpoints"] = [checkpoint(collapsed, 250, {}),
                                checkpoint(collapsed, 500, dict.fromkeys("BCDEF", "Z"))]
    dip = make_record("one_char", "torch", 1, wrong={"B": "Z"})  # final 96 %
    dip["accuracy_curve"] = {"epochs": [100, 200, 300], "accuracy": [0.5, 1.0, 0.96]}
    table = anytime.late_collapses([collapsed, dip])
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["backend"], row["scenario"], row["seed"], row["at epoch"]) == ("keras", "one_char", 3, 250)
    assert row["best %"] == 100.0 and row["final %"] == pytest.approx(80.0)
    assert row["drop (points)"] == pytest.approx(20.0)
    # the dip carries an accuracy curve, so the list sits in Time to learn beside the relapses
    text = render(ReportView([collapsed, dip]))
    learning = text.split("## Time to learn")[1].split("\n## ")[0]
    assert f"at least {anytime.COLLAPSE_POINTS:g} points below" in learning
    assert "keras: 1 of 1 seeds; torch: 0 of 1 seeds" in learning
    assert "### Late collapses" not in budget_section([collapsed, dip])
    # checkpoints alone (no curve anywhere): Budget lists it, and there is no Time to learn section
    text = budget_section([collapsed])
    assert f"at least {anytime.COLLAPSE_POINTS:g} points below" in text and "keras: 1 of 1 seeds" in text


def test_accuracy_at_checkpoints_has_mean_and_ci():
    tables = budget.accuracy_at_checkpoints(flipping())
    assert len(tables) == 1
    rows = tables[0].set_index("backend")
    # every torch seed at 96.0 there: a bootstrap CI would collapse to 96.0–96.0 and read as certainty
    assert rows.loc["torch", "1,250"] == "96.0 (all 3)" and rows.loc["keras", "5,000"].startswith("100.0")


def test_section_is_rendered_with_the_table_and_sentences():
    text = render(ReportView(flipping()))
    section = text.split("## Budget")[1]
    assert "![accuracy against epochs](budget.png)" in section
    assert "5,000 †" in section and "2,500 †" not in section
    assert "does not hold up to 2,500 epochs, holds from 5,000 on" in section
    assert text.index("## The tutorial's findings") < text.index("## Budget")
    assert "No checkpoint of their scenarios for findings 1, 2, 3, 5, 6." in section


def test_no_section_without_checkpoints():
    assert budget_section([make_record()]) == ""
    assert "## Budget" not in render(ReportView([make_record(), make_record(backend="keras")]))


def test_a_declined_backend_is_named():
    record = batch_state("torch", 0, {})
    declined = make_record("batch_state", "keras", 0, anytime_note="snapshots not supported")
    assert "- keras: snapshots not supported" in budget_section([record, declined])

"""Reports with k frameworks (issue 24): a third backend, `jax`, beside keras and torch, and a folder of
one backend. Every comparison is pairwise, all pairs of a table one Benjamini–Hochberg family; each
framework has its own colour; the findings are judged per framework. Synthetic records only."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats as sps

from harness.reporting import stats
from harness.reporting.claims import evaluate_findings
from harness.reporting.compare import render_comparison
from harness.reporting.frames import to_frame
from harness.reporting.labels import framework_pairs
from harness.reporting.plotting import EXTRA_COLOURS, KNOWN_COLOURS, colours
from harness.reporting.report import ORDER, render, write_report
from harness.reporting.sections import comparison, findings, gap, relapses, time_to_learn, training_time
from harness.reporting.view import ReportView
from harness.store import append_record, results_path
from scenarios import ALPHABET, NATIVE_ADAM_EPS
from tests.fakes import make_record

FRAMEWORKS = ("keras", "torch", "jax")
OPTIONS = {"encoding": "zero_based", "data_seed": 7, "epochs": None}
EPOCHS = [10, 20, 30, 40, 50, 60, 70, 80]
SEEDS = 8
# Errors per seed (one_char and feature_window): keras 0–1, torch 3–4, jax 6–7 → every pair differs.
ERRORS = {"keras": 0, "torch": 3, "jax": 6}
SETTLES = {"keras": 20, "torch": 40, "jax": 60}  # epoch at 100 % for good (+10 every other seed)


def curve(settles: int, relapse: bool = False) -> dict:
    accuracy = [1.0 if e >= settles else 0.5 for e in EPOCHS]
    if relapse:  # touches 100 % at 10, falls back, settles later
        accuracy[0], accuracy[1] = 1.0, 0.6 if settles > 20 else accuracy[1]
    return {"epochs": EPOCHS, "accuracy": accuracy}


def seed(scenario: str, backend: str, s: int, **options) -> dict:
    n = ERRORS[backend] + s % 2 if scenario in ("one_char", "feature_window") else 0
    wrong = dict.fromkeys(ALPHABET[26 - n:], "A") if n else None
    return make_record(scenario, backend, s, wrong=wrong, options={**OPTIONS, **options},
                       accuracy_curve=curve(SETTLES[backend] + 10 * (s % 2)))


def three(scenarios: tuple[str, ...] = ("one_char", "feature_window", "timestep_window", "batch_state"),
          backends: tuple[str, ...] = FRAMEWORKS) -> list[dict]:
    return [seed(sc, b, s) for sc in scenarios for b in backends for s in range(SEEDS)]


def timing(backend: str, blocks: list[float], scenario: str = "one_char") -> dict:
    return make_record(scenario, backend, 0, kind="idiomatic_timing",
                       timing_sample={"warmup_epochs": 1, "block_epochs": 2, "blocks_us_per_update": blocks})


def shown_title(section, view: ReportView) -> str:
    return section.heading(view) if section.heading else section.title


# --- every section, every figure ------------------------------------------------------------------

def test_every_section_and_figure_renders_with_three_frameworks():
    view = ReportView(three(), timings=[timing(b, [us]) for b, us in zip(FRAMEWORKS, (900.0, 300.0, 100.0),
                                                                          strict=True)])
    text = render(view)
    for section in ORDER:
        out = section.render(view)
        assert out == "" or out.startswith(f"## {shown_title(section, view)}\n\n"), section.title
        for name, table in section.tables.items():
            assert isinstance(table(view), pd.DataFrame), (section.title, name)
        for plot in section.plots:
            plot.draw(Figure(), view)  # raises if a figure cannot take a third framework
    for heading in ("## Backends compared", "## The tutorial's findings, tested", "## Time to learn",
                    "## Training time", "## Budget: accuracy against training epochs"):
        assert heading in text
    for backend in FRAMEWORKS:
        assert f"| {backend} " in text
    assert "With 3 frameworks (keras, torch, jax) every pair of them is a row" in text


def test_the_written_report_draws_every_figure_in_three_colours(tmp_path):
    for record in three() + [timing(b, [500.0]) for b in FRAMEWORKS]:
        append_record(results_path(tmp_path), record)
    path, warnings = write_report(tmp_path)
    assert warnings == []
    written = {p.name for p in tmp_path.glob("*.png")}
    assert {"accuracy.png", "budget.png", "time_to_learn.png", "speed.png", "letter_errors.png",
            "learning_curves.png"} <= written
    assert all(f"]({name})" in path.read_text(encoding="utf-8") for name in written)


# --- colours --------------------------------------------------------------------------------------

def label(backend: str, execution: str = "idiomatic", **options) -> dict:
    return {"backend": backend, "execution": execution, "options": options}


def test_each_framework_has_its_own_colour_blind_safe_colour():
    okabe_ito = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"}
    for execution in ("idiomatic", "fast"):
        found = colours([label(b, execution) for b in FRAMEWORKS])
        assert list(found.values()) == ["#0072B2", "#E69F00", "#009E73"]  # keras, torch unchanged; jax green
        assert set(found.values()) <= okabe_ito
    assert KNOWN_COLOURS["jax"] not in {KNOWN_COLOURS["keras"], KNOWN_COLOURS["torch"]}
    with_variant = colours([label(b) for b in FRAMEWORKS] + [label("torch", init="keras")])
    assert len(set(with_variant.values())) == 4  # the variant's spare colour is not JAX's
    assert colours([label("keras"), label("torch"), label("torch", init="keras")])["torch[init=keras]"] == (
        EXTRA_COLOURS[0])  # two frameworks: the spares as before (committed figures unchanged)
    assert colours([label("jax")]) == {"jax": "#009E73"}


# --- pairwise comparisons, one BH family ----------------------------------------------------------

def test_backends_compared_has_every_pair_with_bh_over_all_of_them():
    table = comparison.comparison_table(to_frame(three(("one_char", "feature_window"))))
    pairs = list(zip(table["scenario"], table["A"], table["B"], strict=True))
    assert pairs == [(s, a, b) for s in ("one_char", "feature_window")
                     for a, b in (("keras", "torch"), ("keras", "jax"), ("torch", "jax"))]
    raw = table["Mann–Whitney p"].tolist()
    assert table[stats.P_ADJUSTED].tolist() == pytest.approx(list(sps.false_discovery_control(raw)))
    assert set(table["verdict"]) == {stats.DIFFERENT}
    assert (table["mean A − B (points)"] > 0).all()  # keras > torch > jax


def test_time_to_learn_tests_every_pair_of_frameworks_as_one_family():
    records = three(("one_char", "stateful"))
    keys = [(s, b) for s in ("one_char",) for b in FRAMEWORKS]
    assert framework_pairs(keys) == [("one_char", "keras", "torch"), ("one_char", "keras", "jax"),
                                     ("one_char", "torch", "jax")]
    table = time_to_learn.logrank_table(records)
    assert list(zip(table["A"], table["B"], strict=True)) == [("keras", "torch"), ("keras", "jax"),
                                                              ("torch", "jax")] * 2
    assert table[stats.P_ADJUSTED].tolist() == pytest.approx(
        list(sps.false_discovery_control(table["logrank p"].tolist())))
    text = time_to_learn.SECTION.render(ReportView(records))
    assert "Every pair of frameworks (Keras vs PyTorch, Keras vs JAX, PyTorch vs JAX):" in text
    assert "- **one_char** (keras vs jax): keras learns for good sooner" in text
    assert "the 6 tests of this table (every pair of every scenario) are one family" in text


def test_findings_are_judged_per_framework_in_one_family():
    records = three(("one_char", "feature_window", "timestep_window"))
    found = evaluate_findings(records)
    for number in range(1, 7):
        assert sorted(f.backend for f in found if f.number == number) == sorted(FRAMEWORKS)
    raw = [f.p_value for f in found if f.p_value == f.p_value]
    assert len(raw) >= 6  # findings 1 and 2 tested for each of the three
    assert [f.p_adjusted for f in found if f.p_value == f.p_value] == pytest.approx(
        list(sps.false_discovery_control(raw)))
    table = findings.table(ReportView(records))
    assert set(table["backend"]) == set(FRAMEWORKS)
    assert (table[table["#"] == 3]["verdict"] == "holds for every seed").all()


# --- training time and the timing sample ----------------------------------------------------------

def test_training_time_ratios_every_pair_of_frameworks():
    written = training_time.idiomatic_table([], [timing("keras", [900.0]), timing("torch", [300.0]),
                                                 timing("jax", [100.0])])
    assert set(written["backend"]) == set(FRAMEWORKS)
    ratio = training_time.framework_ratio(written, "µs/update")
    assert list(ratio.columns) == ["scenario", "keras", "torch", "jax", "Keras / PyTorch", "Keras / JAX",
                                   "PyTorch / JAX"]
    assert ratio.iloc[0, 4:].tolist() == pytest.approx([3.0, 9.0, 3.0])
    sentences = training_time.ratio_sentence(ratio, "As written").splitlines()
    assert sentences == [
        "- As written: PyTorch is faster than Keras on every scenario here (Keras/PyTorch 3×).",
        "- As written: JAX is faster than Keras on every scenario here (Keras/JAX 9×).",
        "- As written: JAX is faster than PyTorch on every scenario here (PyTorch/JAX 3×)."]
    two = training_time.framework_ratio(written[written["backend"] != "jax"], "µs/update")
    assert list(two.columns) == ["scenario", "keras", "torch", "Keras / PyTorch"]  # as before


def test_the_timing_sample_covers_every_backend_of_the_run(monkeypatch):
    from harness.runs import plan, samples

    monkeypatch.setattr(samples, "supported_executions", lambda name: ("idiomatic", "fast"))
    request = plan.RunRequest(scenarios=("one_char", "stateful"), backends=FRAMEWORKS, seeds=(0, 1),
                              execution="fast")
    jobs = samples.plan_timing_samples(request, "run")
    assert [job.backend for job in jobs] == list(FRAMEWORKS)
    assert all([s.spec.id for s in job.samples] == ["one_char", "stateful"] for job in jobs)


# --- where the gaps come from, with a third framework whose defaults are known ----------------------

def matched_study() -> list[dict]:
    native = [seed("one_char", b, s) for b in FRAMEWORKS for s in range(SEEDS)]
    return native + [seed("one_char", b, s, init="keras") for b in ("torch", "jax") for s in range(SEEDS)]


def test_the_gap_section_pairs_every_two_frameworks_with_known_defaults(monkeypatch):
    records = matched_study()
    monkeypatch.delitem(NATIVE_ADAM_EPS, "jax", raising=False)
    assert gap.heading(ReportView(records)) == gap.TITLE  # JAX's defaults unknown: the mission's pair only
    assert set(gap.gap_table(records)["pair"]) == {"keras − torch", "keras − torch[init=keras]"}
    monkeypatch.setitem(NATIVE_ADAM_EPS, "jax", 1e-8)  # optax's, as the JAX backend registers it
    table = gap.gap_table(records)
    assert list(table["pair"]) == ["keras − torch", "keras − torch[init=keras]", "keras − jax",
                                   "keras − jax[init=keras]", "torch − jax",
                                   "torch[init=keras] − jax[init=keras]"]
    assert table["settings"].tolist()[-1] == "same init (Keras's)"  # both 1e-8 natively: eps not named
    assert table[stats.P_ADJUSTED].tolist() == pytest.approx(
        list(sps.false_discovery_control(table["Mann–Whitney p"].dropna().tolist())))
    text = gap.SECTION.render(ReportView(records))
    assert text.startswith("## Where the gaps between frameworks come from\n\n")
    for words in ("Keras − PyTorch", "Keras − JAX", "PyTorch − JAX"):
        assert f"- **one_char ({words})**: {words} is " in text
    assert "| A learned " in text and "| B median (95 % CI) " in text  # time table: sides A and B
    keras_jax = [r for r in records if r["backend"] != "torch"]
    assert gap.SECTION.render(ReportView(keras_jax)).startswith("## Where the Keras–JAX gap comes from\n\n")
    assert "| Keras learned " in gap.SECTION.render(ReportView(keras_jax))  # one pair: sides named


def test_relapses_pair_every_two_frameworks(monkeypatch):
    monkeypatch.setitem(NATIVE_ADAM_EPS, "jax", 1e-8)
    relapsing = [r["backend"] != "keras" and "init" not in r["options"] for r in matched_study()]
    records = [{**r, "accuracy_curve": curve(30, relapse=fell)}
               for r, fell in zip(matched_study(), relapsing, strict=True)]
    table = relapses.relapse_table(records)
    assert "gap (B − A, points)" in table and "A relapsed" in table
    assert len(table) == 6 and table[stats.P_ADJUSTED].notna().any()
    text = relapses.SECTION.render(ReportView(records))
    assert "- **one_char (Keras − JAX)**: JAX − Keras relapse share" in text


# --- one framework, and `harness compare` ---------------------------------------------------------

def test_a_single_backend_folder_renders_every_section(tmp_path):
    for record in [*three(backends=("jax",)), timing("jax", [100.0])]:
        append_record(results_path(tmp_path), record)
    path, _ = write_report(tmp_path)
    view = ReportView.load(tmp_path)
    for section in ORDER:
        section.render(view)
        for table in section.tables.values():
            table(view)
    text = path.read_text(encoding="utf-8")
    assert "## Backends compared" in text and "With 1 frameworks" not in text
    assert "Where the" not in text  # no pair: no gap, no relapses
    assert comparison.table(view).empty and time_to_learn.logrank_table(view.reference).empty


def test_compare_two_runs_of_three_frameworks(tmp_path):
    for name, better in (("a", False), ("b", True)):
        (tmp_path / name).mkdir()
        for record in three(("one_char",)):
            if record["backend"] == "jax" and better:
                record = seed("one_char", "keras", record["seed"]) | {"backend": "jax"}  # jax got better
            append_record(results_path(tmp_path / name), record | {"execution": "fast"})
        for backend, us in zip(FRAMEWORKS, (900.0, 300.0, 100.0 if better else 200.0), strict=True):
            append_record(results_path(tmp_path / name), timing(backend, [us]))
    text = render_comparison(tmp_path / "a", tmp_path / "b")
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| one_char")]
    accuracy, idiomatic = rows[:3], rows[3:]
    assert [row[2].strip() for row in accuracy] == ["keras[fast]", "torch[fast]", "jax[fast]"]
    assert [row[11].strip() for row in accuracy] == ["inconclusive", "inconclusive", "changed"]
    assert {row[2].strip(): row[5].strip() for row in idiomatic} == {"keras": "1", "torch": "1", "jax": "0.5"}
    assert "the 3 rank tests of this table are one family" in text

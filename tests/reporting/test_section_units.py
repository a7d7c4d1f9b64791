"""Unit tests of the report sections that were only exercised through the whole report, and the
contract every `Section` of `report.ORDER` keeps (its heading, its figures, its tables).

Synthetic records only (`tests.fakes.make_record`): nothing here trains.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.reporting.frames import pattern_frame, to_frame
from harness.reporting.plotting import write_plots
from harness.reporting.report import ORDER, REPORT_FILE, WITHOUT_RECORDS, render, write_report
from harness.reporting.sections import benchmarks, failures, letters, probes, run, training_time
from harness.reporting.view import ReportView
from harness.store import append_record, results_path
from tests.fakes import make_record

OPTIONS = {"encoding": "zero_based", "data_seed": 7, "epochs": None}
PLOTS = [plot for section in ORDER for plot in section.plots]
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


def timed(backend: str, seed: int, train_seconds: float, scenario: str = "one_char", **fields) -> dict:
    """A seed of 11 epochs × 10 updates whose first epoch took 0.1 s: after epoch 1 it runs
    1e6 (train_seconds − 0.1) / 100 µs per update (`records.steady_us_per_update`)."""
    return make_record(scenario, backend, seed, epochs=11, updates=110, train_seconds=train_seconds,
                       first_epoch_seconds=0.1, **fields)


def sample(backend: str, blocks: list[float], scenario: str = "stateful", **fields) -> dict:
    """An idiomatic timing sample: µs per update of each timed block."""
    return make_record(scenario, backend, 0, kind="idiomatic_timing",
                       timing_sample={"warmup_epochs": 1, "block_epochs": 2, "blocks_us_per_update": blocks},
                       **fields)


def ratio_frame(ratios: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"scenario": list(ratios), "Keras / PyTorch": list(ratios.values())})


# --- Training time ---------------------------------------------------------------------------------

def test_idiomatic_table_takes_idiomatic_seeds_first_and_timing_samples_elsewhere():
    records = ([timed("keras", s, t) for s, t in enumerate((1.1, 2.1, 3.1))]  # 10,000 / 20,000 / 30,000 µs
               + [timed("torch", s, 0.6) for s in range(2)]  # 5,000 µs each
               + [timed("keras", 9, 0.2, execution="fast")]  # the harness's engine: not "as written"
               + [timed("torch", 8, 0.2, status="failed", error="boom")])
    timings = [sample("torch", [300.0, 100.0, 200.0]), sample("keras", [600.0, 900.0]),
               sample("keras", [1.0], scenario="one_char"),  # one_char keras has seeds: not used
               sample("torch", [7.0], scenario="feature_window", status="failed", error="boom")]
    table = training_time.idiomatic_table(records, timings)
    assert list(table.columns) == ["scenario", "backend", "source", "µs/update", "min", "max", "n"]
    rows = {(r.scenario, r.backend): r for r in table.itertuples(index=False)}
    assert list(rows) == [("one_char", "keras"), ("one_char", "torch"), ("stateful", "keras"),
                          ("stateful", "torch")]  # registry order, then keras, torch (and jax last)
    keras = rows[("one_char", "keras")]
    assert keras.source == "idiomatic seeds" and keras.n == 3
    assert (keras[3], keras.min, keras.max) == pytest.approx((20_000.0, 10_000.0, 30_000.0))
    torch = rows[("one_char", "torch")]
    assert torch.source == "idiomatic seeds" and torch.n == 2 and torch[3] == pytest.approx(5_000.0)
    stateful = rows[("stateful", "torch")]
    assert stateful.source == "timing sample" and stateful.n == 3  # n: the timed blocks
    assert (stateful[3], stateful.min, stateful.max) == (200.0, 100.0, 300.0)
    assert rows[("stateful", "keras")][3] == 750.0
    assert training_time.idiomatic_table([], []).empty


def test_framework_ratio_pairs_keras_with_torch_per_scenario():
    records = [timed("keras", s, 2.1) for s in range(2)] + [timed("torch", s, 0.6) for s in range(2)]
    records.append(timed("keras", 0, 1.1, scenario="stateful"))  # against torch's timing sample
    timings = [sample("torch", [400.0]), sample("keras", [1_000.0], scenario="batch_state")]  # no torch there
    written = training_time.idiomatic_table(records, timings)
    ratio = training_time.framework_ratio(written, "µs/update")
    assert list(ratio.columns) == ["scenario", "keras", "torch", "Keras / PyTorch"]
    by_scenario = ratio.set_index("scenario")["Keras / PyTorch"]
    assert by_scenario.to_dict() == pytest.approx({"one_char": 4.0, "stateful": 10_000.0 / 400.0})
    only_keras = written[written["backend"] == "keras"]
    assert training_time.framework_ratio(only_keras, "µs/update").empty
    assert training_time.framework_ratio(written, "µs/update", "[fast]").empty  # no fast rows


@pytest.mark.parametrize(("ratios", "sentence"), [
    ({"one_char": 2.0},
     "As written: PyTorch is faster than Keras on every scenario here (Keras/PyTorch 2×)."),
    ({"one_char": 1.5, "stateful": 3.0},
     "As written: PyTorch is faster than Keras on every scenario here (Keras/PyTorch 1.5–3×)."),
    ({"one_char": 0.5, "stateful": 0.25},
     "As written: Keras is faster than PyTorch on every scenario here (Keras/PyTorch 0.25–0.5×)."),
    ({"one_char": 2.0, "stateful": 0.5},
     "As written: neither framework is faster everywhere (Keras/PyTorch 0.5–2×); PyTorch is faster on "
     "one_char."),
    ({"one_char": 1.0, "stateful": 0.5},
     "As written: neither framework is faster everywhere (Keras/PyTorch 0.5–1×); PyTorch is faster on none."),
])
def test_ratio_sentence_wording(ratios, sentence):
    assert training_time.ratio_sentence(ratio_frame(ratios), "As written") == sentence


def test_ratio_sentence_of_no_ratio_is_empty():
    assert training_time.ratio_sentence(pd.DataFrame(), "As written") == ""


def test_fast_table_speed_up_is_idiomatic_over_us_after_epoch_1():
    idiomatic = [timed("keras", s, 2.1) for s in range(2)] + [timed("torch", s, 0.6) for s in range(2)]
    fast = ([timed("keras", s, 0.2, execution="fast") for s in range(2)]  # 1,000 µs after epoch 1
            + [timed("torch", s, 0.15, execution="fast") for s in range(2)]  # 500 µs
            + [timed("torch", s, 0.125, execution="fast", options={**OPTIONS, "init": "keras"})
               for s in range(2)])  # 250 µs; torch[init=keras] has no idiomatic figure
    records = idiomatic + fast
    written = training_time.idiomatic_table(records, [])
    table = training_time.fast_table(to_frame(records), written).set_index("backend")
    assert list(table.index) == ["keras[fast]", "torch[fast,init=keras]", "torch[fast]"]
    assert table["µs after epoch 1"].to_dict() == pytest.approx(
        {"keras[fast]": 1_000.0, "torch[fast]": 500.0, "torch[fast,init=keras]": 250.0})
    speed_up = table["speed-up over idiomatic ×"]
    assert speed_up["keras[fast]"] == pytest.approx(20_000.0 / 1_000.0)
    assert speed_up["torch[fast]"] == pytest.approx(5_000.0 / 500.0)
    assert math.isnan(speed_up["torch[fast,init=keras]"])  # nothing as written to compare with
    assert list(table["updates_per_seed"]) == [110, 110, 110]
    assert str(table["updates_per_seed"].dtype) == "Int64"
    ratio = training_time.framework_ratio(table.reset_index(), "µs after epoch 1", "[fast]")
    assert ratio["Keras / PyTorch"].tolist() == pytest.approx([2.0])
    assert training_time.fast_table(to_frame(idiomatic), written).empty  # no fast rows: no table


def test_training_time_section_shows_both_ratios_with_their_sentences():
    records = ([timed("keras", s, 2.1) for s in range(2)] + [timed("torch", s, 0.6) for s in range(2)]
               + [timed(b, s, t, execution="fast") for b, t in (("keras", 0.2), ("torch", 0.15))
                  for s in range(2)])
    text = training_time.SECTION.render(ReportView(records))
    assert text.startswith("## Training time\n\n![µs per update of each backend and execution](speed.png)")
    assert "As written: PyTorch is faster than Keras on every scenario here (Keras/PyTorch 4×)." in text
    assert ("The harness's `fast` engines (not the frameworks as written): PyTorch is faster than Keras on "
            "every scenario here (Keras/PyTorch 2×).") in text
    assert text.index("### How the frameworks run as written") < text.index(
        "### The harness's compiled engine")


# --- Probes ----------------------------------------------------------------------------------------

def probed(seed: int, good: bool, backend: str = "torch", scenario: str = "stateful", **fields) -> dict:
    """A seed with one result of every probe kind; `good` picks the good or the bad result."""
    return make_record(scenario, backend, seed, probes={
        "cold_start_K": {"letters": "BCDEF" if good else "LMNOP", "first_is_L": not good, "first_is_B": good},
        "generate_from_A": {"generated": "BCDEFGHIJKLMNOPQRSTUVWXYZ" if good else "BBBB",
                            "share_correct": 1.0 if good else 0.0},
        "reset_each_sample": {"accuracy": 0.5 if good else 0.25, "predicted": "BBBB"},
        "state_carried": {"carried": good, "max_change": 0.5 if good else 0.0},
        "random_patterns": {"share_correct": 0.75 if good else 0.25},
    }, **fields)


def test_probe_table_value_and_example_per_probe_kind():
    records = [probed(0, True), probed(1, False), probed(2, True),
               probed(3, False, status="failed", error="boom"),  # failed: not counted
               make_record("stateful", "keras", 0)]  # no probes: no rows
    table = probes.probe_table(records)
    assert list(table.columns) == ["scenario", "backend", "probe", "n", "mean", "example"]
    assert set(table["backend"]) == {"torch"} and set(table["n"]) == {3}
    rows = table.set_index("probe")
    assert list(rows.index) == ["cold_start_K", "generate_from_A", "reset_each_sample", "state_carried",
                                "random_patterns"]
    assert rows["mean"].to_dict() == pytest.approx({
        "cold_start_K": 200 / 3,  # % of seeds whose first letter is B
        "generate_from_A": 200 / 3,  # % of B…Z generated right
        "reset_each_sample": 125 / 3,  # accuracy with a reset before every sample
        "state_carried": 200 / 3,  # % of seeds that carry the state
        "random_patterns": 175 / 3,
    })
    assert rows["example"].to_dict() == {  # the most common output across seeds
        "cold_start_K": "BCDEF", "generate_from_A": "BCDEFGHIJKLMNOPQRSTUVWXYZ", "reset_each_sample": "BBBB",
        "state_carried": "max change 0.5", "random_patterns": ""}
    assert probes.probe_table([make_record()]).empty


def test_probes_section_explains_every_probe_and_shows_the_mean_in_percent():
    text = probes.SECTION.render(ReportView([probed(0, True), probed(1, False)]))
    assert text.startswith("## Probes\n\n")
    for name in probes.PROBE_MEANING:
        assert f"- `{name}`: " in text
    assert "mean %" in text and "max change 0.5" in text


# --- Per-letter errors -----------------------------------------------------------------------------

def test_letters_table_has_rows_b_to_z_and_blank_letters_that_are_never_targets():
    records = [make_record("one_char", "torch", 0, wrong={"Z": "Y"}), make_record("one_char", "torch", 1),
               make_record("feature_window", "torch", 0, wrong={"D": "E"})]
    table = letters.letters_table(pattern_frame(records))
    assert list(table.columns) == ["letter", "one_char torch", "feature_window torch"]
    assert list(table["letter"]) == list("BCDEFGHIJKLMNOPQRSTUVWXYZ")
    rows = table.set_index("letter")
    assert rows.loc["Z", "one_char torch"] == 50.0 and rows.loc["B", "one_char torch"] == 0.0
    assert rows.loc["D", "feature_window torch"] == 100.0 and rows.loc["E", "feature_window torch"] == 0.0
    assert rows[["feature_window torch"]].loc[["B", "C"]].isna().all().all()  # window 3: B, C never targets
    body = letters.body(ReportView(records))
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")]
             for line in body.split("### ")[0].splitlines() if line.startswith("|")}
    assert cells["B"] == ["B", "0", ""] and cells["C"] == ["C", "0", ""]  # blank, not "—" or 0
    assert cells["Z"] == ["Z", "50", "0"] and cells["D"] == ["D", "0", "100"]


def test_mistakes_name_the_top_wrong_prediction_with_its_count():
    records = [make_record("one_char", "keras", 0, wrong={"Z": "Y"}),
               make_record("one_char", "keras", 1, wrong={"Z": "Y", "C": "B"}),
               make_record("one_char", "keras", 2, wrong={"Z": "W"}),
               make_record("one_char", "torch", 0),
               make_record("feature_window", "torch", 0)]  # no mistakes: no table
    found = letters.mistakes(records)
    assert list(found) == ["one_char"]
    table = found["one_char"].set_index("target letter")
    assert list(table.columns) == ["keras error %", "torch error %", "most common wrong prediction"]
    assert list(table.index) == ["C", "Z"]
    assert table.loc["Z", "keras error %"] == 100.0 and table.loc["Z", "torch error %"] == 0.0
    assert table.loc["C", "keras error %"] == pytest.approx(100 / 3)
    assert table.loc["Z", "most common wrong prediction"] == "Y (2×)"
    assert table.loc["C", "most common wrong prediction"] == "B (1×)"
    assert letters.mistakes([make_record()]) == {}


def test_by_length_for_variable_length():
    def variable(backend: str, predicted: tuple[str, str, str]) -> dict:
        record = make_record("variable_length", backend, 0)
        pairs = (("A", "B"), ("AB", "C"), ("B", "C"))
        record["patterns"] = [{"input": i, "expected": e, "predicted": p}
                              for (i, e), p in zip(pairs, predicted, strict=True)]
        return record

    records = [variable("torch", ("C", "C", "C")), variable("keras", ("B", "C", "C"))]
    table = letters.by_length(pattern_frame(records), records)
    assert list(table.columns) == ["length", "patterns", "keras", "torch"]
    assert table.set_index("length").to_dict("index") == {1: {"patterns": 2, "keras": 0.0, "torch": 50.0},
                                                          2: {"patterns": 1, "keras": 0.0, "torch": 0.0}}
    one_char = [make_record()]
    assert letters.by_length(pattern_frame(one_char), one_char).empty
    assert "by input length" in letters.body(ReportView(records))
    assert "by input length" not in letters.body(ReportView(one_char))


# --- pytest-benchmark timings ----------------------------------------------------------------------

BENCHMARK = {
    "datetime": "2026-01-02T03:04:05",
    "machine_info": {"cpu": {"brand_raw": "Test CPU"}, "alphabet_bench": {"work_size": "small"}},
    "benchmarks": [
        {"group": "one_char", "extra_info": {"backend": "torch", "execution": "idiomatic", "epochs": 10,
                                             "updates": 250, "accuracy": 0.96},
         "stats": {"mean": 0.5, "stddev": 0.01, "min": 0.49, "rounds": 5}},
        {"group": "one_char", "extra_info": {"backend": "keras"},
         "stats": {"mean": 1.0, "stddev": 0.0, "min": 1.0, "rounds": 1}},
    ],
}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_benchmark_table_us_per_update_from_the_mean_and_the_updates(tmp_path):
    data = benchmarks.load_benchmarks(write_json(tmp_path / "bench.json", BENCHMARK))
    table = benchmarks.benchmark_table(data)
    assert list(table["backend"]) == ["torch", "keras"]
    torch, keras = table.iloc[0], table.iloc[1]
    assert torch["µs/update (mean)"] == pytest.approx(1e6 * 0.5 / 250)  # 2,000 µs
    assert torch["accuracy %"] == pytest.approx(96.0) and torch["rounds"] == 5 and torch["mean s"] == 0.5
    assert pd.isna(keras["µs/update (mean)"]) and pd.isna(keras["accuracy %"])  # no updates, no accuracy


def test_benchmark_section_is_shown_only_with_a_file_even_without_records(tmp_path):
    path = write_json(tmp_path / "bench.json", BENCHMARK)
    text = benchmarks.SECTION.render(ReportView([make_record()], benchmark_json=path))
    assert text.startswith("## pytest-benchmark timings\n\nFrom `bench.json` (2026-01-02T03:04:05, Test CPU, "
                           "work size small).")
    assert re.search(r"\|\s+2000\s+\|", text)  # rounded to whole µs
    assert benchmarks.SECTION.render(ReportView([make_record()])) == ""
    assert "## pytest-benchmark timings" in render(ReportView([], benchmark_json=path))


@pytest.mark.parametrize(("content", "message"), [
    (json.dumps({"results": []}), "is not a pytest-benchmark JSON file"),
    (json.dumps({"benchmarks": [{"name": "no stats"}]}), "is not a pytest-benchmark JSON file"),
    (json.dumps([1, 2]), "is not a pytest-benchmark JSON file"),
    ("{not json", "is not JSON"),
])
def test_a_file_that_is_not_a_benchmark_json_is_refused(tmp_path, content, message):
    path = tmp_path / "other.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(benchmarks.BenchmarkJsonError, match=message):
        benchmarks.load_benchmarks(path)
    with pytest.raises(benchmarks.BenchmarkJsonError):
        benchmarks.SECTION.render(ReportView([make_record()], benchmark_json=path))


def test_a_missing_benchmark_file_is_refused(tmp_path):
    with pytest.raises(benchmarks.BenchmarkJsonError, match="cannot read"):
        benchmarks.load_benchmarks(tmp_path / "missing.json")


# --- Failures --------------------------------------------------------------------------------------

def test_failures_table_lists_every_seed_that_did_not_train():
    records = [make_record("one_char", "keras", 0), make_record("one_char", "torch", 1, status="failed",
                                                                 error="worker exited with code -9"),
               make_record("stateful", "keras", 2, status="diverged")]
    view = ReportView(records)
    table = failures.failures_table(view)
    assert list(table.columns) == ["scenario", "backend", "seed", "error"]
    assert table[["scenario", "backend", "seed"]].values.tolist() == [["one_char", "torch", 1],
                                                                      ["stateful", "keras", 2]]
    assert table["error"].iloc[0] == "worker exited with code -9" and pd.isna(table["error"].iloc[1])
    text = failures.SECTION.render(view)
    assert text.startswith("## Failures\n\n") and "worker exited with code -9" in text
    assert re.search(r"\| stateful\s+\| keras\s+\|\s+2 \| —\s+\|", text)  # no error stored: "—"
    ok = ReportView([make_record()])
    assert failures.failures_table(ok).empty and failures.SECTION.render(ok) == ""


# --- Run -------------------------------------------------------------------------------------------

def test_wall_time_per_run_from_its_start_to_its_last_record():
    records = [make_record(run_id="a", run_started="2026-01-01T00:00:00+00:00",
                           timestamp="2026-01-01T00:00:30+00:00"),
               make_record(run_id="a", seed=1, run_started="2026-01-01T00:00:00+00:00",
                           timestamp="2026-01-01T00:01:00+00:00"),
               make_record(run_id="b", run_started="2026-01-02T00:00:00+00:00",
                           timestamp="2026-01-02T01:00:05+00:00")]
    assert run.wall_time(records) == "a: 0:01:00; b: 1:00:05"
    assert run.wall_time([make_record(run_started=None)]) == "unknown"
    rows = dict(run.run_table(ReportView(records)).values.tolist())
    assert rows["wall time"] == "a: 0:01:00; b: 1:00:05"
    assert rows["run id(s)"] == "a, b" and rows["seeds"] == "0, 1"
    assert rows["started"] == "2026-01-01T00:00:00+00:00"


def test_run_section_names_the_run_and_its_knobs():
    records = [make_record(backend="keras", runtime={"threads": 4}), make_record(backend="torch")]
    view = ReportView(records)
    rows = dict(run.run_table(view).values.tolist())
    assert rows["frameworks"] == "keras 1.0, torch 1.0" and rows["command"] == "`python -m harness run`"
    assert rows["machine"] == "test cpu, 2 cores" and rows["git commit"] == "unknown"
    knobs = run.knobs_table(view).set_index("knob")
    assert knobs.loc["threads"].to_dict() == {"keras": "4", "torch": "1"}
    assert run.SECTION.render(view).startswith("## Run\n\n")
    assert run.SECTION.render(ReportView([])) == ""


def test_a_knob_set_per_job_shows_each_value_with_its_scenarios_or_says_it_varies():
    """Torch fast picks its path per job: the table must not show the last record's as the backend's."""
    path = {"one_char": "compiled", "stateful": "compiled", "batch_state": "eager-stacked"}
    records = [make_record(scenario, "torch", runtime={"threads": 1, "fast_path": p, "why": f"reason {i}"})
               for i, (scenario, p) in enumerate(path.items())]
    knobs = run.knobs_table(ReportView(records)).set_index("knob")["torch"]
    assert knobs["fast_path"] == "compiled (one_char, stateful); eager-stacked (batch_state)"
    assert knobs["threads"] == "1" and knobs["why"].count("reason") == 3  # three values: still listed
    records += [make_record("variable_length", "torch", runtime={"why": "reason 9"})]
    why = run.knobs_table(ReportView(records)).set_index("knob")["torch"]["why"]
    assert why.startswith("varies by job (4 values")


# --- The contract of every section ------------------------------------------------------------------

CURVE_EPOCHS = [50, 100, 150, 200, 250, 300, 350, 400, 450, 500]


def curve(learned_at: int | None, epochs: list[int] = CURVE_EPOCHS) -> dict:
    return {"epochs": epochs, "accuracy": [1.0 if learned_at and e >= learned_at else 0.8 for e in epochs]}


def checkpoints(record: dict, epochs: tuple[int, ...]) -> list[dict]:
    """Checkpoints that get every pattern right but the first, the last one the record's own predictions."""
    right = "".join(p["expected"] for p in record["patterns"])
    final = "".join(p["predicted"] for p in record["patterns"])
    out = []
    for epoch in epochs:
        predicted = final if epoch == epochs[-1] else "A" + right[1:]
        hits = sum(a == b for a, b in zip(predicted, right, strict=True))
        out.append({"epoch": epoch, "accuracy": hits / len(right), "predicted": predicted, "probes": {}})
    return out


def anytime(scenario: str, backend: str, seed: int, learned_at: int | None, **fields) -> dict:
    """A seed with an accuracy curve and checkpoints at half and the whole of its epochs."""
    record = make_record(scenario, backend, seed, epoch_accuracy=[0.5, 1.0], **fields)
    epochs = record["epochs"]
    record["accuracy_curve"] = curve(learned_at, [epochs * k // 10 for k in range(1, 11)])
    record["checkpoints"] = checkpoints(record, (epochs // 2, epochs))
    return record


def rich_records() -> list[dict]:
    """Something for every section: native and matched Keras/PyTorch pairs with curves and checkpoints,
    a sweep, probes, variable_length, fast engines and a failure."""
    records = []
    for s in range(3):
        records += [anytime("one_char", "keras", s, 300 + 50 * s, wrong={"Z": "Y"} if s == 0 else None),
                    anytime("one_char", "torch", s, 150 + 50 * s),
                    anytime("one_char", "torch", s, 300 + 50 * s, options={**OPTIONS, "init": "keras"}),
                    probed(s, s != 1, backend="keras", scenario="timestep_window"),
                    make_record("variable_length", "torch", s, wrong={"C": "B"} if s else None)]
        for backend, seconds in (("keras", 0.2), ("torch", 0.15)):
            records.append(timed(backend, s, seconds, scenario="feature_window", execution="fast"))
    for units in (8, 32):  # a sweep of stateful over units
        for backend in ("keras", "torch"):
            for s in range(2):
                record = anytime("stateful", backend, s, 150 if units == 32 else None,
                                 command="python -m harness sweep --grid units=8,32",
                                 options={**OPTIONS, "units": units})
                record["spec"].update(units=32, learning_rate=0.001, epochs=300)
                records.append(record)
    records.append(make_record("one_char", "torch", 7, status="failed", error="boom"))
    return records


@pytest.fixture
def rich_view(tmp_path) -> ReportView:
    return ReportView(rich_records(), timings=[sample("keras", [500.0, 700.0], scenario="feature_window"),
                                               sample("torch", [200.0, 300.0], scenario="feature_window")],
                      warnings=["results.jsonl:9: not valid JSON (torn or garbage line), skipped"],
                      benchmark_json=write_json(tmp_path / "bench.json", BENCHMARK))


def plain_view() -> ReportView:
    """One seed of one backend: most optional sections have nothing to show."""
    return ReportView([make_record()])


def test_every_section_renders_empty_or_under_its_own_heading(rich_view):
    for view in (rich_view, plain_view()):
        for section in ORDER:
            text = section.render(view)
            assert isinstance(text, str)
            assert text == "" or text.startswith(f"## {section.title}\n\n"), section.title
            assert text.count("\n## ") == 0, f"{section.title} renders another top-level heading"
    assert all(section.render(rich_view) for section in ORDER)  # the rich view exercises every section
    plain = [section.title for section in ORDER if not section.render(plain_view())]
    assert plain == ["Sweep in this folder", "Where the Keras–PyTorch gap comes from",
                     "Where the relapses come from", "Budget: accuracy against training epochs",
                     "Time to learn", "Sweeps", "Failures", "pytest-benchmark timings", "Warnings"]
    for section in WITHOUT_RECORDS:  # what a folder without records still renders
        text = section.render(ReportView([], benchmark_json=rich_view.benchmark_json, warnings=["w"]))
        assert text.startswith(f"## {section.title}\n\n")


def test_the_report_is_its_sections_in_order(rich_view):
    text = render(rich_view)
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [section.title for section in ORDER]
    assert text.startswith("# alphabet-bench report\n\n_Records trained by commit") and text.endswith("\n")
    assert text.split("\n\n")[2].startswith("## Run")  # title, provenance line, then the sections


def test_every_figure_linked_in_the_report_is_written(rich_view, tmp_path):
    out = tmp_path / "out"
    text = render(rich_view)
    written = write_plots(rich_view, out, PLOTS)
    assert len({plot.key for plot in PLOTS}) == len(PLOTS)  # one file per figure
    linked = [plot for plot in PLOTS if plot.image in text]
    assert [plot.key for plot in linked] == [plot.key for plot in PLOTS]  # this view links every figure
    for plot in linked:
        assert written[plot.key] == out / plot.file and (out / plot.file).stat().st_size > 1000
    assert sorted(IMAGE_LINK.findall(text)) == sorted(plot.file for plot in PLOTS)  # no other image link
    assert sorted(p.name for p in out.iterdir()) == sorted(plot.file for plot in PLOTS)


def test_a_plain_view_links_only_the_figures_it_writes(tmp_path):
    view = plain_view()
    text = render(view)
    written = write_plots(view, tmp_path, PLOTS)
    assert set(written) == {"accuracy", "letter_errors", "speed", "learning_curves"}
    for file in IMAGE_LINK.findall(text):
        assert (tmp_path / file).is_file(), file


@pytest.mark.parametrize(("records", "figures"), [
    ([make_record(epoch_loss=[], us_per_update=None, first_epoch_seconds=None)],
     {"accuracy.png", "letter_errors.png"}),
    ([make_record(status="failed", error="boom")], set()),
], ids=["no-loss-no-timing", "all-failed"])
def test_the_written_report_links_exactly_the_figures_written(records, figures, tmp_path):
    """A figure whose data is missing is not drawn, and then not linked either (no broken image)."""
    for record in records:
        append_record(results_path(tmp_path), record)
    path, _ = write_report(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert {p.name for p in tmp_path.glob("*.png")} == figures
    assert set(IMAGE_LINK.findall(text)) == figures
    assert "\n\n\n" not in text  # a figure left out leaves no blank paragraph behind
    assert path.name == REPORT_FILE


def test_every_section_table_is_a_data_frame(rich_view):
    named = {(section.title, name) for section in ORDER for name in section.tables}
    assert len(named) >= 12  # the sections do declare their tables
    for view in (rich_view, plain_view()):
        for section in ORDER:
            for name, table in section.tables.items():
                frame = table(view)
                assert isinstance(frame, pd.DataFrame), (section.title, name)
    for section in ORDER:
        for name, table in section.tables.items():
            if name != "late_collapses":  # no seed of the rich view collapses late
                assert not table(rich_view).empty, (section.title, name)


def test_a_study_part_stamped_with_the_studys_start_is_timed_from_its_own_run_id():
    """Committed study parts carry the study's start as `run_started`; the run id's stamp (made when
    the part began) is later, and the part's wall time runs from it, not from the study's start."""
    study_start = "2026-11-28T21:30:00+00:00"
    records = [make_record(run_id="20261128T213900Z-4881f0", seed=s, run_started=study_start,
                           timestamp=f"2026-11-28T21:4{s}:00+00:00") for s in (1, 2)]
    assert run.wall_time(records) == "20261128T213900Z-4881f0: 0:03:00"
    own = [make_record(run_id="20261128T213900Z-4881f0", run_started="2026-11-28T21:40:00+00:00",
                       timestamp="2026-11-28T21:42:00+00:00")]
    assert run.wall_time(own) == "20261128T213900Z-4881f0: 0:02:00"  # its own start is later: kept


def test_the_report_opens_with_the_commits_and_machines_its_records_came_from():
    records = [make_record(seed=0, git_commit="a" * 40, machine={"cpu": "CPU X", "cores": 2}),
               make_record(seed=1, git_commit="b" * 40 + "-dirty", machine={"cpu": "CPU Y", "cores": 16})]
    text = render(ReportView(records))
    lines = text.splitlines()
    assert lines[2] == (f"_Records trained by commits `{'a' * 12}`, `{'b' * 12}-dirty` "
                        "on CPU X, 2 cores; CPU Y, 16 cores._")
    rows = dict(run.run_table(ReportView(records)).values.tolist())
    assert rows["machine"] == "CPU X, 2 cores; CPU Y, 16 cores" and rows["git commit"].count(",") == 1

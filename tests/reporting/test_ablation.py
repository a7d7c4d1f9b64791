"""The report's "where the gap comes from" finding, on synthetic records with known answers."""

from __future__ import annotations

import pytest

from harness.reporting.ablation import Settings, ablation_section, effective_settings, gap_table, shared
from harness.reporting.report import render
from tests.fakes import make_record

OPTIONS = {"encoding": "zero_based", "data_seed": 7, "epochs": None, "init": "native"}


def seeds(backend: str, accuracy: list[float], scenario: str = "one_char", **options) -> list[dict]:
    """One record per accuracy, with the given options (init, adam_eps, gate_activation)."""
    return [make_record(scenario, backend, seed=i, accuracy=a, options={**OPTIONS, **options})
            for i, a in enumerate(accuracy)]


KERAS = [0.80, 0.81, 0.82, 0.80, 0.81, 0.82, 0.80, 0.81]
TORCH_LOW = [0.70, 0.71, 0.72, 0.70, 0.71, 0.72, 0.70, 0.71]  # native gap +10 points, p < 0.001
TORCH_MATCHED = [0.80, 0.81, 0.82, 0.80, 0.81, 0.82, 0.81, 0.80]  # same as keras: gap 0


def test_effective_settings_resolve_native_to_each_frameworks_defaults():
    keras = make_record(backend="keras", options=OPTIONS)
    torch = make_record(backend="torch", options={**OPTIONS, "init": "keras", "adam_eps": 1e-7})
    assert effective_settings(keras) == Settings("keras", 1e-7, "sigmoid")
    assert effective_settings(torch) == Settings("keras", 1e-7, "sigmoid")
    assert shared(effective_settings(keras), effective_settings(torch)) == (
        "same init (Keras's), same Adam eps (1e-07)")
    assert shared(Settings("keras", 1e-7, "sigmoid"), Settings("torch", 1e-8, "sigmoid")) is None
    assert shared(Settings("keras", 1e-7, "sigmoid"), Settings("keras", 1e-8, "hard_sigmoid_2017")) is None
    swapped_init = shared(Settings("torch", 1e-7, "sigmoid"), Settings("keras", 1e-7, "sigmoid"))
    assert swapped_init is None  # matched eps, but the inits swapped: not an ablation of the native pair


def test_matched_init_that_closes_the_gap_is_reported_as_explained():
    records = seeds("keras", KERAS) + seeds("torch", TORCH_LOW) + seeds("torch", TORCH_MATCHED, init="keras")
    table = gap_table(records)
    assert list(table["settings"]) == ["each framework's own defaults", "same init (Keras's)"]
    native, matched = table.iloc[0], table.iloc[1]
    assert native["gap (points)"] == pytest.approx(10.0, abs=0.2)
    assert native["Mann–Whitney p"] < 0.01
    assert abs(matched["gap (points)"]) < 0.5 and matched["Mann–Whitney p"] > 0.5
    share = matched["gap (points)"] / native["gap (points)"]
    assert matched["share of native gap left"] == pytest.approx(share)
    text = ablation_section(records)
    assert "closes most of it" in text and "torch[init=keras]" in text


def test_a_gap_that_survives_matching_is_blamed_on_the_framework():
    records = seeds("keras", KERAS) + seeds("torch", TORCH_LOW) + seeds("torch", TORCH_LOW, init="keras")
    text = ablation_section(records)
    assert "a framework difference remains" in text
    assert "closes most of it" not in text


def test_no_native_gap_means_nothing_to_explain_and_no_matched_pair_means_no_section():
    same = seeds("keras", KERAS) + seeds("torch", TORCH_MATCHED)
    assert ablation_section(same) == ""  # no ablation rows: the section is left out
    text = ablation_section(same + seeds("torch", TORCH_MATCHED, init="keras"))
    assert "no significant native gap" in text


def test_pairs_stay_within_a_scenario_and_the_full_report_includes_the_section():
    records = (seeds("keras", KERAS) + seeds("torch", TORCH_LOW) + seeds("torch", TORCH_MATCHED, init="keras")
               + seeds("keras", KERAS, scenario="stateful")
               + seeds("torch", KERAS, scenario="stateful", init="keras"))
    table = gap_table(records)
    assert set(table["scenario"]) == {"one_char"}  # stateful has no native torch row
    report = render(records)
    assert "## Where the Keras–PyTorch gap comes from" in report
    assert report.index("## Backends compared") < report.index("## Where the Keras–PyTorch gap")


def test_both_on_the_2017_gate_is_a_pair_of_its_own():
    records = (seeds("keras", KERAS) + seeds("torch", TORCH_LOW)
               + seeds("keras", KERAS, gate_activation="hard_sigmoid_2017")
               + seeds("torch", TORCH_LOW, gate_activation="hard_sigmoid_2017"))
    table = gap_table(records)
    assert list(table["settings"]) == ["each framework's own defaults", "both hard_sigmoid_2017"]
    assert list(table["pair"])[1] == (
        "keras[gate_activation=hard_sigmoid_2017] − torch[gate_activation=hard_sigmoid_2017]")

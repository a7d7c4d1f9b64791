"""The Python API: the CLI's run in Python (same records), `load`, the results' tables and their
inline display, and bad arguments raising the line the CLI prints."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import harness
from harness.cli import main
from harness.reporting.markdown import md
from harness.store import append_record, results_path
from tests.cli import CRASH_ENV, ROOT
from tests.cli import harness as cli
from tests.conftest import needs_backend
from tests.fakes import make_record

EXAMPLE = ROOT / "reports" / "example"
# What a seed learned: equal for the same request whatever called it (run ids and timings differ).
LEARNED = ["label", "backend_label", "seed", "status", "accuracy", "predicted", "probes"]


@pytest.fixture
def crash(monkeypatch):
    """The crash backend (framework-free) registered in this process and its workers."""
    for key, value in CRASH_ENV.items():
        monkeypatch.setenv(key, value)


def _learned(results: harness.Results) -> list[dict]:
    frame = results.frame
    rows = frame[LEARNED].to_dict("records")
    for row, loss, checkpoints in zip(rows, frame["epoch_loss"], frame["checkpoints"], strict=True):
        row["epoch_loss"] = [round(x, 6) for x in loss]
        row["checkpoints"] = [(c["epoch"], c["accuracy"], c["predicted"], c.get("probes"))
                              for c in checkpoints]
    return rows


@pytest.mark.slow  # two real trainings (~1 min): the README's pytest stays within ~10 min
@needs_backend("torch")
def test_the_api_and_the_cli_train_the_same_seeds(tmp_path):
    """A tiny real run both ways: the same accuracy, predictions, per-epoch losses, probes, checkpoints."""
    argv = ["run", "--backend", "torch", "--scenario", "one_char", "stateful", "--seed", "0", "1",
            "--epochs", "4", "--execution", "idiomatic", "--out", str(tmp_path / "cli")]
    done = cli(*argv)
    assert done.returncode == 0, done.stderr
    api = harness.run(scenarios=["one_char", "stateful"], backends="torch", seeds=[0, 1], epochs=4,
                      execution="idiomatic", out=tmp_path / "api", progress=False)
    from_cli = harness.load(tmp_path / "cli")
    assert len(api.frame) == 4 and (api.frame["status"] == "ok").all()
    assert api.frame["probes"].map(bool).any()  # stateful's probes are compared too
    assert _learned(api) == _learned(from_cli)
    assert api.frame["run_id"].iloc[0] != from_cli.frame["run_id"].iloc[0]
    assert api.outcome.trained == 4 and api.report_path == tmp_path / "api" / "report.md"


def test_a_run_with_failures_returns_them_as_rows(tmp_path, crash, monkeypatch):
    monkeypatch.setenv("CRASH_MODE", "raise")
    with pytest.warns(harness.SeedsFailedWarning,
                      match=r"^2 of 3 seed runs failed; the first: RuntimeError: boom on purpose") as warned:
        results = harness.run(scenarios="one_char", backends="crash", seeds=3, epochs=2, workers=1,
                              idiomatic_timing=True, out=tmp_path / "run", progress=False)
    assert len(warned) == 1 and warned[0].filename == __file__  # it points at the call
    frame = results.frame
    assert len(frame) == 3 and len(results.timings) == 1  # the timing sample is no row
    failed = frame[frame["status"] != "ok"]
    assert failed["seed"].tolist() == [1, 2] and "boom on purpose" in failed["error"].iloc[0]  # its job died
    assert results.outcome.failed == 2 and results.accuracy()["failed"].tolist() == [2]
    assert {"encoding", "units", "learning_rate", "init"} <= set(frame.columns)
    assert frame["epoch_loss"].iloc[0] == [1.0, 1.0] and len(frame["predicted"].iloc[0]) == 25
    assert "harness.run(scenarios='one_char'" in json.loads(results_path(tmp_path / "run").read_text()
                                                          .splitlines()[0])["command"]


@pytest.mark.parametrize(("mode", "error"), [("raise", "RuntimeError: boom on purpose"),
                                             ("exit", "worker exited with code 3 before finishing")])
def test_a_call_whose_seeds_all_failed_raises_run_failed(tmp_path, crash, monkeypatch, mode, error):
    monkeypatch.setenv("CRASH_MODE", mode)
    monkeypatch.setenv("CRASH_SEED", "0")  # the job's first seed: its death takes the other with it
    with pytest.raises(harness.RunFailed) as raised:
        harness.run(scenarios="one_char", backends="crash", seeds=2, epochs=2, workers=1,
                    idiomatic_timing=False, out=tmp_path / "run", progress=False)
    assert isinstance(raised.value, RuntimeError)
    message = str(raised.value)
    assert message.startswith(f"all 2 seed run(s) of this call failed; the first: {error}")
    assert "\n" not in message
    frame = raised.value.results.frame
    assert frame["seed"].tolist() == [0, 1] and set(frame["status"]) == {"failed"}
    assert error in frame["error"].iloc[0]


def test_failures_of_earlier_calls_and_diverged_seeds_neither_raise_nor_warn(tmp_path, crash, monkeypatch):
    """A folder's failures from another call are not this call's; a diverged seed is a result."""
    common = {"backends": "crash", "seeds": 1, "epochs": 2, "workers": 1, "idiomatic_timing": False,
              "out": tmp_path / "run", "progress": False}
    monkeypatch.setenv("CRASH_SEED", "0")
    monkeypatch.setenv("CRASH_MODE", "raise")
    with pytest.raises(harness.RunFailed):
        harness.run(scenarios="stateful", **common)
    monkeypatch.setenv("CRASH_MODE", "nan")
    with warnings.catch_warnings():
        warnings.simplefilter("error", harness.SeedsFailedWarning)
        results = harness.run(scenarios="one_char", **common)
    statuses = dict(zip(results.frame["scenario"], results.frame["status"], strict=True))
    assert statuses == {"stateful": "failed", "one_char": "diverged"}


def test_timing_samples_are_timing_rows_not_frame_rows(tmp_path, crash):
    results = harness.run(scenarios="one_char", backends="crash", seeds=2, epochs=2, workers=1,
                          idiomatic_timing=True, out=tmp_path / "run", progress=False)
    assert len(results.timings) == 1 and len(results.frame) == 2
    assert set(results.timing()["execution"]) == {"idiomatic", "fast"}


def test_a_sweep_runs_every_grid_point_as_the_cli_does(tmp_path, crash):
    results = harness.sweep(grid={"units": [8, 16]}, scenarios="one_char", backends="crash", seeds=2,
                            epochs=2, workers=1, out=tmp_path / "api", progress=False)
    done = cli("sweep", "--grid", "units=8,16", "--scenario", "one_char", "--backend", "crash", "--seeds",
               "2", "--epochs", "2", "--workers", "1", "--out", str(tmp_path / "cli"))
    assert done.returncode == 0, done.stderr
    assert sorted(results.frame["units"]) == [8, 8, 16, 16]
    assert _learned(results) == _learned(harness.load(tmp_path / "cli"))
    assert list(results.sweeps()) == ["one_char"]


def test_load_gives_the_reports_tables():
    results = harness.load(EXAMPLE)
    report = (EXAMPLE / "report.md").read_text()
    assert md(results.findings()) in report
    assert {row.scenario_label: row.mean for row in results.accuracy().itertuples()}["stateful"] == 100.0
    letters = results.letters().set_index(["scenario_label", "backend_label", "letter"])["error_rate"]
    assert (letters[("one_char", "torch[fast]", "C")], letters[("one_char", "keras[fast]", "C")]) == (100, 70)
    assert re.search(r"\n\| C +\| +100 \| +70 \|", report)  # the report's row (tests/harness/test_tables.py)
    assert len(results.frame) == 120 and set(results.frame["status"]) == {"ok"}
    assert results.report_path == EXAMPLE / "report.md" and "letter_errors" in results.figures


def test_the_inline_summary_holds_the_accuracy_table_and_figures():
    results = harness.load(EXAMPLE)
    markdown = results._repr_markdown_()
    shown = (EXAMPLE / "report.md").read_text().split("## Accuracy\n\n")[1].split("\n\n")[1]
    assert shown.startswith("| scenario") and shown in markdown  # the report's table, as printed
    assert "letter_errors.png" in markdown and "accuracy.png" in markdown
    page = results._repr_html_()
    assert page.count("data:image/png;base64,") == 2 and "<table" in page and "feature_window" in page


def test_load_takes_a_partial_folder_with_a_torn_line(tmp_path):
    append_record(results_path(tmp_path), make_record(seed=0))
    append_record(results_path(tmp_path), make_record(seed=1, status="failed", error="killed"))
    with open(results_path(tmp_path), "a") as handle:
        handle.write(json.dumps(make_record(seed=2))[:50])
    results = harness.load(tmp_path)
    assert results.frame["status"].tolist() == ["ok", "failed"]
    assert len(results.warnings) == 1 and "torn" in results.warnings[0]
    assert results.report_path is None and "torn" in results._repr_markdown_()


def _cli_error(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    return err.removeprefix("error: ").rstrip("\n")


@pytest.mark.parametrize(("kwargs", "argv"), [
    ({"scenarios": "nope"}, ["run", "--scenario", "nope"]),
    ({"backends": ["torch", "mxnet"]}, ["run", "--backend", "torch", "mxnet"]),
    ({"seeds": 0}, ["run", "--seeds", "0"]),
    ({"seeds": [3, -1]}, ["run", "--seed", "3", "-1"]),
    ({"epochs": 0}, ["run", "--epochs", "0"]),
    ({"epochs": "many"}, ["run", "--epochs", "many"]),
    ({"workers": 0}, ["run", "--workers", "0"]),
    ({"encoding": "two_based"}, ["run", "--encoding", "two_based"]),
    ({"execution": "slow"}, ["run", "--execution", "slow"]),
    ({"units": 0}, ["run", "--units", "0"]),
    ({"learning_rate": 0}, ["run", "--learning-rate", "0"]),
    ({"adam_eps": 2}, ["run", "--adam-eps", "2"]),
    ({"checkpoints": False, "eval_at": [5]}, ["run", "--no-checkpoints", "--eval-at", "5"]),
    ({"checkpoints": False, "time_to_learn": True}, ["run", "--no-checkpoints", "--time-to-learn"]),
    ({"quick": True, "epochs_scale": 2}, ["run", "--quick", "--epochs-scale", "2"]),
    ({"epochs": 5, "epochs_scale": 2}, ["run", "--epochs", "5", "--epochs-scale", "2"]),
    ({"ray_address": "auto"}, ["run", "--ray-address", "auto"]),
    ({"grid": {"width": [8]}}, ["sweep", "--grid", "width=8"]),
    ({"grid": {"units": [8, "x"]}}, ["sweep", "--grid", "units=8,x"]),
    ({"grid": {"units": []}}, ["sweep", "--grid", "units="]),
    ({"grid": {"units": [8]}, "units": 16}, ["sweep", "--grid", "units=8", "--units", "16"]),
    ({"grid": {"epochs": [5, 10]}, "quick": True}, ["sweep", "--grid", "epochs=5,10", "--quick"]),
])
def test_bad_arguments_raise_the_line_the_cli_prints(tmp_path, capsys, kwargs, argv):
    out = tmp_path / "out"
    expected = _cli_error([*argv, "--out", str(out)], capsys)
    call = harness.sweep if "grid" in kwargs else harness.run
    with pytest.raises((ValueError, TypeError)) as raised:
        call(**kwargs, out=out, progress=False)
    assert str(raised.value) == expected
    assert isinstance(raised.value, harness.UsageError)
    assert not out.exists()


def test_wrong_types_and_folders_are_refused(tmp_path, capsys):
    with pytest.raises(TypeError, match="--seeds: True is not an integer"):
        harness.run(seeds=True, out=tmp_path / "out")
    with pytest.raises(TypeError, match="valid keywords: scenarios, backends"):
        harness.run(colour="red", out=tmp_path / "out")
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="not a folder") as raised:
        harness.run(scenarios="one_char", out=target)
    assert str(raised.value) == _cli_error(["run", "--scenario", "one_char", "--out", str(target)], capsys)
    with pytest.raises(ValueError) as raised:
        harness.load(tmp_path / "missing")
    assert str(raised.value) == _cli_error(["report", str(tmp_path / "missing")], capsys)
    assert not any(p.name == "out" for p in tmp_path.iterdir())


def _run_flags(capsys) -> str:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("call", ["run", "sweep"])
def test_an_unknown_keyword_is_a_usage_error_naming_the_valid_ones(tmp_path, capsys, call):
    function = getattr(harness, call)
    grid = {"grid": {"units": [8]}} if call == "sweep" else {}
    with pytest.raises(harness.UsageError) as raised:
        function(**grid, colour="red", out=tmp_path / "out")
    assert isinstance(raised.value, TypeError) and raised.value.__context__ is None
    message = str(raised.value)
    head, _, valid = message.partition("; valid keywords: ")
    assert head == f"harness.{call}(): unexpected keyword argument 'colour'" and "\n" not in message
    listed = valid.split(", ")
    named = [p for p in inspect.signature(function).parameters if p != "options"]
    assert set(named) <= set(listed) and "colour" not in listed
    flags = _run_flags(capsys)
    for keyword in set(listed) - set(named):  # each of the others is a flag (checkpoints: --no-checkpoints)
        assert re.search(rf"--(no-)?{keyword.replace('_', '-')}(?![\w-])", flags), keyword
    with pytest.raises(harness.UsageError, match=r"argument 'seed'; use scenarios=, backends=, seeds="):
        function(**grid, seed=[1], out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("seeds", ["abc", "3", b"01"])
def test_seeds_as_text_are_refused_as_not_a_count_or_a_list(tmp_path, seeds):
    with pytest.raises(harness.UsageError) as raised:
        harness.run(seeds=seeds, out=tmp_path / "out")
    assert isinstance(raised.value, TypeError)
    assert str(raised.value) == f"seeds: {seeds!r} is not a count or a list of seeds"
    assert not (tmp_path / "out").exists()


def test_import_harness_stays_light():
    code = ("import sys, harness; "
            "light = [m for m in ('pandas', 'torch', 'harness.api') if m in sys.modules]; "
            "harness.load; print(light, 'pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(ROOT),
                          check=True)
    assert done.stdout.strip() == "[] True", done.stdout + done.stderr

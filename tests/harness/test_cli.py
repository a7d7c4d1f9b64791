"""CLI: bad input is one line and exit 2 with nothing written (fuzzed too); list, report and compare work."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import cli
from harness.cli import main
from harness.store import append_record, results_path
from scenarios import SCENARIOS
from tests.cli import harness
from tests.fakes import make_record


def _benchmark_json(path):
    path.write_text(json.dumps({
        "machine_info": {"cpu": {"brand_raw": "test cpu"}, "alphabet_bench": {"work_size": "smoke"}},
        "datetime": "2026-01-01T00:00:00",
        "benchmarks": [{
            "group": "one_char", "name": "test_training_speed[one_char-torch]",
            "stats": {"mean": 0.5, "stddev": 0.01, "min": 0.49, "rounds": 3},
            "extra_info": {"backend": "torch", "execution": "idiomatic", "epochs": 10, "updates": 250,
                           "accuracy": 0.2},
        }],
    }))
    return path


TOKENS = st.sampled_from([
    "run", "list", "report", "compare", "--all", "--scenario", "one_char", "stateful", "nope",
    "--backend", "torch", "keras", "jax", "--seeds", "--seed", "--epochs", "--workers", "--timeout",
    "--quick", "--fresh", "--verify", "--encoding", "one_based", "--data-seed", "--out", "--benchmark-json",
    "0", "-1", "3", "1e9", "x", "", "--", "-h", "out", "missing.json",
])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--scenario", "nope"], "one_char"),
        (["run", "--backend", "mxnet"], "keras"),
        (["run", "--seeds", "0"], "positive"),
        (["run", "--seeds", "-3"], "positive"),
        (["run", "--epochs", "0"], "positive"),
        (["run", "--epochs", "many"], "not an integer"),
        (["run", "--workers", "0"], "positive"),
        (["run", "--seed", "-1"], "0..2147483647"),
        (["run", "--encoding", "two_based"], "zero_based"),
        (["run", "--all", "--scenario", "one_char"], "not allowed"),
        (["run", "--idiomatic-timing", "--no-idiomatic-timing"], "not allowed"),
        (["bogus"], "list"),
        ([], "required"),
    ],
)
def test_bad_run_arguments_exit_2_with_one_line(tmp_path, capsys, args, expected):
    out = tmp_path / "out"
    code = main([*args, "--out", str(out)] if args and args[0] == "run" else args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err
    assert not out.exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["run", "--scenario", "one_char", "--out", str(target)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_report_on_missing_folder_is_refused(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "results.jsonl does not exist" in capsys.readouterr().err


def test_report_renders_from_records_alone(tmp_path):
    append_record(results_path(tmp_path), make_record())
    result = harness("report", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "## Accuracy" in (tmp_path / "report.md").read_text()


def test_list_shows_scenarios_and_backends():
    result = harness("list")
    assert result.returncode == 0, result.stderr
    for word in ("one_char", "variable_length", "98.90", "500,000", "keras", "torch"):
        assert word in result.stdout
    assert "Traceback" not in result.stderr


def test_compare_writes_a_table_to_stdout_and_file(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for seed in range(5):
        append_record(results_path(a), make_record(seed=seed, wrong=dict.fromkeys("BCDEF", "Z")))
        append_record(results_path(b), make_record(seed=seed, us_per_update=5_000.0))
    out = tmp_path / "compare.md"
    result = harness("compare", str(a), str(b), "--out", str(out))
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("| one_char"))
    assert "changed" in row and "0.5" in row  # +20 points, significant at n = 5/5; time B/A = 0.5
    assert out.read_text() + "\n" == result.stdout


def test_compare_refuses_a_missing_run(tmp_path, capsys):
    assert main(["compare", str(tmp_path), str(tmp_path / "nope")]) == 2
    assert "error: " in capsys.readouterr().err


def test_report_renders_a_pytest_benchmark_json(tmp_path):
    append_record(results_path(tmp_path), make_record())
    bench = _benchmark_json(tmp_path / "bench.json")
    result = harness("report", str(tmp_path), "--benchmark-json", str(bench))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "report.md").read_text()
    section = text.split("## pytest-benchmark timings")[1]
    assert "one_char" in section and "2000" in section  # 0.5 s / 250 updates = 2000 µs
    assert "## Accuracy" in text


@pytest.mark.parametrize("content", ["not json", '{"benchmarks": 3}', '{"other": []}'])
def test_bad_benchmark_json_is_refused_and_nothing_written(tmp_path, capsys, content):
    append_record(results_path(tmp_path), make_record())
    bench = tmp_path / "bench.json"
    bench.write_text(content)
    assert main(["report", str(tmp_path), "--benchmark-json", str(bench)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "report.md").exists()
    assert main(["report", str(tmp_path), "--benchmark-json", str(tmp_path / "missing.json")]) == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.one_of(TOKENS, st.text(max_size=8)), max_size=8))
def test_cli_parser_fuzz_never_tracebacks(argv, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("harness.runs.driver.run_request", lambda *a, **k: SimpleNamespace(exit_code=0))
    monkeypatch.setattr("harness.runs.verify.verify", lambda *a, **k: 0)
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's --help
        code = exc.code
    assert code in (0, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1


def test_an_argument_holding_a_newline_still_gives_a_one_line_error(tmp_path, monkeypatch, capsys):
    """Found by the fuzz test above: argparse quotes the bad token, newline and all."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "\n"]) == 2
    err = capsys.readouterr().err
    assert err == "error: unrecognized arguments: \\n\n"
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(("args", "expected"), [
    (["sweep"], "required: --grid"),
    (["sweep", "--grid", "width=8"], "unknown grid key 'width'; valid keys: units"),
    (["sweep", "--grid", "units="], "empty value"),
    (["sweep", "--grid", "units=8,x"], "'x' is not an integer"),
    (["sweep", "--grid", "units=8", "--units", "16"], "both --units and --grid"),
    (["sweep", "--grid", "epochs=5,10", "--quick"], "set the epochs; drop them"),
    (["sweep", "--grid", "units=8", "--verify"], "unrecognized arguments: --verify"),
    (["run", "--units", "0"], "from 1 to"),
    (["run", "--learning-rate", "0"], "above 0 and at most 1"),
    (["run", "--eval-at", "0"], "positive"),
    (["run", "--no-checkpoints", "--eval-at", "5"], "not allowed with"),
    (["run", "--no-checkpoints", "--time-to-learn"], "drop --no-checkpoints"),
    (["run", "--quick", "--epochs-scale", "2"], "give one of them"),
    (["run", "--epochs", "5", "--epochs-scale", "2"], "not allowed with"),
])
def test_bad_sweep_and_study_options_exit_2_with_nothing_written(tmp_path, capsys, args, expected):
    out = tmp_path / "out"
    code = main([*args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err
    assert not out.exists()


def test_units_help_names_each_scenarios_own_default(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    units = help_text[help_text.rindex("--units N"):help_text.rindex("--learning-rate LR")]  # not usage
    assert "default: the scenario's, 32; batch_state 16, stateful 50" in units
    assert {s.units for s in SCENARIOS.values()} == {32, 16, 50}  # else the line above is stale, not wrong


def test_bare_command_lists_every_command_and_exits_2():
    result = harness()
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    listed = result.stdout[result.stdout.index("commands:"):]
    for name in ("list", "run", "sweep", "study", "report", "speed", "compare"):
        assert re.search(rf"^\s+{name}\s+\S", listed, re.MULTILINE), (name, listed)
    assert "Traceback" not in result.stderr


def test_top_level_help_opens_with_what_the_tool_does_then_its_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    opening = text.split("\n\n")[1]  # after the usage line
    assert "Keras" in opening and "PyTorch" in opening and "seeds" in opening
    assert "argparse" not in text and "validate" not in text
    assert text.index("commands:") < text.index("options:")

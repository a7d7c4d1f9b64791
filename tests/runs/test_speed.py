"""`python -m harness speed`: both executions side by side."""

from __future__ import annotations

from tests.cli import harness


def test_speed_command_measures_both_executions_side_by_side(tmp_path):
    out = tmp_path / "speed.md"
    result = harness("speed", "--backend", "crash", "--scenario", "one_char", "--seeds", "2", "--epochs", "3",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "fast speed-up ×" in text
    rows = [line for line in text.splitlines() if line.startswith("| one_char")]
    assert any("idiomatic" in r for r in rows) and any("| fast" in r for r in rows)


def test_speed_command_reports_a_run_whose_seeds_all_failed(tmp_path):
    result = harness("speed", "--backend", "crash", "--scenario", "one_char", "--seeds", "1", "--epochs", "2",
                     env={"CRASH_MODE": "raise", "CRASH_SEED": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| one_char")]
    assert len(rows) == 2 and all(line.rstrip(" |").endswith("1") for line in rows)  # failed = 1
    assert "fast speed-up ×" not in result.stdout

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


def test_speed_scaling_view_over_seed_counts_has_a_table_and_a_log_log_figure(tmp_path):
    out = tmp_path / "speed.md"
    result = harness("speed", "--backend", "crash", "--scenario", "one_char", "--seeds", "1", "3",
                     "--epochs", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "against the seeds trained together" in text and "![µs per seed-update" in text
    header = next(line for line in text.splitlines() if "| 1 seeds |" in line.replace("   ", " "))
    assert "3 seeds" in header
    rows = [line for line in text.splitlines() if line.startswith("| one_char") and "| fast " in line]
    assert len(rows) >= 2  # fast measured at 1 and at 3 seeds together; idiomatic once
    assert (tmp_path / "speed.png").stat().st_size > 1000

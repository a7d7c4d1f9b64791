"""`sweep` as a user runs it (crash backend: no framework): every grid point into one folder."""

from __future__ import annotations

from tests.cli import harness, records


def test_a_sweep_runs_every_grid_point_into_one_folder_and_resumes(tmp_path):
    """Each grid point is an ordinary run: its own options in the record, one report, resume by key."""
    out = tmp_path / "sweep"
    args = ("sweep", "--backend", "crash", "--scenario", "one_char", "--epochs", "2", "--seeds", "2",
            "--workers", "1", "--grid", "units=8,16", "learning_rate=0.01", "--out", str(out))
    first = harness(*args)
    assert first.returncode == 0, first.stderr
    stored = records(out)
    assert sorted((r["options"]["units"], r["seed"]) for r in stored) == [(8, 0), (8, 1), (16, 0), (16, 1)]
    assert {r["options"]["learning_rate"] for r in stored} == {0.01}
    assert len({r["spec_hash"] for r in stored}) == 2
    assert all(r["kind"] == "seed" for r in stored)  # a sweep takes no idiomatic timing sample
    # A plug-in backend without snapshots declines anytime evaluation, and the record says so.
    assert all(r["checkpoints"] == [] and "anytime" in r["anytime_note"] for r in stored)
    assert (out / "report.md").is_file()
    again = harness(*args)
    assert again.returncode == 0, again.stderr
    assert len(records(out)) == 4  # every point was stored: nothing retrained

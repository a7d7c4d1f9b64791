"""The run driver: resume after a kill, failures as data, timeouts, one writer per folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import harness as harness_api
from harness.lock import folder_lock
from harness.records import SCHEMA_VERSION, record_key
from harness.store import append_record, results_path
from tests.cli import CRASH_ENV, ROOT, RUN, harness, records
from tests.fakes import make_record
from tests.runs.test_local import _workers_of, linux_only, spy_on_close


def test_sigkill_mid_run_then_resume_completes_without_duplicates(tmp_path):
    args = [*RUN, "--seeds", "6", "--out", str(tmp_path)]
    process = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=ROOT, start_new_session=True,
                               env={**os.environ, **CRASH_ENV, "CRASH_DELAY": "0.4"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = results_path(tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not store.exists() or store.read_text().count("\n") < 3):
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its worker, mid-run
    process.wait()
    before = store.read_bytes()
    assert 3 <= before.count(b"\n") < 12
    result = harness(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming" in result.stderr
    after = store.read_bytes()
    assert after.startswith(before)  # what was written before the kill is byte-identical
    keys = [record_key(r) for r in records(tmp_path)]
    assert len(keys) == 12 and len(set(keys)) == 12


def test_torn_last_line_is_reported_kept_and_skipped(tmp_path):
    args = [*RUN, "--seeds", "2", "--out", str(tmp_path)]
    assert harness(*args).returncode == 0
    store = results_path(tmp_path)
    lines = store.read_text().splitlines()
    store.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40])  # a kill mid-write
    result = harness(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "last line was torn" in result.stderr
    assert len({record_key(r) for r in records(tmp_path)}) == 4
    report = harness("report", str(tmp_path))
    assert report.returncode == 0 and "not valid JSON" in report.stderr


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [("exit", "failed", "exited with code 3"), ("raise", "failed", "RuntimeError: boom on purpose"),
     ("nan", "diverged", "NaN")],
)
def test_a_failing_seed_is_recorded_and_the_rest_completes(tmp_path, mode, status, error):
    result = harness(*RUN, "--seeds", "3", "--out", str(tmp_path), env={"CRASH_MODE": mode})
    assert result.returncode == 1
    assert "failed" in result.stderr and "Traceback" not in result.stderr
    by_key = {(r["scenario"], r["seed"]): r for r in records(tmp_path)}
    assert len(by_key) == 6
    assert by_key[("one_char", 1)]["status"] == status and error in by_key[("one_char", 1)]["error"]
    assert by_key[("one_char", 0)]["status"] == "ok" and by_key[("stateful", 0)]["status"] == "ok"
    report = (tmp_path / "report.md").read_text()
    assert "## Failures" in report and error in report


def test_a_hung_job_is_killed_by_the_timeout(tmp_path):
    result = harness(*RUN, "--seeds", "2", "--timeout", "5", "--out", str(tmp_path),
                     env={"CRASH_MODE": "hang"})
    assert result.returncode == 1
    failed = [r for r in records(tmp_path) if r["status"] == "failed"]
    assert failed and all("timed out after 5 s" in r["error"] for r in failed)
    assert any(r["status"] == "ok" for r in records(tmp_path))


def test_a_second_writer_is_refused(tmp_path):
    with folder_lock(tmp_path):
        result = harness(*RUN, "--seeds", "1", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "in use by another run" in result.stderr
    assert not results_path(tmp_path).exists()


def test_fresh_starts_a_new_folder(tmp_path):
    out = tmp_path / "run"
    assert harness(*RUN, "--seeds", "1", "--out", str(out)).returncode == 0
    before = results_path(out).read_bytes()
    assert harness(*RUN, "--seeds", "1", "--out", str(out), "--fresh").returncode == 0
    assert results_path(out).read_bytes() == before
    siblings = [p for p in tmp_path.iterdir() if p.name.startswith("run-")]
    assert len(siblings) == 1 and len(records(siblings[0])) == 2


def test_newer_schema_is_refused_by_name(tmp_path):
    append_record(results_path(tmp_path), make_record(schema_version=SCHEMA_VERSION + 1))
    for args in (["report", str(tmp_path)], [*RUN, "--seeds", "1", "--out", str(tmp_path)]):
        result = harness(*args)
        assert result.returncode == 2 and "newer than this harness" in result.stderr
        assert result.stderr.count("\n") == 1
    assert not (tmp_path / "report.md").exists()


def test_resume_retries_failed_seeds_and_the_report_keeps_the_retry(tmp_path):
    assert harness(*RUN, "--seeds", "2", "--out", str(tmp_path), env={"CRASH_MODE": "raise"}).returncode == 1
    result = harness(*RUN, "--seeds", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 of 4 seed runs already stored, 2 to run" in result.stderr  # seed 1 failed in both
    statuses = [(r["scenario"], r["seed"], r["status"]) for r in records(tmp_path)]
    for scenario in ("one_char", "stateful"):
        assert statuses.count((scenario, 1, "failed")) == 1 and statuses.count((scenario, 1, "ok")) == 1
        assert statuses.count((scenario, 0, "ok")) == 1
    assert "## Failures" not in (tmp_path / "report.md").read_text()


def test_after_a_resume_the_summary_counts_every_seed_in_the_folder(tmp_path):
    assert harness(*RUN, "--seeds", "1", "--out", str(tmp_path)).returncode == 0
    result = harness(*RUN, "--seeds", "3", "--out", str(tmp_path), env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stderr.splitlines()  # the summary: a line per scenario, then one per backend
    seeds = [lines[i + 1].split()[:2] for i, line in enumerate(lines)
             if line.split()[:2] in (["one_char", "tutorial"], ["stateful", "tutorial"])]
    assert seeds == [["crash[fast]", "3"], ["crash[fast]", "3"]], result.stderr


@linux_only
def test_a_run_reuses_a_worker_per_backend_and_leaves_none_behind(tmp_path, monkeypatch):
    """Two jobs of one backend run in one worker process, each with its own log; once the run is
    over (the driver's executor closed), no worker process is left."""
    for key, value in CRASH_ENV.items():
        monkeypatch.setenv(key, value)
    closed = spy_on_close(monkeypatch)
    out = tmp_path / "run"
    harness_api.run(scenarios=["one_char", "stateful"], backends="crash", seeds=2, epochs=2, workers=1,
                    idiomatic_timing=False, out=out, progress=False)
    assert [(r["status"], r["seed"]) for r in records(out)].count(("ok", 1)) == 2
    (pids,) = closed
    assert sorted(pids) == [0, 1] and len(set(pids.values())) == 1
    assert not set(pids.values()) & set(_workers_of(os.getpid()))
    assert sorted(path.name for path in (out / "logs").iterdir()) == ["job-0.log", "job-1.log"]

"""`--executor ray` on a local Ray instance (2 CPUs): same records as local, failures as data."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends import gpu_count, installed_backends
from harness.store import results_path
from tests.cli import CRASH_ENV, ROOT

RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}

# each test starts a real Ray instance (seconds to minutes), never beside another module's
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("ray_exclusive")]
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed: pip install -e '.[ray]'")


def harness(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          env={**os.environ, **RAY_ENV, **(env or {})}, cwd=ROOT, timeout=600)


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in results_path(out).read_text().splitlines() if line.strip()]


def by_key(out: Path) -> dict[tuple, dict]:
    return {(r["scenario"], r["backend"], r["seed"]): r for r in records(out)}


@needs_ray
def test_ray_and_local_executors_give_the_same_records(tmp_path):
    """The same job specs through both executors: same seeds, same predictions and losses."""
    backends = [b for b in ("torch", "keras") if b in installed_backends()]
    assert backends, "no framework backend installed"
    common = ("run", "--scenario", "stateful", "--backend", *backends, "--epochs", "3",
              "--seeds", "2", "--execution", "idiomatic", "--workers", "2")
    local = harness(*common, "--out", str(tmp_path / "local"))
    ray = harness(*common, "--executor", "ray", "--out", str(tmp_path / "ray"))
    assert local.returncode == 0, local.stderr[-2000:]
    assert ray.returncode == 0, ray.stderr[-2000:]
    a, b = by_key(tmp_path / "local"), by_key(tmp_path / "ray")
    assert set(a) == set(b) and len(a) == 2 * len(backends)
    for key, rec in a.items():
        other = b[key]
        assert other["status"] == rec["status"] == "ok"
        assert [p["predicted"] for p in other["patterns"]] == [p["predicted"] for p in rec["patterns"]]
        assert other["epoch_loss"] == pytest.approx(rec["epoch_loss"], rel=1e-6)
        assert other["runtime"]["threads"] == rec["runtime"]["threads"]
        assert set(other) == set(rec)  # one record schema
    assert (tmp_path / "ray" / "report.md").is_file()


@needs_ray
def test_ray_worker_crash_gives_failed_records_then_resume_completes(tmp_path):
    out = tmp_path / "run"
    args = ("run", "--backend", "crash", "--scenario", "one_char", "stateful", "--epochs", "2",
            "--seeds", "3", "--execution", "idiomatic", "--executor", "ray", "--out", str(out))
    crashed = harness(*args, env={**CRASH_ENV, "CRASH_MODE": "exit", "CRASH_SEED": "1"})
    assert crashed.returncode == 1, crashed.stderr[-2000:]
    first = by_key(out)
    assert len(first) == 6
    for (scenario, _, seed), rec in first.items():
        if seed == 0:  # a record sent before the worker died is kept, even from the crashed job
            assert rec["status"] == "ok", (scenario, seed, rec["error"])
        elif seed == 1 or rec["status"] != "ok":  # seed 2 dies with seed 1 when they share a job
            assert rec["status"] == "failed" and "Ray task failed" in rec["error"], rec["error"]
    failed = sum(rec["status"] == "failed" for rec in first.values())
    resumed = harness(*args, env={**CRASH_ENV, "CRASH_MODE": "none"})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{failed} to run" in resumed.stderr
    final = [r for r in records(out) if r["status"] == "ok"]
    assert sorted((r["scenario"], r["seed"]) for r in final) == sorted(
        (s, seed) for s in ("one_char", "stateful") for seed in range(3))


@needs_ray
def test_ray_exception_and_timeout_give_failed_records(tmp_path):
    raised = harness("run", "--backend", "crash", "--scenario", "one_char", "--epochs", "2", "--seeds", "2",
                     "--executor", "ray", "--no-idiomatic-timing", "--out", str(tmp_path / "raise"),
                     env={**CRASH_ENV, "CRASH_MODE": "raise", "CRASH_SEED": "1"})
    assert raised.returncode == 1
    status = {r["seed"]: (r["status"], r["error"]) for r in records(tmp_path / "raise")}
    assert status[0] == ("ok", None)
    assert status[1][0] == "failed" and "boom on purpose" in status[1][1]

    hung = harness("run", "--backend", "crash", "--scenario", "one_char", "--epochs", "2", "--seeds", "2",
                   "--executor", "ray", "--timeout", "8", "--no-idiomatic-timing",
                   "--out", str(tmp_path / "hang"),
                   env={**CRASH_ENV, "CRASH_MODE": "hang", "CRASH_SEED": "1"})
    assert hung.returncode == 1
    status = {r["seed"]: (r["status"], r["error"]) for r in records(tmp_path / "hang")}
    assert status[1][0] == "failed" and "timed out after 8 s" in status[1][1]


def test_executor_ray_without_ray_is_one_line_naming_the_extra(tmp_path):
    fake = tmp_path / "fake" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('pretend Ray is missing')\n")
    out = tmp_path / "out"
    done = harness("run", "--backend", "crash", "--scenario", "one_char", "--executor", "ray",
                   "--out", str(out), env={**CRASH_ENV, "PYTHONPATH": str(tmp_path / "fake")})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --executor ray needs Ray; install it: pip install -e '.[ray]'"]
    assert not out.exists()


@needs_ray
@pytest.mark.parametrize("flags, message", [
    (("--executor", "ray", "--ray-address", "127.0.0.1:1"), "no Ray cluster answers at 127.0.0.1:1"),
    (("--ray-address", "127.0.0.1:1"), "--ray-address needs --executor ray"),
])
def test_bad_ray_flags_are_one_line_errors(tmp_path, flags, message):
    out = tmp_path / "out"
    done = harness("run", "--backend", "crash", "--scenario", "one_char", *flags, "--out", str(out),
                   env=CRASH_ENV)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not out.exists()


def test_device_cuda_is_refused_up_front_without_a_gpu(tmp_path):
    if any(gpu_count(b) for b in installed_backends()):
        pytest.skip("a GPU is visible here: the refusal cannot be shown")
    out = tmp_path / "out"
    done = harness("run", "--backend", "crash", "--scenario", "one_char", "--device", "cuda",
                   "--out", str(out), env=CRASH_ENV)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--device cuda: no GPU visible to crash" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("backend", ["torch", "keras"])
def test_device_cuda_trains_and_records_the_device(tmp_path, backend):
    if backend not in installed_backends():
        pytest.skip(f"{backend} is not installed")
    if gpu_count(backend) < 1:
        pytest.skip(f"no GPU visible to {backend} on this machine")
    out = tmp_path / "out"
    done = harness("run", "--backend", backend, "--scenario", "one_char", "--epochs", "3", "--seeds", "2",
                   "--device", "cuda", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    for rec in records(out):
        assert rec["status"] == "ok" and rec["device"] == "cuda"
        assert rec["runtime"]["device"] == "cuda" and rec["runtime"]["tf32"] is False

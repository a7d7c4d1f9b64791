"""`--ray-address` against a real cluster started with `ray start`: a head and a worker node on
127.0.0.1 with Ray's default token authentication, the records a local run gives, `list`, a
refused token, and a worker node lost mid-run."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import installed_backends
from harness.machine import cpu_count
from tests.cli import CRASH_ENV, ROOT, records
from tests.ray_loopback import LoopbackCluster

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("ray_exclusive"),  # starts Ray nodes: a minute or two
              pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                 reason="Ray is not installed: pip install -e '.[ray]'")]
WORKERS = str(cpu_count())  # as many jobs as cores: each job asks for 1 CPU, which a 1-CPU node holds


def harness(cluster: LoopbackCluster, *args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """`python -m harness ...` as a user on the head machine runs it (no RAY_AUTH_MODE of its own)."""
    return subprocess.Popen([sys.executable, "-m", "harness", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**cluster.env, **CRASH_ENV, **(env or {})}, **kwargs)


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def cluster(ray_exclusive: None) -> Iterator[LoopbackCluster]:
    """A head with 1 CPU and a worker node with 1 CPU (no other module's Ray instance beside it)."""
    cluster = LoopbackCluster()
    try:
        cluster.start_head(num_cpus=1)
        cluster.add_worker("worker", num_cpus=1)
        yield cluster
    finally:
        survivors = cluster.stop()
        assert not survivors, f"Ray processes left running: {survivors}"


def test_the_head_requires_a_token_by_default(cluster):
    from harness.runs.ray_auth import probe

    assert probe(cluster.address, None) == "unauthenticated"
    assert probe(cluster.address, cluster.token) == "ok"


def test_list_shows_the_clusters_nodes_and_resources(cluster):
    code, out, err = finish(harness(cluster, "list", "--ray-address", cluster.address), timeout=120)
    assert code == 0, err[-2000:]
    table = out[out.index(f"Ray cluster at {cluster.address}"):]
    rows = [line for line in table.splitlines() if " head " in line or " worker " in line]
    assert len(rows) == 2, table  # Ray names a 127.0.0.1 node by the machine's address
    assert sorted("head" in r for r in rows) == [False, True], table
    assert all(" yes " in r and "CPU 1" in r for r in rows), table


def test_records_equal_a_local_runs_for_the_same_seeds(cluster, tmp_path):
    backend = "torch" if "torch" in installed_backends() else "crash"  # a real model where there is one
    common = ("run", "--backend", backend, "--scenario", "one_char", "stateful", "--epochs", "3",
              "--seeds", "2", "--execution", "idiomatic", "--no-idiomatic-timing", "--workers", WORKERS)
    ray = harness(cluster, *common, "--executor", "ray", "--ray-address", cluster.address,
                  "--out", str(tmp_path / "ray"))
    code, _, err = finish(ray)
    assert code == 0, err[-3000:]
    code, _, err = finish(harness(cluster, *common, "--out", str(tmp_path / "local")))
    assert code == 0, err[-3000:]
    a = {(r["scenario"], r["seed"]): r for r in records(tmp_path / "local")}
    b = {(r["scenario"], r["seed"]): r for r in records(tmp_path / "ray")}
    assert set(a) == set(b) and len(a) == 4
    for key, rec in a.items():
        assert b[key]["status"] == rec["status"] == "ok", key
        assert [p["predicted"] for p in b[key]["patterns"]] == [p["predicted"] for p in rec["patterns"]]
        assert b[key]["epoch_loss"] == pytest.approx(rec["epoch_loss"], rel=1e-6)
        assert set(b[key]) == set(rec)


def test_ray_address_in_the_environment_is_joined_like_the_flag(cluster, tmp_path):
    """RAY_ADDRESS alone: the run joins that cluster (ray.init would refuse the local instance's
    CPU count) and sends its token."""
    out = tmp_path / "out"
    run = harness(cluster, "run", "--backend", "crash", "--scenario", "one_char", "--epochs", "2",
                  "--seeds", "2", "--no-idiomatic-timing", "--executor", "ray", "--out", str(out),
                  env={"RAY_ADDRESS": cluster.address})
    code, _, err = finish(run, timeout=120)
    assert code == 0, err[-3000:]
    assert [r["status"] for r in records(out)] == ["ok", "ok"]


@pytest.mark.parametrize("token", [None, "0" * 64], ids=["no token", "wrong token"])
def test_a_missing_or_wrong_token_is_one_line_exit_2_in_seconds(cluster, tmp_path, token):
    stranger = tmp_path / "home"  # a machine without the head's ~/.ray/auth_token
    stranger.mkdir()
    env = {"HOME": str(stranger), **({"RAY_AUTH_TOKEN": token} if token else {})}
    out = tmp_path / "out"
    started = time.monotonic()
    code, _, err = finish(harness(cluster, "run", "--backend", "crash", "--scenario", "one_char",
                                  "--executor", "ray", "--ray-address", cluster.address, "--out", str(out),
                                  env=env), timeout=60)
    took = time.monotonic() - started
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err[-3000:]
    assert ("no token was found" if token is None else "rejected the token from $RAY_AUTH_TOKEN") in lines[0]
    assert "ray get-auth-token" in lines[0] and not out.exists()
    assert took < 10, f"took {took:.1f} s"  # the bound; Ray's own retries took ~20 s


def _wait_for(path: Path, predicate, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = records(path) if (path / "results.jsonl").is_file() else []
        if predicate(found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting on {path}")


def test_a_lost_worker_node_fails_its_seeds_then_a_rerun_completes_them(tmp_path):
    """Only the worker node has CPUs (the head none), and `--workers 1` runs one job at a time.
    The worker's raylet is killed after the first record: the running job's other seeds become
    failed records within ~60 s, the job after it (which no alive node can now hold) fails too
    instead of waiting forever, the earlier record stays, and the same command completes them
    once a replacement node has joined."""
    cores = cpu_count()  # each job asks for the driver's cores / --workers
    cluster = LoopbackCluster(node_env={"CRASH_MODE": "none", "CRASH_DELAY": "2"})  # a task sees its node's
    try:
        cluster.start_head(num_cpus=0)
        cluster.add_worker("doomed", num_cpus=cores)
        out = tmp_path / "run"
        args = ("run", "--backend", "crash", "--scenario", "one_char", "stateful", "--epochs", "2",
                "--seeds", "3", "--execution", "idiomatic", "--no-idiomatic-timing", "--workers", "1",
                "--executor", "ray", "--ray-address", cluster.address, "--out", str(out))
        run = harness(cluster, *args)
        _wait_for(out, lambda found: len(found) >= 1, timeout=180)
        cluster.raylet("doomed").send_signal(signal.SIGKILL)
        killed = time.monotonic()
        _wait_for(out, lambda found: any(r["status"] == "failed" for r in found), timeout=120)
        detected = time.monotonic() - killed
        code, _, err = finish(run, timeout=120)
        print(f"node loss: first failed record {detected:.1f} s after the raylet was killed, "
              f"run ended after {time.monotonic() - killed:.1f} s")
        assert code == 1, err[-3000:]
        found = records(out)
        assert sorted((r["scenario"], r["seed"]) for r in found) == sorted(
            (s, seed) for s in ("one_char", "stateful") for seed in range(3)), found
        ok = [r for r in found if r["status"] == "ok"]
        failed = [r for r in found if r["status"] == "failed"]
        lost = [r for r in failed if "Ray task failed: NodeDiedError" in r["error"]]
        waiting = [r for r in failed if f"no alive node of the Ray cluster has {cores} CPU" in r["error"]]
        assert ok and lost and waiting, [(r["scenario"], r["seed"], r["status"], r["error"]) for r in found]
        assert len(lost) + len(waiting) == len(failed) == 6 - len(ok)
        assert detected < 60, f"node loss took {detected:.0f} s to notice"

        cluster.add_worker("replacement", num_cpus=cores)
        code, _, err = finish(harness(cluster, *args))
        assert code == 0, err[-3000:]
        assert f"{len(failed)} to run" in err
        final = [(r["scenario"], r["seed"]) for r in records(out) if r["status"] == "ok"]
        assert sorted(final) == sorted((s, seed) for s in ("one_char", "stateful") for seed in range(3))
    finally:
        survivors = cluster.stop()
    assert not survivors, f"Ray processes left running: {survivors}"

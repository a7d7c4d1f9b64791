"""Token authentication against `--ray-address`, without a cluster: a stand-in GCS that answers
as Ray's does (UNAUTHENTICATED unless the right bearer token comes), and the token lookup."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import pytest

from harness.runs.ray_auth import PROBE_METHOD, find_token, probe
from tests.cli import RUN, harness

TOKEN = "a" * 64
needs_grpc = pytest.mark.skipif(importlib.util.find_spec("grpc") is None,
                                reason="Ray (and its grpc) is not installed: pip install -e '.[ray]'")


@pytest.fixture
def gcs() -> Iterator[str]:
    """host:port of a gRPC server that, like a token-mode GCS, refuses calls without TOKEN."""
    import grpc

    def handle(request: bytes, context: grpc.ServicerContext) -> bytes:
        if dict(context.invocation_metadata()).get("authorization") != f"Bearer {TOKEN}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "InvalidAuthToken")
        return b""

    class Handler(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
            return grpc.unary_unary_rpc_method_handler(handle) if details.method == PROBE_METHOD else None

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[Handler()])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)


@pytest.fixture(autouse=True)
def no_ray_settings(monkeypatch):
    """None of the caller's Ray settings reach the harness these tests start."""
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """`home` as HOME (no ~/.ray/auth_token of the caller's), and `extra`."""
    return {"HOME": str(home), **extra}


@needs_grpc
def test_probe_tells_a_token_cluster_from_a_good_token(gcs):
    assert probe(gcs, None) == "unauthenticated"
    assert probe(gcs, "wrong") == "unauthenticated"
    assert probe(gcs, TOKEN) == "ok"


@needs_grpc
@pytest.mark.parametrize("setting, message", [
    ({}, "requires token authentication and no token was found here"),
    ({"RAY_AUTH_TOKEN": "wrong"}, "rejected the token from $RAY_AUTH_TOKEN"),
    ({"RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN": TOKEN}, "RAY_AUTH_MODE=disabled is set here"),
])
def test_auth_failure_is_one_line_exit_2_nothing_written_in_seconds(tmp_path, gcs, setting, message):
    out = tmp_path / "out"
    started = time.monotonic()
    refused = harness(*RUN, "--seeds", "0", "--out", str(out), env=clean_env(tmp_path, **setting))
    baseline = time.monotonic() - started  # the same CLI refusing bad input, on this machine, now
    assert refused.returncode == 2, refused.stderr
    started = time.monotonic()
    done = harness(*RUN, "--executor", "ray", "--ray-address", gcs, "--out", str(out),
                   env=clean_env(tmp_path, **setting))
    took = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    for what in ("ray get-auth-token", "RAY_AUTH_MODE=token ray start --address", "RAY_AUTH_MODE=disabled"):
        assert what in lines[0]  # where the token is, how the driver and the worker nodes get it
    assert not out.exists()
    # Not Ray's own retries (~20 s): about as quick as any refusal (~2 s against ~1.5 s here), and
    # relative to one, so a loaded machine slows both alike.
    assert took < 4 * baseline + 3, f"took {took:.1f} s; a plain refusal {baseline:.1f} s"


def test_token_lookup_follows_rays_precedence(tmp_path):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    named = tmp_path / "named"
    named.write_text(" from-path ")
    assert find_token({}, tmp_path).value == "from-home"
    assert find_token({"RAY_AUTH_TOKEN_PATH": str(named)}, tmp_path).value == "from-path"
    found = find_token({"RAY_AUTH_TOKEN": "from-env", "RAY_AUTH_TOKEN_PATH": str(named)}, tmp_path)
    assert (found.value, found.source) == ("from-env", "$RAY_AUTH_TOKEN")
    assert find_token({}, tmp_path / "nowhere") is None
    assert find_token({"RAY_AUTH_TOKEN_PATH": str(tmp_path / "missing")}, tmp_path) is None


def test_list_names_the_ray_address_of_the_environment(tmp_path):
    done = harness("list", env=clean_env(tmp_path, RAY_ADDRESS="10.0.0.5:6379"))
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("ray:"))
    assert "RAY_ADDRESS=10.0.0.5:6379" in line and "list --ray-address 10.0.0.5:6379" in line
    assert "ray:" not in harness("list", env=clean_env(tmp_path)).stdout


@needs_grpc  # grpc comes with Ray
def test_list_with_an_unreachable_ray_address_is_one_line_exit_2(tmp_path):
    done = harness("list", "--ray-address", "127.0.0.1:1", env=clean_env(tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Ray cluster answers at 127.0.0.1:1" in lines[0], done.stderr

"""A real Ray cluster on this machine for tests: a head and worker nodes, each its own
`ray start --block` process on 127.0.0.1, with token authentication as Ray sets it up by default.

Every node gets its own free ports and temp dir, and the cluster its own HOME holding the token
(`~/.ray/auth_token`), so it neither meets nor stops another Ray on the machine: `stop` ends only
the processes this cluster started (`ray stop --force` would end every Ray of this user) and
checks that none survives.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START_TIMEOUT_S = 90
# What Ray's node processes must not inherit from the test run.
DROPPED = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopbackCluster:
    """Head and worker nodes on 127.0.0.1; `env` is what a driver of this cluster should run with."""

    def __init__(self, node_env: dict[str, str] | None = None) -> None:
        """`node_env`: more environment for the nodes, whose workers see theirs, not the driver's."""
        self.root = Path(tempfile.mkdtemp(prefix="rayc-", dir="/tmp"))  # short: Ray's socket paths
        self.home = self.root / "home"
        (self.home / ".ray").mkdir(parents=True)
        self.token = secrets.token_hex(32)
        (self.home / ".ray" / "auth_token").write_text(self.token)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: dict[str, subprocess.Popen] = {}
        self.env = {k: v for k, v in os.environ.items() if k not in DROPPED}
        self.env.update(HOME=str(self.home), RAY_USAGE_STATS_ENABLED="0")
        self.node_env = {**self.env, **(node_env or {})}

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        ports = {flag: str(free_port()) for flag in (
            "--node-manager-port", "--object-manager-port", "--metrics-export-port",
            "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--runtime-env-agent-port")}
        command = [str(Path(sys.executable).with_name("ray")), "start", "--block", "--disable-usage-stats",
                   "--node-ip-address", "127.0.0.1", "--temp-dir", str(self.root / name),
                   *(x for pair in ports.items() for x in pair), *args]
        log = (self.root / f"{name}.log").open("w")
        self.nodes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def start_head(self, num_cpus: int) -> None:
        """`ray start --head` as a user runs it: RAY_AUTH_MODE unset, a token in ~/.ray (Ray ≥ 2.59
        then turns token authentication on)."""
        self._start("head", ["--head", "--port", str(self.port), "--num-cpus", str(num_cpus),
                             "--include-dashboard", "false", "--ray-client-server-port", str(free_port())],
                    self.node_env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # the GCS listens before ray.init can join it
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.nodes["head"].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Ray head did not come up: {self.logs()}") from None
                time.sleep(0.5)
        self.wait_for_nodes(1)

    def add_worker(self, name: str, num_cpus: int) -> None:
        """`RAY_AUTH_MODE=token ray start --address HEAD` with the head's token, as the README says."""
        alive = sum(p.poll() is None for p in self.nodes.values())
        self._start(name, ["--address", self.address, "--num-cpus", str(num_cpus)],
                    {**self.node_env, "RAY_AUTH_MODE": "token"})
        self.wait_for_nodes(alive + 1)

    def wait_for_nodes(self, count: int) -> None:
        """Until `count` nodes are alive, asked of the GCS from a child process (this test process
        stays free of a Ray connection and of token mode)."""
        code = ("import ray, sys, time; ray.init(address=sys.argv[1], logging_level='ERROR', "
                "log_to_driver=False); end = time.monotonic() + float(sys.argv[3])\n"
                "while sum(n['Alive'] for n in ray.nodes()) < int(sys.argv[2]):\n"
                "    if time.monotonic() > end: sys.exit(1)\n"
                "    time.sleep(0.5)")
        done = subprocess.run([sys.executable, "-c", code, self.address, str(count), str(START_TIMEOUT_S)],
                              capture_output=True, text=True, env={**self.env, "RAY_AUTH_MODE": "token"},
                              timeout=START_TIMEOUT_S + 60)
        if done.returncode:
            raise RuntimeError(f"{count} Ray nodes did not come up: {done.stderr[-1500:]} {self.logs()}")

    def raylet(self, name: str):
        """The psutil process of a node's raylet."""
        import psutil

        children = psutil.Process(self.nodes[name].pid).children(recursive=True)
        return next(p for p in children if p.name() == "raylet")

    def ours(self) -> list:
        """Every live process this cluster started: the nodes' trees, and any process naming its GCS."""
        import psutil

        found = {}
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                line = " ".join(proc.info["cmdline"] or [])
            except psutil.Error:
                continue
            if self.address in line or str(self.root) in line:
                found[proc.pid] = proc
        for popen in self.nodes.values():
            with contextlib.suppress(psutil.Error):
                found.update({p.pid: p for p in psutil.Process(popen.pid).children(recursive=True)})
        alive = []
        for proc in found.values():
            with contextlib.suppress(psutil.Error):
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        return alive

    def stop(self) -> list[str]:
        """End every node (SIGTERM, then SIGKILL what is left); returns what survived (nothing)."""
        import psutil

        for popen in self.nodes.values():
            if popen.poll() is None:
                popen.send_signal(signal.SIGTERM)  # `ray start --block` then stops its node's processes
        for popen in self.nodes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=20)
        for proc in self.ours():
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(self.ours(), timeout=10)
        for popen in self.nodes.values():
            if popen.poll() is None:
                popen.kill()
                popen.wait(timeout=10)
        survivors = [f"{p.pid} {p.name()}" for p in self.ours()]
        if not survivors:
            shutil.rmtree(self.root, ignore_errors=True)
        return survivors

    def logs(self) -> str:
        return " | ".join(f"{name}: {(self.root / f'{name}.log').read_text()[-1500:]}" for name in self.nodes)

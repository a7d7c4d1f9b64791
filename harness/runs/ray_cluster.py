"""Run jobs as Ray tasks: the same jobs in, the same worker messages out, records written by the driver.

Each job is one Ray task in a fresh worker process (`max_calls=1`, so TensorFlow and PyTorch
never share a process, as with the local executor) that asks for the CPUs and GPU its job
uses. The task is a streaming generator: it yields the worker's messages (progress, one
record per finished seed) as they happen, so the driver appends each record the moment its
seed is done and resume works as it does locally. Ray is imported only here.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from backends import PLUGINS_ENV
from harness.runs import ray_auth
from harness.runs.plan import Job
from harness.runs.scheduler import Ended, Event

INSTALL_HINT = "pip install -e '.[ray]'"
CHECK_S = 2.0  # how often the executor looks for jobs no alive node can hold
HOMELESS_S = 10.0  # how long such a job waits (a node restarting) before it fails


class RayUnavailableError(RuntimeError):
    """Ray cannot serve this run (not installed, unreachable, no GPU): a one-line usage error."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailableError(f"--executor ray needs Ray; install it: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None, need_gpu: bool = False) -> dict:
    """Join the cluster at `address` (None: $RAY_ADDRESS, else start a local instance); returns
    its resources.

    Called before anything is written, so a bad address, a token the cluster refuses or a
    cluster without a GPU for `--device cuda` stops the run with one line.
    """
    ray = _import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home from a closed network
    address = address or os.environ.get("RAY_ADDRESS") or None  # ray.init reads it too, refusing num_cpus
    if not ray.is_initialized():  # the CLI connects first; the executor then finds it joined
        if address:
            _check_reachable(address)
            _authenticate(ray, address)
        env = {PLUGINS_ENV: os.environ[PLUGINS_ENV]} if PLUGINS_ENV in os.environ else {}
        options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                       logging_level=logging.ERROR, runtime_env={"env_vars": env})
        try:
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=num_cpus, **options)
        except Exception as exc:  # ConnectionError, ValueError, RuntimeError, ... from ray.init
            where = address or "a local instance"
            raise RayUnavailableError(f"cannot start Ray on {where}: {type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    resources = ray.cluster_resources()
    if need_gpu and resources.get("GPU", 0) < 1:
        raise RayUnavailableError("--device cuda: the Ray cluster has no GPU; "
                                  "use --device cpu or point --ray-address at a cluster with one")
    return resources


def _authenticate(ray: Any, address: str) -> None:
    """Send the token when the cluster wants one (see ray_auth); say what to do when it is missing."""
    if address == "auto" or address.startswith("ray://") or ":" not in address:
        return  # 'auto' enables the token itself; Ray Client has its own channel
    try:
        mode = ray_auth.prepare(address)
    except ray_auth.RayAuthError as exc:
        raise RayUnavailableError(str(exc)) from None
    if mode == "token":
        ray_auth.enable_token_mode(ray)


def cluster_nodes(address: str | None) -> list[dict[str, Any]]:
    """The cluster's nodes for `list`: address, alive, and each node's resources (joined as `run` joins)."""
    ray = _import_ray()
    connect(address)
    return [{"node": node.get("NodeManagerAddress", "?"), "id": str(node.get("NodeID", ""))[:8],
             "alive": bool(node.get("Alive")), "head": "node:__internal_head__" in node.get("Resources", {}),
             "resources": {k: v for k, v in node.get("Resources", {}).items()
                           if not k.startswith("node:") and k not in ("memory", "object_store_memory")}}
            for node in ray.nodes()]


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """ray.init waits minutes on an address where nothing listens; a TCP probe says so in seconds."""
    if address == "auto" or ":" not in address:
        return  # Ray resolves these itself and fails fast when there is no cluster
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        raise RayUnavailableError(f"no Ray cluster answers at {address} ({exc}); start one with "
                                  "'ray start --head' or omit --ray-address for a local instance") from None


def job_messages(job: Job) -> Iterator[tuple]:
    """The task body: run the ordinary worker entry point and yield what it sends, as it sends it.

    `run_job` reports through a channel with `send`; a queue fed from a thread turns that into
    this generator without touching the worker code the local executor uses.
    """
    from harness.runs.worker import run_job

    messages: queue.Queue = queue.Queue()

    class _Channel:
        """`send` returns only once Ray has the message, as a pipe's `send` does locally, so a
        record is never lost to a crash right after it was sent."""

        def send(self, message: tuple) -> None:
            handed_over = threading.Event()
            messages.put((message, handed_over))
            handed_over.wait()

    thread = threading.Thread(target=run_job, args=(job, _Channel()), daemon=True)
    thread.start()
    while True:
        message, handed_over = messages.get()
        yield message  # with backpressure 1, returns once the driver has taken it
        handed_over.set()
        if message[0] == "done":
            break
    thread.join()


class RayExecutor:
    """Each job one streaming Ray task in a fresh worker process, asking for the CPUs/GPU it uses."""

    def __init__(self, address: str | None = None) -> None:
        self.ray = _import_ray()
        connect(address, num_cpus=None if address else os.cpu_count())
        self.remote = self.ray.remote(max_calls=1)(job_messages)  # max_calls=1: a fresh process per job
        self.tasks: dict[Any, int] = {}  # generator → job id
        self.ended: list[Event] = []  # killed jobs, reported at the next wait
        self.needs: dict[int, dict[str, float]] = {}  # job id → the resources its task asks for
        self.homeless: dict[tuple, float] = {}  # what a job asks → since when no alive node had it
        self.next_check = 0.0

    def start(self, job: Job) -> None:
        gpus = 1 if job.device == "cuda" else 0
        generator = self.remote.options(num_cpus=job.threads, num_gpus=gpus, max_retries=0,
                                        _generator_backpressure_num_objects=1,
                                        name=f"alphabet-bench job {job.job_id}").remote(job)
        self.tasks[generator] = job.job_id
        self.needs[job.job_id] = {"CPU": job.threads, "GPU": gpus}

    def wait(self, timeout: float) -> list[Event]:
        events, self.ended = self.ended, []
        if not self.tasks:
            return events
        events += self._fail_homeless()
        ready, _ = self.ray.wait(list(self.tasks), num_returns=1, timeout=timeout)
        for generator in ready:
            job_id = self.tasks[generator]
            try:
                events.append((job_id, self.ray.get(next(generator))))
            except StopIteration:
                events.append((job_id, Ended("worker finished without a record")))
                del self.tasks[generator]
            except Exception as exc:  # the task or its worker died
                events.append((job_id, Ended(f"Ray task failed: {_first_line(exc)}")))
                del self.tasks[generator]
        return events

    def _fail_homeless(self) -> list[Event]:
        """Ray fails a task whose node dies (NodeDiedError, within a second or two here) but keeps a
        task no alive node has room for pending forever: all CPUs were on the lost node, or a job
        asks for more than any node has. Such a job ends after HOMELESS_S (later jobs asking the
        same inherit the wait, so a queue of them ends in one go) and the run finishes."""
        now = time.monotonic()
        if now < self.next_check:
            return []
        self.next_check = now + CHECK_S
        nodes = [node.get("Resources", {}) for node in self.ray.nodes() if node.get("Alive")]
        events: list[Event] = []
        for generator, job_id in list(self.tasks.items()):
            need = tuple((k, v) for k, v in self.needs[job_id].items() if v)
            if any(all(res.get(k, 0) >= v for k, v in need) for res in nodes):
                self.homeless.pop(need, None)
            elif now - self.homeless.setdefault(need, now) >= HOMELESS_S:
                self.ray.cancel(generator, force=True)
                del self.tasks[generator]
                asked = " and ".join(f"{v:g} {k}" for k, v in need)
                events.append((job_id, Ended(f"no alive node of the Ray cluster has {asked} for this job "
                                             f"(waited {HOMELESS_S:g} s); rerun once it has")))
        return events

    def kill(self, job_id: int) -> None:
        generator = next(g for g, j in self.tasks.items() if j == job_id)
        self.ray.cancel(generator, force=True)
        del self.tasks[generator]
        self.ended.append((job_id, Ended("cancelled")))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]

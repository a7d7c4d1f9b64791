"""The Ray executor ends a job no alive node can hold, instead of leaving it pending forever as
Ray does (after a node is lost): checked against a stand-in for the `ray` module."""

from __future__ import annotations

import pytest

from harness.runs import ray_cluster
from harness.runs.ray_cluster import RayExecutor
from harness.runs.scheduler import Ended


class FakeRay:
    """The three calls the check makes: nodes(), cancel(), and wait() finding nothing ready."""

    def __init__(self, nodes: list[dict]) -> None:
        self.node_list = nodes
        self.cancelled: list[str] = []

    def nodes(self) -> list[dict]:
        return self.node_list

    def cancel(self, ref: str, force: bool) -> None:
        self.cancelled.append(ref)

    def wait(self, refs: list, num_returns: int, timeout: float) -> tuple[list, list]:
        return [], refs


def executor(nodes: list[dict], needs: dict[int, dict]) -> tuple[RayExecutor, FakeRay]:
    ray = FakeRay(nodes)
    ex = RayExecutor.__new__(RayExecutor)  # no cluster: only the bookkeeping the check uses
    ex.ray, ex.ended, ex.homeless, ex.next_check = ray, [], {}, 0.0
    ex.tasks = {f"task-{job}": job for job in needs}
    ex.needs = needs
    return ex, ray


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(ray_cluster, "CHECK_S", 0.0)
    monkeypatch.setattr(ray_cluster, "HOMELESS_S", 0.0)


def test_a_job_no_alive_node_can_hold_ends_with_the_reason():
    head = {"NodeID": "h", "Alive": True, "Resources": {"CPU": 0.0}}
    lost = {"NodeID": "w", "Alive": False, "Resources": {"CPU": 1.0}}
    ex, ray = executor([head, lost], {0: {"CPU": 1, "GPU": 0}})
    events = ex.wait(0.1)
    assert [job for job, _ in events] == [0] and ray.cancelled == ["task-0"] and not ex.tasks
    reason = events[0][1]
    assert isinstance(reason, Ended) and "no alive node of the Ray cluster has 1 CPU" in reason.reason


def test_a_job_that_fits_an_alive_node_waits_for_it():
    busy = {"NodeID": "b", "Alive": True, "Resources": {"CPU": 2.0}}
    ex, ray = executor([busy], {0: {"CPU": 2, "GPU": 0}, 1: {"CPU": 1, "GPU": 0}})
    assert ex.wait(0.1) == [] and len(ex.tasks) == 2 and not ray.cancelled


def test_a_gpu_job_needs_a_node_with_a_gpu():
    cpu_only = {"NodeID": "c", "Alive": True, "Resources": {"CPU": 8.0}}
    ex, _ = executor([cpu_only], {0: {"CPU": 1, "GPU": 1}})
    (event,) = ex.wait(0.1)
    assert "1 CPU and 1 GPU" in event[1].reason


def test_the_wait_is_shared_by_jobs_asking_the_same(monkeypatch):
    """Once HOMELESS_S has passed for what a job asks, a later job asking the same ends at once."""
    monkeypatch.setattr(ray_cluster, "HOMELESS_S", 5.0)
    ex, _ = executor([{"NodeID": "e", "Alive": True, "Resources": {}}], {0: {"CPU": 1, "GPU": 0}})
    ex.homeless[(("CPU", 1),)] = -1e9  # asked for since long ago
    assert [job for job, _ in ex.wait(0.1)] == [0]


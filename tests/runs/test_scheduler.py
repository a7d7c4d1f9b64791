"""The scheduler's order: costliest first, except among short jobs: one an idle worker is already
warm for, then one whose framework no worker runs yet, then the costliest."""

from __future__ import annotations

from types import SimpleNamespace

from harness.runs.scheduler import SHORT_JOB_S, next_job


class WarmFor:
    """An executor whose idle workers are warm for the given backends (and `busy` ones run others)."""

    def __init__(self, *backends: str, busy: tuple[str, ...] = ()) -> None:
        self.backends, self.busy = set(backends), set(busy)

    def warm(self, job) -> bool:
        return job.backend in self.backends

    def has_worker(self, job) -> bool:
        return job.backend in self.backends | self.busy


def _jobs(*specs: tuple[str, float]) -> list:
    jobs = [SimpleNamespace(job_id=i, backend=b, cost=c) for i, (b, c) in enumerate(specs)]
    return sorted(jobs, key=lambda job: job.cost, reverse=True)


def test_a_short_job_a_warm_worker_can_take_goes_first():
    pending = _jobs(("torch", 4.4), ("torch", 4.3), ("keras", 4.2))
    assert next_job(pending, WarmFor("keras")).backend == "keras"
    assert [job.cost for job in pending] == [4.4, 4.3]  # the rest keep their order


def test_a_long_job_goes_first_even_on_a_new_worker():
    pending = _jobs(("torch", SHORT_JOB_S + 1), ("keras", 4.2))
    assert next_job(pending, WarmFor("keras")).backend == "torch"


def test_costliest_first_when_no_worker_is_warm_or_the_executor_cannot_tell():
    for executor in (WarmFor(), object()):
        pending = _jobs(("torch", 4.4), ("keras", 4.2))
        assert next_job(pending, executor).cost == 4.4
    pending = _jobs(("torch", 4.4), ("keras", 4.2))
    assert next_job(pending, WarmFor("torch", "keras")).cost == 4.4


def test_with_no_warm_worker_a_short_job_of_a_framework_not_running_yet_goes_first():
    """Both workers free at the start of a run of short jobs: the second worker takes the other
    framework rather than import the first one's again (then each runs its own framework's jobs)."""
    pending = _jobs(("torch", 4.4), ("torch", 4.3), ("keras", 4.2))
    assert next_job(pending, WarmFor(busy=("torch",))).backend == "keras"
    pending = _jobs(("torch", 4.4), ("keras", 4.2))
    assert next_job(pending, WarmFor(busy=("torch", "keras"))).cost == 4.4  # both run: costliest

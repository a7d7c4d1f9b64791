"""Job planning: every seed once, longest first, the quick profile, one resume key."""

from __future__ import annotations

from dataclasses import replace

from harness.records import record_key
from harness.runs.plan import (
    MIN_FAST_CHUNK,
    Job,
    RunRequest,
    makespan,
    plan_jobs,
    quick_epochs,
    split_summary,
)
from harness.runs.worker import failed_record
from scenarios import ResolvedScenario, get_scenario, scenario_ids


def test_updates_per_seed_matches_the_protocol():
    assert ResolvedScenario(get_scenario("one_char")).updates_per_seed == 12_500
    assert ResolvedScenario(get_scenario("batch_state")).updates_per_seed == 5_000
    assert ResolvedScenario(get_scenario("variable_length")).updates_per_seed == 500_000


def test_quick_epochs_cut_but_never_below_two():
    for sid in scenario_ids():
        scenario = ResolvedScenario(get_scenario(sid))
        assert 2 <= quick_epochs(scenario) <= scenario.spec.epochs


def test_plan_covers_every_seed_once_and_runs_longest_first():
    request = RunRequest(tuple(scenario_ids()), ("keras", "torch"), tuple(range(10)), workers=2, cores=2)
    jobs = plan_jobs(request, "run")
    covered = sorted((j.scenario.spec.id, j.backend, s) for j in jobs for s in j.seeds)
    expected = sorted((sid, b, s) for sid in scenario_ids() for b in ("keras", "torch") for s in range(10))
    assert covered == expected
    costs = [j.cost for j in jobs]
    assert costs == sorted(costs, reverse=True)
    assert jobs[0].scenario.spec.id == "variable_length"
    assert {j.threads for j in jobs} == {1}


def test_quick_profile_is_labelled_and_cut():
    request = RunRequest(("variable_length",), ("torch",), (0,), quick=True, workers=1, cores=2)
    (job,) = plan_jobs(request, "run")
    assert job.profile == "quick" and job.scenario.epochs < 500 and job.threads == 2


def test_job_key_is_the_key_of_the_record_it_writes_and_a_record_rebuilds_its_job():
    request = RunRequest(("stateful",), ("torch",), (3,), execution="fast", device="cuda", cores=1)
    (job,) = plan_jobs(request, "run")
    record = failed_record(job, 3, "boom")
    assert job.key(3) == record_key(record)
    again = Job.from_record(record, "verify")
    assert again.key(3) == job.key(3)
    assert (again.device, again.execution, again.seeds) == ("cuda", "fast", (3,))


def test_stored_keys_are_left_out_of_the_plan():
    request = RunRequest(("one_char",), ("torch",), (0, 1, 2), cores=1, execution="fast")
    (job,) = plan_jobs(request, "run")
    (rest,) = plan_jobs(request, "run", frozenset({job.key(1)}))
    assert rest.seeds == (0, 2)


def test_a_dominant_fast_job_is_split_into_large_chunks_and_the_split_is_deterministic():
    request = RunRequest(("variable_length", "one_char"), ("torch",), tuple(range(40)), workers=4, cores=4,
                         execution="fast")
    jobs = plan_jobs(request, "run")
    chunks = [j.seeds for j in jobs if j.scenario.spec.id == "variable_length"]
    assert len(chunks) > 1 and min(map(len, chunks)) >= MIN_FAST_CHUNK
    assert sorted(s for c in chunks for s in c) == list(range(40))
    assert makespan(jobs, 4) < makespan(plan_jobs(replace(request, workers=1), "run"), 4)
    assert plan_jobs(request, "run") == jobs
    assert split_summary(jobs) == [f"variable_length · torch: {len(chunks)} chunks of "
                                   f"{'+'.join(str(len(c)) for c in chunks)} seeds"]


def test_chunked_plans_resume_every_seed_exactly_once():
    request = RunRequest(("variable_length",), ("torch", "keras"), tuple(range(30)), workers=3, cores=3,
                         execution="fast")
    first = plan_jobs(request, "run")
    done = frozenset(job.key(s) for job in first[:2] for s in job.seeds)
    rest = plan_jobs(request, "run", done)
    covered = sorted(job.key(s) for job in rest for s in job.seeds)
    assert len(covered) == len(set(covered)) == 60 - len(done)
    assert not set(covered) & done

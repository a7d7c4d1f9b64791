"""The idiomatic timing sample a fast run takes: its own kind of record, measured before the seeds,
never beside them, never an accuracy row or a resume key, taken once per folder."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from harness.records import IDIOMATIC_TIMING, SEED
from harness.reporting.compare import render_comparison
from harness.reporting.report import write_report
from harness.runs.driver import run_request
from harness.runs.plan import QUICK_UPDATES_PER_SEED, RunRequest
from harness.runs.samples import (
    SAMPLE_BLOCK_UPDATES,
    SAMPLE_BLOCKS,
    SAMPLE_SEED,
    SMALL_SAMPLE_BLOCK_UPDATES,
    plan_timing_samples,
    sample_note,
    sample_scenario,
    sample_size,
    skipped_note,
)
from harness.runs.scheduler import ExecutionHooks
from harness.store import append_record, load_folder, results_path
from scenarios import ResolvedScenario, ScenarioOptions, get_scenario, scenario_ids
from tests.cli import CRASH_ENV
from tests.fakes import make_record

SCENARIOS = ("one_char", "stateful")


@pytest.fixture(autouse=True)
def crash_backend(monkeypatch):
    for name, value in CRASH_ENV.items():
        monkeypatch.setenv(name, value)


class Recorder:
    """A Display that keeps the order in which jobs started and ended."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass

    @contextmanager
    def running(self, jobs, request, out):
        def kind(job):
            return "sample" if job.samples else "seed"

        yield ExecutionHooks(on_record=lambda job, record: None,
                             on_job_start=lambda job: self.events.append(("start", kind(job))),
                             on_job_end=lambda job: self.events.append(("end", kind(job))))

    def finished(self, outcome) -> None:
        self.outcome = outcome


def request(**fields) -> RunRequest:
    base = {"scenarios": SCENARIOS, "backends": ("crash",), "seeds": (0, 1, 2), "workers": 2, "cores": 2,
            "execution": "fast"}
    return RunRequest(**{**base, **fields})


def test_samples_run_first_never_beside_a_seed_job_and_are_records_of_their_own_kind(tmp_path):
    shown = Recorder()
    outcome = run_request(request(), tmp_path, "run-1", display=shown)
    starts = [kind for event, kind in shown.events if event == "start"]
    assert starts[0] == "sample" and "sample" not in starts[1:]
    assert shown.events.index(("end", "sample")) < shown.events.index(("start", "seed"))
    folder = load_folder(tmp_path)
    assert len(folder.records) == 6 and all(r["kind"] == SEED for r in folder.records)
    assert sorted(t["scenario"] for t in folder.timings) == sorted(SCENARIOS)
    for timing in folder.timings:
        assert timing["kind"] == IDIOMATIC_TIMING and timing["execution"] == "idiomatic"
        assert timing["seed"] == SAMPLE_SEED and timing["status"] == "ok"
        blocks = sorted(timing["timing_sample"]["blocks_us_per_update"])
        assert timing["us_per_update"] == pytest.approx(blocks[len(blocks) // 2])
    assert outcome.trained == 6 and len(outcome.timings) == 2
    report = (tmp_path / "report.md").read_text()
    assert report.index("How the frameworks run as written") < report.index("compiled engine (`fast`)")
    accuracy = report[report.index("## Accuracy"):report.index("## Backends compared")]
    counts = [line.split("|")[4].strip() for line in accuracy.splitlines() if "crash[fast]" in line]
    assert counts == ["3", "3"]  # n: the seeds, not the samples


def test_the_samples_worker_trains_the_seeds_next(tmp_path, monkeypatch):
    """One executor for both phases: the worker that took the sample (its framework imported and
    warmed) trains the seed jobs of the same config; it is closed once, at the end."""
    from tests.runs.test_local import spy_on_close

    closed = spy_on_close(monkeypatch)
    run_request(request(workers=1), tmp_path, "run-1")
    (pids,) = closed
    assert len(pids) == 3 and len(set(pids.values())) == 1  # a sample job, then two seed jobs
    assert {t["status"] for t in load_folder(tmp_path).timings} == {"ok"}


class Notes(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


def test_a_run_of_seconds_takes_no_sample_unless_asked_and_says_so(tmp_path):
    """By default (idiomatic_timing None) a run whose jobs are all within the quick budget per seed
    takes no sample and prints one line saying why and how to take one; asked, it takes one."""
    every = tuple(scenario_ids())
    quick, full = request(scenarios=every, quick=True, idiomatic_timing=None), request(idiomatic_timing=None)
    assert plan_timing_samples(quick, "r") == [] and "--idiomatic-timing" in skipped_note(quick)
    assert plan_timing_samples(full, "r") and skipped_note(full) is None
    asked = plan_timing_samples(request(scenarios=every, quick=True, idiomatic_timing=True), "r")
    assert asked and skipped_note(request(quick=True, idiomatic_timing=True)) is None
    assert plan_timing_samples(request(quick=True, idiomatic_timing=False), "r") == []
    shown = Notes()
    run_request(request(quick=True, idiomatic_timing=None), tmp_path, "run-1", display=shown)
    assert load_folder(tmp_path).timings == [] and len(load_folder(tmp_path).records) == 6
    assert [kind for event, kind in shown.events if event == "start"] == ["seed", "seed"]
    assert shown.notes == [skipped_note(quick)]


def test_a_timing_sample_is_never_a_resume_key_nor_sampled_twice(tmp_path):
    sample = make_record(backend="crash", seed=SAMPLE_SEED, kind=IDIOMATIC_TIMING, execution="idiomatic",
                         timing_sample={"blocks_us_per_update": [5.0]})
    append_record(results_path(tmp_path), sample)
    run_request(request(execution="idiomatic", seeds=(SAMPLE_SEED,)), tmp_path, "run-1")
    trained = [r for r in load_folder(tmp_path).records if r["execution"] == "idiomatic"]
    assert sorted(r["scenario"] for r in trained) == sorted(SCENARIOS)  # seed 0 trained despite the sample

    again = tmp_path / "again"
    run_request(request(), again, "run-2")
    lines = results_path(again).read_text().splitlines()
    run_request(request(seeds=(0, 1, 2, 3)), again, "run-3")
    added = [json.loads(line) for line in results_path(again).read_text().splitlines()[len(lines):]]
    assert [r["kind"] for r in added] == [SEED, SEED]  # the new seeds, no second sample


def test_no_sample_when_asked_not_to_or_when_the_run_is_idiomatic(tmp_path):
    assert plan_timing_samples(request(idiomatic_timing=False), "r") == []
    assert plan_timing_samples(request(execution="idiomatic"), "r") == []
    (job,) = plan_timing_samples(request(), "r")
    assert [s.spec.id for s in job.samples] == list(SCENARIOS) and job.seeds == (SAMPLE_SEED,)
    run_request(request(idiomatic_timing=False), tmp_path, "run-1")
    assert load_folder(tmp_path).timings == []


def test_sample_epochs_are_a_warm_up_then_blocks_of_at_least_the_block_updates():
    for sid in ("one_char", "batch_state", "variable_length"):
        scenario = sample_scenario(ResolvedScenario(get_scenario(sid)))
        block = (scenario.epochs - 1) // SAMPLE_BLOCKS
        assert scenario.epochs == 1 + SAMPLE_BLOCKS * block
        assert block * scenario.steps_per_epoch >= 200 and (block - 1) * scenario.steps_per_epoch < 200


def test_a_report_renders_with_and_without_timing_samples(tmp_path):
    for seed in range(3):
        append_record(results_path(tmp_path), make_record(seed=seed, execution="fast", seeds_together=3))
    path, _ = write_report(tmp_path)
    assert "_no idiomatic timing in this folder" in path.read_text()
    sample = make_record(seed=SAMPLE_SEED, kind=IDIOMATIC_TIMING, execution="idiomatic",
                         timing_sample={"blocks_us_per_update": [700.0, 800.0, 900]})
    append_record(results_path(tmp_path), sample)
    text = write_report(tmp_path)[0].read_text()
    assert "| one_char   | torch     | timing sample |         800 |   700 |   900 |   3 |" in text
    assert text.count("| one_char   | torch[fast] |   3 |") == 1  # the sample is no accuracy row


def test_compare_keeps_both_executions(tmp_path):
    for name, us in (("a", [700.0, 800.0, 900.0]), ("b", [350.0, 400.0, 450.0])):
        folder = tmp_path / name
        folder.mkdir()
        append_record(results_path(folder), make_record(seed=0, execution="fast", seeds_together=1))
        append_record(results_path(folder), make_record(seed=SAMPLE_SEED, kind=IDIOMATIC_TIMING,
                                                        execution="idiomatic", timing_sample={
                                                            "blocks_us_per_update": us}))
    text = render_comparison(tmp_path / "a", tmp_path / "b")
    assert "| one_char   | torch[fast] |" in text  # the fast seeds, compared
    assert "| one_char   | torch     |           800 |           400 |          0.5 |" in text


def sampled(req: RunRequest) -> dict[str, ResolvedScenario]:
    (job,) = plan_timing_samples(req, "r")
    return {s.spec.id: s for s in job.samples}


def test_a_quick_runs_sample_is_smaller_and_stays_within_its_budget():
    """Blocks of at least the small block size (not the full one), and a scenario whose sample
    would take more updates than the quick budget per seed (variable_length) is left out."""
    every = scenario_ids()
    full, quick = sampled(request(scenarios=every)), sampled(request(scenarios=every, quick=True))
    assert sample_size(request(scenarios=every)).block_updates == SAMPLE_BLOCK_UPDATES
    assert sorted(full) == sorted(every) and sorted(quick) == sorted(set(every) - {"variable_length"})
    assert sample_scenario(ResolvedScenario(get_scenario("variable_length")), SMALL_SAMPLE_BLOCK_UPDATES
                           ).updates_per_seed > QUICK_UPDATES_PER_SEED
    for sid, scenario in quick.items():
        block = (scenario.epochs - 1) // SAMPLE_BLOCKS
        assert scenario.epochs == 1 + SAMPLE_BLOCKS * block
        assert block * scenario.steps_per_epoch >= SMALL_SAMPLE_BLOCK_UPDATES
        assert (block - 1) * scenario.steps_per_epoch < SMALL_SAMPLE_BLOCK_UPDATES
        assert scenario.updates_per_seed <= QUICK_UPDATES_PER_SEED
        assert scenario.updates_per_seed < full[sid].updates_per_seed / 2
    total = {name: sum(s.updates_per_seed for s in samples.values())
             for name, samples in (("quick", quick), ("full", full))}
    assert total["quick"] < total["full"] / 5
    note = sample_note(request(scenarios=every, quick=True))
    assert f">= {SMALL_SAMPLE_BLOCK_UPDATES} updates" in note and "variable_length left out" in note
    assert sample_note(request(scenarios=every)) == "one seed per scenario"


def test_a_tiny_custom_run_takes_small_blocks_of_every_scenario_and_a_long_one_full_blocks():
    tiny = request(scenarios=scenario_ids(), options=ScenarioOptions(epochs=2))
    assert sorted(sampled(tiny)) == sorted(scenario_ids())  # only the quick profile leaves one out
    assert sample_size(tiny).block_updates == SMALL_SAMPLE_BLOCK_UPDATES
    one_long = request(scenarios=("one_char", "batch_state"), options=ScenarioOptions(epochs=200))
    assert sample_size(one_long).block_updates == SAMPLE_BLOCK_UPDATES  # one_char: 5,000 updates per seed


def test_the_record_says_how_big_the_sample_was(tmp_path):
    """The sample's epochs and block size are in its record; its kind and keys stay as they were."""
    run_request(request(quick=True), tmp_path / "quick", "run-1")
    run_request(request(), tmp_path / "full", "run-2")
    small, full = ({t["scenario"]: t for t in load_folder(tmp_path / name).timings}
                   for name in ("quick", "full"))
    for sid in SCENARIOS:
        for timing in (small[sid], full[sid]):
            assert timing["kind"] == IDIOMATIC_TIMING and timing["profile"] == "timing"
            assert timing["epochs"] == 1 + SAMPLE_BLOCKS * timing["timing_sample"]["block_epochs"]
        blocks = small[sid]["timing_sample"]["block_epochs"], full[sid]["timing_sample"]["block_epochs"]
        assert blocks == (2, 8)  # 25 updates an epoch: blocks of 50 and of 200
        assert small[sid]["updates"] < full[sid]["updates"]

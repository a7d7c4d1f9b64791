"""Every folder the project commits or writes opens everywhere, `results.jsonl` or `results.jsonl.gz`:
`harness.load`, `report` (into another folder, leaving the committed one untouched), `compare`,
`run --verify` and resume. Nothing here trains: resume finds every seed stored, and verify's
retrain is stood in for."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import harness
from backends import PLUGINS_ENV
from harness.cli import main
from harness.launch import RunArguments, build_request
from harness.records import record_key
from harness.reporting.markdown import md
from harness.reporting.report import REPORT_FILE
from harness.runs.plan import plan_jobs
from harness.store import PACKED_FILE, load_folder, results_path
from tests.fakes import make_record

REPORTS = Path(__file__).resolve().parents[2] / "reports"
COMMITTED = sorted({p.parent.relative_to(REPORTS).as_posix() for p in REPORTS.glob("**/results.jsonl*")})
# seed records each committed folder holds. study/budget: 5 scenarios × 2 frameworks × 20 seeds, the
# same with the inits swapped, and the Adam-epsilon swap on 2 scenarios × 2 frameworks × 20 seeds;
# study/sweep: 2 scenarios × 12 grid points × 2 frameworks × 10 seeds; three-frameworks: 6 × 3 × 10
SEEDS = {"example": 120, "seeds100": 1200, "ablation": 350, "study/budget": 200 + 200 + 80,
         "study/sweep": 480, "three-frameworks": 180}
CRASH = ["--backend", "crash", "--scenario", "one_char", "stateful", "--seeds", "2", "--epochs", "2",
         "--workers", "1", "--no-idiomatic-timing"]


def _files(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of the folder (not its lock) with its mtime and bytes: what must not change."""
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir())
            if p.is_file() and p.name != ".lock"}


def test_the_committed_folders_are_the_ones_this_file_knows():
    """A folder committed later is loaded below too (or this fails until SEEDS names it)."""
    assert sorted(SEEDS) == COMMITTED
    assert any((REPORTS / name / PACKED_FILE).is_file() for name in COMMITTED)


@pytest.mark.parametrize("name", COMMITTED)
def test_harness_load_opens_every_committed_folder(name):
    results = harness.load(REPORTS / name)
    assert len(results.records) == SEEDS[name] and results.warnings == []
    if name.startswith("study/"):  # schema 3: anytime evaluation, checkpoints ending at the epochs
        assert all(r["schema_version"] == 3 and r["checkpoints"][-1]["epoch"] == r["epochs"]
                   and r["accuracy_curve"]["epochs"][-1] == r["epochs"] for r in results.records)
        table = results.time_to_learn()  # the report's table, as the notebook's last section shows it
        assert len(table) and md(table) in (REPORTS / name / REPORT_FILE).read_text(encoding="utf-8")


def test_report_renders_a_packed_folder_elsewhere_and_leaves_it_untouched(tmp_path, capsys):
    folder = REPORTS / "ablation"  # gzipped, and among the quickest to render
    assert (folder / PACKED_FILE).is_file() and not results_path(folder).exists()
    before = _files(folder)
    out = tmp_path / "new" / "rendered"  # created, parents too
    assert main(["report", str(folder), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out / REPORT_FILE}"
    text = (out / REPORT_FILE).read_text(encoding="utf-8")
    assert text.startswith("# alphabet-bench report") and "## Accuracy" in text
    linked = {line.split("](")[1].split(")")[0] for line in text.splitlines() if line.startswith("![")}
    assert linked and all((out / name).is_file() for name in linked)
    assert _files(folder) == before


def test_report_out_that_is_a_file_is_refused_with_nothing_written(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    results_path(folder).write_text(json.dumps(make_record()) + "\n")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "below"):
        assert main(["report", str(folder), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --out {out}: ") and "not a folder" in err and err.count("\n") == 1
    assert blocker.read_text() == "x" and sorted(p.name for p in folder.iterdir()) == ["results.jsonl"]


def test_compare_between_two_committed_folders(capsys):
    assert main(["compare", str(REPORTS / "example"), str(REPORTS / "ablation")]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| one_char")]
    assert text.startswith("# alphabet-bench comparison") and rows
    assert "does not exist" not in text and "Warnings" not in text


def _stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Records of every seed `run CRASH` asks for (keyed as the run plans them), as if trained."""
    monkeypatch.setenv(PLUGINS_ENV, "crash=tests.crash_backend")
    request = build_request(RunArguments(scenario=["one_char", "stateful"], backend=["crash"], seeds=2,
                                         epochs=2, workers=1, idiomatic_timing=False), "test", "now")
    return [make_record(**job.identity(seed)) for job in plan_jobs(request, "old") for seed in job.seeds]


def _pack(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (folder / PACKED_FILE).write_bytes(gzip.compress(lines.encode()))
    return folder


@pytest.mark.parametrize("appended", [0, 2], ids=["gz-only", "gz-then-appended"])
def test_a_packed_folder_resumes_with_nothing_to_run(tmp_path, monkeypatch, capsys, appended):
    """Every asked seed is stored (in the gzip, or partly in results.jsonl): nothing trains, nothing is
    appended, the gzip is not rewritten."""
    records = _stored(tmp_path, monkeypatch)
    assert len(records) == 4
    folder = _pack(tmp_path / "run", records[appended:])
    for record in records[:appended]:
        with open(results_path(folder), "a") as handle:
            handle.write(json.dumps(record) + "\n")
    packed = (folder / PACKED_FILE).read_bytes()
    appended_before = results_path(folder).read_bytes() if appended else None
    assert main(["run", *CRASH, "--out", str(folder)]) == 0
    assert "4 of 4 seed runs already stored, 0 to run" in capsys.readouterr().err
    assert (folder / PACKED_FILE).read_bytes() == packed
    assert (results_path(folder).read_bytes() if appended else None) == appended_before
    assert (folder / REPORT_FILE).is_file() and not (folder / "logs").exists()
    assert len(load_folder(folder).records) == 4


@pytest.mark.parametrize(("change", "code", "said"), [({}, 0, "reproduced"),
                                                      ({"accuracy": 0.5}, 1, "differs in accuracy")])
def test_verify_finds_its_record_in_a_packed_folder(tmp_path, monkeypatch, capsys, change, code, said):
    """`run --verify` reads the gzip; the retrain is stood in for by the stored record (changed or not)."""
    records = _stored(tmp_path, monkeypatch)
    folder = _pack(tmp_path / "run", records)
    picked: list[dict] = []

    def retrain(jobs, workers, executor, hooks):
        (job,) = jobs
        stored = next(r for r in records if job.key(job.seeds[0]) == record_key(r))
        picked.append(stored)
        hooks.on_record(job, stored | change)

    monkeypatch.setattr("harness.runs.verify.schedule", retrain)
    assert main(["run", *CRASH, "--verify", "--out", str(folder)]) == code
    assert said in capsys.readouterr().err and picked == [records[0]]
    assert not results_path(folder).exists()

"""The committed `reports/example` is what this code produces: a cheap slice of it, every seed of a
few scenario × backend cells, trained again and compared with the committed records number for
number (per-epoch loss, predictions, accuracy, probes). An engine change that moves the numerics
fails here until the committed reports are regenerated in the same piece of work.

Same seed, same machine, same result: a record trained on another CPU model may differ in the
last bits of a float, so on another machine the comparison is skipped, naming both CPUs.
"""

from __future__ import annotations

import pytest

from harness.machine import machine_info
from harness.store import load_folder
from tests.cli import ROOT, harness, records
from tests.conftest import needs_backend

EXAMPLE = ROOT / "reports" / "example"
SLICE = ("one_char", "stateful")  # 12,500 and 7,500 updates a seed: ~1 min for both frameworks
COMPARED = ("epoch_loss", "epoch_accuracy", "accuracy", "patterns", "probes", "updates")


@pytest.mark.slow
@needs_backend("keras")
@needs_backend("torch")
def test_a_slice_of_the_committed_example_trains_to_the_same_numbers(tmp_path):
    committed = {(r["scenario"], r["backend"], r["seed"]): r for r in load_folder(EXAMPLE).records
                 if r["scenario"] in SLICE and r["status"] == "ok"}
    cpus = {r["machine"].get("cpu") for r in committed.values()}
    here = machine_info().get("cpu")
    if here not in cpus:
        pytest.skip(f"reports/example was trained on {sorted(cpus)}, this machine is {here!r}: "
                    "results reproduce per machine")
    seeds = sorted({seed for _, _, seed in committed})
    assert len(committed) == len(SLICE) * 2 * len(seeds) and len(seeds) >= 10
    done = harness("run", "--scenario", *SLICE, "--backend", "keras", "torch", "--seed", *map(str, seeds),
                   "--no-idiomatic-timing", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    again = [r for r in records(tmp_path) if r["kind"] == "seed"]
    assert len(again) == len(committed)
    for r in again:
        stored = committed[(r["scenario"], r["backend"], r["seed"])]
        assert r["execution"] == stored["execution"] == "fast" and r["epochs"] == stored["epochs"]
        for field in COMPARED:
            assert r[field] == stored[field], (r["scenario"], r["backend"], r["seed"], field)

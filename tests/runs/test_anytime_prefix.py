"""The prefix property, end to end: a seed trained to 2E epochs and evaluated at E predicts what
the same seed trained to E predicts, per backend and execution (per-epoch orders never depend on
the total epochs, and a snapshot is the weights after exactly E epochs)."""

from __future__ import annotations

import json

import pytest

from backends import is_installed
from tests.cli import harness

SHORT, LONG = 15, 30


def _seed_records(out):
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {(r["scenario"], r["backend"], r["seed"]): r for r in rows if r["kind"] == "seed"}


@pytest.mark.slow  # four real runs; each backend's own prefix tests (test_snapshots.py) are fast
@pytest.mark.parametrize("execution", ["idiomatic", "fast"])
def test_a_checkpoint_predicts_what_a_run_that_stopped_there_predicts(execution, tmp_path):
    backends = [name for name in ("keras", "torch") if is_installed(name)]
    if not backends:
        pytest.skip("needs .[keras] or .[torch]: no framework backend is installed")
    common = ("run", "--backend", *backends, "--execution", execution, "--scenario", "one_char", "stateful",
              "--seeds", "2", "--workers", "2", "--no-idiomatic-timing")
    long_out, short_out = tmp_path / "long", tmp_path / "short"
    for out, epochs, extra in ((long_out, LONG, ("--eval-at", str(SHORT))), (short_out, SHORT, ())):
        done = harness(*common, "--epochs", str(epochs), *extra, "--out", str(out))
        assert done.returncode == 0, done.stderr[-2000:]
    long, short = _seed_records(long_out), _seed_records(short_out)
    assert sorted(long) == sorted(short) and len(long) == 4 * len(backends)
    for key, stopped in short.items():
        checkpoints = {c["epoch"]: c for c in long[key]["checkpoints"]}
        assert sorted(checkpoints) == [SHORT, LONG]
        at_short = checkpoints[SHORT]
        assert at_short["predicted"] == stopped["checkpoints"][-1]["predicted"], key
        assert at_short["accuracy"] == stopped["checkpoints"][-1]["accuracy"], key
        assert at_short["probes"] == stopped["checkpoints"][-1]["probes"], key
        # ... and what the framework's own predictor said at the end of the short run.
        assert at_short["predicted"] == "".join(p["predicted"] for p in stopped["patterns"]), key
        assert long[key]["checkpoints"][-1]["accuracy"] == long[key]["accuracy"], key

"""The conformance kit (`harness.testing`) passes every built-in backend, and each contract fault
it looks for fails the check that names it (a torch backend with one fault, tests/backends/kit_faults.py).

The built-in backends' kits train in both executions (seconds per scenario), so they sit in the
`train` tier, each in a fresh process, on the scenarios of BUILT_IN; a fault's kit runs one
scenario, one seed, two epochs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from backends import PLUGINS_ENV
from harness.testing import CHECKS, BackendCheckError, check_backend
from tests.cli import ROOT
from tests.conftest import needs_backend

# torch's own compiler stack imports a deprecated torch.jit API; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")


# Each built-in backend's kit on variable_length (padded, masked sequences: where a backend most
# easily goes wrong); torch's also on stateful (state carried across batches: ~6 s). For Keras and
# JAX (~20 s a scenario here) stateful is in their own tests: fast = idiomatic and determinism
# (keras3/test_fast.py, jax_native/test_backend.py), Keras's prefix property and stopwatch
# (keras3/test_snapshots.py, backends/test_timing.py).
BUILT_IN = [pytest.param("torch", ("stateful", "variable_length"), marks=needs_backend("torch"), id="torch"),
            pytest.param("keras", ("variable_length",), marks=needs_backend("keras"), id="keras"),
            pytest.param("jax", ("variable_length",), marks=needs_backend("jax"), id="jax")]


def kit_in_a_fresh_process(name: str, scenarios: tuple[str, ...]) -> dict:
    """The kit as a plugin author runs it: in a process of its own, since Keras picks its framework
    once per process and a test worker may have imported it for another backend already."""
    code = ("import json; from harness.testing import check_backend; "
            f"r = check_backend({name!r}, scenarios={scenarios!r}); "
            "print(json.dumps({'passed': list(r.passed), 'skipped': dict(r.skipped)}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("name", "scenarios"), BUILT_IN)
def test_a_built_in_backend_passes_every_check(name, scenarios):
    """Every check, on the protocol's special cases (BUILT_IN; fast ≡ idiomatic on all six is each
    backend's own test: tests/backends/*/test_fast.py, jax_native/test_backend.py)."""
    report = kit_in_a_fresh_process(name, scenarios)
    assert report == {"passed": list(CHECKS), "skipped": {}}, report


# (fault, scenario, the check that must fail); every check before it must pass
FAULTS = [
    ("config", "one_char", "config"),
    ("probes", "stateful", "probes"),
    ("weights", "one_char", "reference"),
    ("fast", "one_char", "fast"),
    ("snapshots", "one_char", "snapshots"),
    ("timing", "one_char", "timing"),
]


@needs_backend("torch")
@pytest.mark.parametrize(("fault", "scenario", "check"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_fails_the_check_that_names_it(monkeypatch, fault, scenario, check):
    monkeypatch.setenv(PLUGINS_ENV, "faulty=tests.backends.kit_faults")
    monkeypatch.setenv("KIT_FAULT", fault)
    with pytest.raises(BackendCheckError) as failed:
        check_backend("faulty", scenarios=(scenario,), seeds=(0,), epochs=2)
    assert (failed.value.backend, failed.value.check) == ("faulty", check), str(failed.value)
    assert str(failed.value).startswith(f"backend 'faulty' failed the '{check}' check: ")


@needs_backend("torch")
def test_without_a_fault_it_passes_and_reports_what_did_not_apply(monkeypatch):
    monkeypatch.setenv(PLUGINS_ENV, "faulty=tests.backends.kit_faults")
    monkeypatch.delenv("KIT_FAULT", raising=False)
    report = check_backend("faulty", scenarios=("stateful",), seeds=(0,), epochs=2)
    assert report.skipped == {"fast": "the backend offers ['idiomatic'], not both executions"}
    assert "skipped fast" in " ".join(str(report).split())


def test_the_kit_refuses_a_budget_it_cannot_run():
    for kwargs in ({"checks": ("nope",)}, {"scenarios": ("nope",)}, {"epochs": 0}, {"seeds": ()}):
        with pytest.raises(ValueError, match=r"valid choices|at least one"):
            check_backend("torch", **kwargs)
    with pytest.raises(BackendCheckError, match=r"'load' check: .*unknown backend 'nope'"):
        check_backend("nope")

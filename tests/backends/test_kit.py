"""The conformance kit (`harness.testing`) passes every built-in backend, and each contract fault
it looks for fails the check that names it (a torch backend with one fault, tests/backends/kit_faults.py).

The built-in backends' kits train in both executions (seconds per scenario), so they sit in the
`train` tier: two scenarios in the suite, all six in the slow step; a fault's kit runs one scenario,
one seed, two epochs.
"""

from __future__ import annotations

import pytest

from backends import PLUGINS_ENV
from harness.testing import CHECKS, BackendCheckError, check_backend
from tests.conftest import backend_param, needs_backend

# torch's own compiler stack imports a deprecated torch.jit API; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")


BUILT_IN = [backend_param("torch"), backend_param("keras"), backend_param("jax")]


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_built_in_backend_passes_every_check_on_the_two_scenarios_that_differ_most(name):
    """State carried across batches (stateful) and padded, masked sequences (variable_length): the
    protocol's two special cases, every check; the slow step runs all six."""
    report = check_backend(name, scenarios=("stateful", "variable_length"))
    assert report.passed == list(CHECKS), str(report)
    assert report.skipped == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", BUILT_IN)
def test_a_built_in_backend_passes_every_check_on_every_scenario(name):
    report = check_backend(name)
    assert report.passed == list(CHECKS), str(report)
    assert report.skipped == {}


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

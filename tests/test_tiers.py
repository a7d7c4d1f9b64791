"""The test tiers hold what they say (tests/conftest.py defines them): the fast tier,
`pytest -m "not train"`, is not empty, holds the reporting and layering tests and none of the
training ones; the tables that define the `train` tier name files and tests that exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTS, TIERS, TRAINING_PATHS, TRAINING_TESTS

ROOT = TESTS.parent


def test_the_training_tables_name_files_and_tests_that_exist():
    """A renamed file or test would otherwise drop out of the `train` tier into the fast one."""
    for path in TRAINING_PATHS:
        assert (TESTS / path).exists(), f"TRAINING_PATHS: tests/{path} does not exist"
    for path, names in TRAINING_TESTS.items():
        text = (TESTS / path).read_text(encoding="utf-8")
        for name in names:
            assert re.search(rf"^def {name}\(", text, re.MULTILINE), f"TRAINING_TESTS: tests/{path}::{name}?"


def _whole_suite(config: pytest.Config) -> bool:
    """This session collected every test file (then -m, -k, --deselect chose among them)."""
    if any(config.getoption(name, None) for name in ("ignore", "ignore_glob", "lf", "stepwise")):
        return False
    base = Path(config.invocation_params.dir)
    return all("::" not in arg and (base / arg).resolve() in (ROOT, TESTS) for arg in config.args)


def _fast_tier(config: pytest.Config) -> list[str]:
    """The node ids of `pytest -m "not train"`: from this session when it collected the whole
    suite, else from a collection of its own."""
    if _whole_suite(config) and TIERS in config.stash:
        return [nodeid for nodeid, (trains, slow) in config.stash[TIERS].items() if not trains and not slow]
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-m", "not train"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def _file(nodeid: str) -> str:
    return nodeid.split("::")[0].removeprefix("tests/")


def _name(nodeid: str) -> str:
    return nodeid.split("::")[-1].split("[")[0]


def test_the_fast_tier_holds_reporting_and_layering_and_no_training(request):
    fast = _fast_tier(request.config)
    files = {nodeid.split("::")[0] for nodeid in fast}
    assert len(fast) >= 100, f"only {len(fast)} tests in the fast tier"
    assert any(f.startswith("tests/reporting/") for f in files), sorted(files)
    assert "tests/test_layering.py" in files and "tests/harness/test_cli.py" in files, sorted(files)
    training = [f for f in files for p in TRAINING_PATHS if f == f"tests/{p}" or f.startswith(f"tests/{p}/")]
    assert not training, training
    named = [nodeid for nodeid in fast if _name(nodeid) in TRAINING_TESTS.get(_file(nodeid), ())]
    assert not named, named
    assert "tests/test_notebook.py" not in files and "tests/runs/test_ray_cluster.py" not in files  # slow


def test_the_slow_tests_are_left_out_unless_asked_for(request):
    from tests.conftest import asks_for

    class Config:
        def __init__(self, expression: str) -> None:
            self.expression = expression

        def getoption(self, name: str) -> str:
            return self.expression

    for expression in ("slow", "not slow", "slow and not train", "(slow)", "train or slow"):
        assert asks_for(Config(expression), "slow"), expression
    for expression in ("", "not train", "train", "slowest", "not_slow"):
        assert not asks_for(Config(expression), "slow"), expression
    if _whole_suite(request.config) and not asks_for(request.config, "slow"):
        tiers = request.config.stash[TIERS]
        assert any(slow for _, slow in tiers.values())  # there are slow tests, and this run left them out
        assert not any(item.get_closest_marker("slow") for item in request.session.items)


def test_benchmark_only_starts_as_a_plain_session():
    """`pytest --benchmark-only` (the README's timed path) must not meet addopts' `--dist`, which
    pytest-benchmark would read as xdist and refuse."""
    collect = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}  # a plain session
    done = subprocess.run([*collect, "tests/benchmarks", "--benchmark-only", "-k", "one_char"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "::" in done.stdout


def test_n_keeps_a_file_and_its_shared_scope_on_one_worker_so_its_module_fixture_is_built_once(tmp_path):
    """`pytest -n 2` on a probe file and its partner (tests/xdist_probe*.py, not collected by the
    suite; one SHARED_SCOPES unit) whose tests take long enough that plain `--dist load`, or
    loadfile's one unit per file, would spread them: one worker ran them all, and the probe's module
    fixture was built once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env["XDIST_PROBE_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider",
                           "tests/xdist_probe.py", "tests/xdist_probe_partner.py"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ran = sorted(p.name for p in tmp_path.glob("ran-*"))
    built = sorted(p.name for p in tmp_path.glob("built-*"))
    assert len(ran) == 12, ran
    assert len({name.split("-")[1] for name in ran}) == 1, ran  # one worker
    assert len(built) == 1, built


def test_the_scheduling_tables_name_units_that_exist_and_join_the_ray_cluster_files():
    from tests.conftest import HEAVY_FIRST, SHARED_SCOPES, scope_of

    for path in SHARED_SCOPES:
        assert (ROOT / path).is_file(), f"SHARED_SCOPES: {path} does not exist"
    for unit in HEAVY_FIRST:  # a renamed file would silently go back to the end of the queue
        assert unit in SHARED_SCOPES.values() or (ROOT / unit).is_file(), f"HEAVY_FIRST: {unit}?"
    ray = {scope_of("tests/runs/test_ray_cluster.py::a[b]"), scope_of("tests/runs/test_ray_multinode.py::c")}
    assert len(ray) == 1, ray
    assert scope_of("tests/runs/test_local.py::test_x") == "tests/runs/test_local.py"

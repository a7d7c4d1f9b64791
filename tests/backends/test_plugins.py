"""Backends from other distributions: found by entry point, shown by `list`, run by `run`, checked by
the conformance kit, and left out (with one warning each) when unusable.

The distributions are built by hand in tmp_path, outside the repository and without pip: a package
folder and a `*.dist-info` folder (METADATA, entry_points.txt) on PYTHONPATH are all that
importlib.metadata needs to find an installed distribution's entry points.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from backends import (
    GROUP,
    PLUGINS_ENV,
    BackendPluginWarning,
    backend_names,
    backends,
    clear_cache,
    get_entry,
    install_hint,
)
from backends.entry import BUILT_IN, ENTRY_POINT, ENV_ROUTE
from harness.records import SEED
from tests.conftest import needs_backend

ROOT = Path(__file__).resolve().parents[2]

TOY_INIT = '''"""A toy backend plugin: this module stays light (no torch import), as the contract asks."""
from backends.entry import BackendEntry

ENTRY = BackendEntry("toy", "toy_alphabet.backend", requires=("torch",),
                     distributions=("toy_alphabet", "torch"), extra="", default=False)
BROKEN = BackendEntry("toy_broken", "toy_alphabet.broken", requires=("torch",),
                      distributions=("toy_alphabet", "torch"), extra="", default=False)
'''
TOY_BACKEND = '''"""The torch backend under another name, idiomatic execution only."""
import importlib.metadata

from backends.base import RuntimeConfig, check_config
from backends.pytorch.backend import TorchBackend

EXECUTIONS = ("idiomatic",)


class ToyBackend(TorchBackend):
    name = "toy"

    def setup(self, config: RuntimeConfig) -> dict:
        check_config(self.name, config, EXECUTIONS)
        return super().setup(config)

    def versions(self) -> dict:
        return {**super().versions(), "toy_alphabet": importlib.metadata.version("toy_alphabet")}


BACKEND_CLASS = ToyBackend
'''
TOY_BROKEN = '''"""The toy, broken: each call initialises its models from a fresh salt, so the same plan
trains another model every time (everything else is well formed)."""
import dataclasses
import itertools

from toy_alphabet.backend import EXECUTIONS, ToyBackend

_SALT = itertools.count(1)


class BrokenBackend(ToyBackend):
    name = "toy_broken"

    def train(self, scenario, data, plans, progress, snapshots=None):
        salt = next(_SALT)
        plans = [dataclasses.replace(p, init_seed=p.init_seed + salt) for p in plans]
        yield from super().train(scenario, data, plans, progress, snapshots)


BACKEND_CLASS = BrokenBackend
'''
TOY_ENTRY_POINTS = "toy = toy_alphabet:ENTRY\ntoy_broken = toy_alphabet:BROKEN\n"
# A distribution of plugins none of which may be used.
BAD_INIT = '''from backends.entry import BackendEntry

NOT_AN_ENTRY = "toy"
KERAS = BackendEntry("keras", "toy_alphabet.backend", ("torch",), ("torch",), "")
OTHER_NAME = BackendEntry("someone_else", "toy_alphabet.backend", ("torch",), ("torch",), "")
'''
BAD_HEAVY = '''import bad_framework  # a framework imported on load: what the contract forbids
from backends.entry import BackendEntry

ENTRY = BackendEntry("heavy", "toy_alphabet.backend", ("bad_framework",), (), "")
'''
BAD_ENTRY_POINTS = ("notentry = bad_alphabet:NOT_AN_ENTRY\nkeras = bad_alphabet:KERAS\n"
                    "misnamed = bad_alphabet:OTHER_NAME\nheavy = bad_alphabet.heavy:ENTRY\n"
                    "missing = bad_alphabet.nowhere:ENTRY\n")


def distribution(site: Path, name: str, version: str, files: dict[str, str], entry_points: str) -> Path:
    """An installed distribution as importlib.metadata sees one: its files and a dist-info folder."""
    for path, text in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text, encoding="utf-8")
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    (info / "METADATA").write_text(metadata, encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{entry_points}", encoding="utf-8")
    return site


def toy_site(root: Path) -> Path:
    return distribution(root / "toy-site", "toy_alphabet", "0.1", {
        "toy_alphabet/__init__.py": TOY_INIT, "toy_alphabet/backend.py": TOY_BACKEND,
        "toy_alphabet/broken.py": TOY_BROKEN}, TOY_ENTRY_POINTS)


def bad_site(root: Path) -> Path:
    return distribution(root / "bad-site", "bad_alphabet", "0.2", {
        "bad_alphabet/__init__.py": BAD_INIT, "bad_alphabet/heavy.py": BAD_HEAVY,
        "bad_framework.py": "LOADED = True\n"}, BAD_ENTRY_POINTS)


@pytest.fixture
def on_path(monkeypatch):
    """Put a site folder on sys.path and forget the entry points found so far (before and after)."""

    def add(site: Path) -> None:
        monkeypatch.syspath_prepend(str(site))
        clear_cache()

    yield add
    clear_cache()


def test_an_entry_point_backend_is_registered_with_its_distribution(tmp_path, on_path):
    on_path(toy_site(tmp_path))
    entry = get_entry("toy")
    assert (entry.origin, entry.distribution, entry.dist_version) == (ENTRY_POINT, "toy_alphabet", "0.1")
    assert entry.source == "toy_alphabet 0.1" and entry.module == "toy_alphabet.backend"
    assert get_entry("keras").source == BUILT_IN
    assert install_hint("toy") == "pip install toy_alphabet"  # its own distribution, not our extras
    assert install_hint("keras") == "pip install -e '.[keras]'"
    assert "toy" in backend_names() and "toy_broken" in backend_names()
    # Reading the registry (so loading the entry points) imports no framework, nor does the kit (nor pytest):
    code = ("import sys; from backends import backends; backends(); import harness.testing; "
            "print(sorted({'torch', 'tensorflow', 'jax', 'keras', 'pytest'} & set(sys.modules)))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "toy-site"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_the_backends_table_says_where_each_backend_comes_from(tmp_path, on_path, monkeypatch):
    from harness.terminal import backend_table
    from tests.harness.test_terminal import render

    on_path(toy_site(tmp_path))
    monkeypatch.setenv(PLUGINS_ENV, "crash=tests.crash_backend")
    wide, narrow = render(backend_table(), 200), render(backend_table(), 80)
    assert "from" in wide.splitlines()[1]
    toy = next(line for line in wide.splitlines() if line.startswith("toy "))
    assert "toy_alphabet 0.1" in toy and "'.[" not in toy  # installed by its own distribution
    assert next(line for line in wide.splitlines() if line.startswith("keras ")).count("built-in") == 1
    assert max(map(len, narrow.splitlines())) <= 80
    legend = " ".join(narrow.split())
    assert "toy from toy_alphabet 0.1" in legend and f"crash from {ENV_ROUTE}" in legend
    assert "the others are built in" in legend


def test_unusable_plugins_are_left_out_with_one_warning_each(tmp_path, on_path):
    on_path(bad_site(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = backends()
        again = backends()
    messages = [str(w.message) for w in caught if issubclass(w.category, BackendPluginWarning)]
    assert found == again and found["keras"].origin == BUILT_IN
    assert not {"notentry", "misnamed", "someone_else", "heavy", "missing"} & set(found)
    expected = {  # each names the entry point, its distribution and what is wrong
        "'notentry = bad_alphabet:NOT_AN_ENTRY' of bad_alphabet 0.2 is a str, not a backends.BackendEntry",
        "'misnamed = bad_alphabet:OTHER_NAME' of bad_alphabet 0.2 names backend 'someone_else'",
        "'heavy = bad_alphabet.heavy:ENTRY' of bad_alphabet 0.2 imported bad_framework on load",
        "'missing = bad_alphabet.nowhere:ENTRY' of bad_alphabet 0.2 failed to load: ModuleNotFoundError",
        "'keras' from bad_alphabet 0.2 (toy_alphabet.backend) clashes with the built-in backend 'keras'",
    }
    for text in expected:
        assert sum(text in m for m in messages) == 1, (text, messages)
    assert len(messages) == len(expected), messages  # once each, though the registry was read twice


def test_the_env_route_still_registers_a_module_but_never_over_a_built_in(monkeypatch, on_path, tmp_path):
    on_path(toy_site(tmp_path))
    names = ("crash", "torch", "toy")
    monkeypatch.setenv(PLUGINS_ENV, ",".join(f"{name}=tests.crash_backend" for name in names))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = backends()
    messages = " | ".join(str(w.message) for w in caught)
    assert found["crash"].origin == ENV_ROUTE and found["crash"].module == "tests.crash_backend"
    assert found["torch"].origin == BUILT_IN and "clashes with the built-in backend 'torch'" in messages
    assert found["toy"].origin == ENV_ROUTE and "replaces toy_alphabet 0.1's" in messages  # said, not silent


@needs_backend("torch")
def test_a_plugin_lists_runs_and_passes_the_kit_and_a_broken_one_fails_it(tmp_path):
    """The issue's "done when": with the toy distribution on PYTHONPATH, in fresh processes."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(toy_site(tmp_path)), str(ROOT)])}
    env.pop(PLUGINS_ENV, None)

    def python(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=timeout)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    listed = python("-m", "harness", "list").stdout
    assert "toy from toy_alphabet 0.1" in " ".join(listed.split()) or "toy_alphabet 0.1" in listed
    out = tmp_path / "out"
    python("-m", "harness", "run", "--backend", "toy", "--scenario", "one_char", "--seeds", "1",
           "--epochs", "2", "--execution", "idiomatic", "--out", str(out))
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    trained = [r for r in records if r["kind"] == SEED]
    assert trained and all(r["backend"] == "toy" and r["status"] == "ok" for r in trained), records
    assert trained[0]["framework_versions"]["toy_alphabet"] == "0.1"
    code = ("import json; from harness.testing import BackendCheckError, check_backend\n"
            "report = check_backend('toy')\n"
            "try:\n    check_backend('toy_broken')\n    failed = None\n"
            "except BackendCheckError as exc:\n    failed = [exc.check, str(exc)]\n"
            "print(json.dumps({'passed': report.passed, 'skipped': report.skipped, 'failed': failed}))")
    result = json.loads(python("-c", code, timeout=600).stdout.strip().splitlines()[-1])
    assert "fast" in result["skipped"] and "not both executions" in result["skipped"]["fast"]
    assert set(result["passed"]) == {"imports", "config", "training", "probes", "determinism", "reference",
                                     "transfer", "snapshots", "timing"}
    check, message = result["failed"]
    assert check == "determinism" and "toy_broken" in message and "trained twice" in message

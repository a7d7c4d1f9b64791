"""Shared pytest plumbing: the benchmark work-size option, pytest-benchmark machine info, and
skips for backends this install lacks."""

from __future__ import annotations

import os

import pytest

from backends import backend_names, distribution_versions, get_entry, is_installed
from harness.machine import cpu_count, git_commit

SIZES = ("smoke", "tutorial")
ENV_SIZE = "ALPHABET_BENCH_EPOCHS"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--alphabet-epochs", default=os.environ.get(ENV_SIZE, "smoke"),
        help="work per benchmark: 'smoke' (default; whole suite in a few minutes), 'tutorial' "
        f"(the tutorial's full epochs) or an integer epoch count. Env: {ENV_SIZE}.",
    )


def is_benchmarking(config: pytest.Config) -> bool:
    """Timing was asked for: otherwise benchmarks run once, tiny, as plain tests."""
    return any(config.getoption(name, None) for name in
               ("benchmark_only", "benchmark_json", "benchmark_save", "benchmark_autosave"))


def needs_backend(name: str) -> pytest.MarkDecorator:
    """Skip unless backend `name` is installed; the reason names the extra that installs it."""
    reason = f"backend {name!r} is not installed: needs .[{get_entry(name).extra}]"
    return pytest.mark.skipif(not is_installed(name), reason=reason)


def backend_param(name: str):
    """A parametrize/fixture value `name` that skips when that backend is not installed."""
    return pytest.param(name, marks=needs_backend(name), id=name)


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config: pytest.Config) -> None:
    if not is_benchmarking(config):
        config.option.benchmark_disable = True
    value = config.getoption("--alphabet-epochs")
    if value not in SIZES and not (value.isdigit() and int(value) > 0):
        raise pytest.UsageError(
            f"--alphabet-epochs {value!r}: choose one of {', '.join(SIZES)} or a positive integer"
        )


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Everything a comparison of two saved runs needs, beside pytest-benchmark's own info."""
    machine_info["alphabet_bench"] = {
        "framework_versions": {name: distribution_versions(name) for name in backend_names()},
        "installed_backends": [name for name in backend_names() if is_installed(name)],
        "cores": cpu_count(),
        "threads_per_benchmark": 1,
        "determinism": {"keras": "tf.config.experimental.enable_op_determinism",
                        "torch": "torch.use_deterministic_algorithms(True)"},
        "work_size": config.getoption("--alphabet-epochs"),
        "git_commit": git_commit(),
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under --benchmark-only, deselect the plain tests instead of letting pytest-benchmark skip
    them: with -ra each such skip would be a line under the tables, hiding the real ones."""
    if not config.getoption("benchmark_only", False):
        return
    kept: list[pytest.Item] = []
    plain: list[pytest.Item] = []
    for item in items:  # pytest-benchmark's own test of "is a benchmark": uses the fixture
        (kept if "benchmark" in getattr(item, "fixturenames", ()) else plain).append(item)
    if plain:
        config.hook.pytest_deselected(items=plain)
        items[:] = kept

"""Shared pytest plumbing: the test tiers (`train`, `slow`), the benchmark work-size option,
pytest-benchmark machine info, and skips for backends this install lacks."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import backend_names, distribution_versions, get_entry, is_installed
from harness.machine import cpu_count, git_commit

SIZES = ("smoke", "tutorial")
ENV_SIZE = "ALPHABET_BENCH_EPOCHS"

# The tiers. `slow` (the tutorial's full epochs, real Ray clusters, the notebook): deselected unless
# -m names it, so `pytest -m slow` runs them and `pytest -m "not train"` still leaves them out.
# `train`: a test that trains, a real model (a framework's training loop, directly or through the
# harness) or the crash backend's stand-in through the harness's run path (worker processes, the
# driver, resume after kills and hangs), or that needs a framework installed. `pytest -m "not train"`
# is the fast tier: reporting on synthetic and committed records, planning, the store, the CLI's
# parsing and errors, the API's validation, the layering. Marked here, in one place, so no test file
# carries a tier mark of its own:
#  1. a test that needs a framework backend: marked with needs_backend() or backend_param();
#  2. every test in TRAINING_PATHS: a framework's own tests, the cross-framework tests, the
#     benchmarks, the end-to-end runs, the driver's runs;
#  3. the TRAINING_TESTS of the files that mix both.
# tests/test_tiers.py checks that these name files and tests that exist, and what the fast tier holds.
TESTS = Path(__file__).resolve().parent
TRAINING_PATHS = ("backends/keras3", "backends/pytorch", "backends/jax_native", "backends/test_parity.py",
                  "benchmarks", "test_end_to_end.py", "runs/test_anytime_prefix.py", "runs/test_driver.py",
                  "runs/test_timing_sample.py", "runs/test_verify.py", "runs/test_sweep.py",
                  "runs/test_speed.py", "runs/test_local.py", "harness/test_script_api.py",
                  "backends/test_kit.py")
TRAINING_TESTS = {
    "backends/test_timing.py": ("test_progress_time_is_not_training_time",
                                "test_portable_progress_time_is_not_training_time"),
    "runs/test_ray_cluster.py": ("test_ray_and_local_executors_give_the_same_records",
                                 "test_device_cuda_trains_and_records_the_device"),
    "runs/test_ray_multinode.py": ("test_records_equal_a_local_runs_for_the_same_seeds",),
    "runs/test_anytime.py": ("test_no_checkpoints_is_recorded_as_not_asked_for",),
    "harness/test_api.py": ("test_a_sweep_runs_every_grid_point_as_the_cli_does",
                            "test_a_run_with_failures_returns_them_as_rows",
                            "test_timing_samples_are_timing_rows_not_frame_rows",
                            "test_a_call_whose_seeds_all_failed_raises_run_failed",
                            "test_failures_of_earlier_calls_and_diverged_seeds_neither_raise_nor_warn"),
}
# Under pytest-xdist (`pytest -n auto`, the README's command) each worker builds its own module-scoped
# fixtures, so `--dist loadfile` (pyproject's addopts; xdist's workers read it from the command line)
# keeps each file on one worker: a fixture that trains (a whole `run --all`, Keras on JAX) is built
# once, not once per worker. (xdist_group marks would be finer, but xdist 3.8 cannot tag them under
# pytest 9.) The files of one SHARED_SCOPES entry go to one worker as one unit (pytest_xdist_make_scheduler):
# the two that start real Ray clusters, which must never run side by side (`ray_exclusive`, below,
# holds that for any --dist) and, as two units, had one worker wait on the other's lock for minutes. A
# session without -n sets dist back to "no" (pytest_configure), or pytest-benchmark would take it for
# xdist and refuse --benchmark-only.
SHARED_SCOPES = {
    "tests/runs/test_ray_cluster.py": "ray clusters", "tests/runs/test_ray_multinode.py": "ray clusters",
    "tests/xdist_probe.py": "probe", "tests/xdist_probe_partner.py": "probe",  # tests/test_tiers.py
}
# Units handed out first, heaviest first (longest-processing-time order): xdist orders units by their
# number of tests, which puts these few-but-long files last, where one of them kept a worker busy
# after the other had finished. From `pytest -n auto --durations=0` here (cold caches for torch's).
HEAVY_FIRST = (
    "ray clusters", "tests/test_notebook.py", "tests/runs/test_anytime_prefix.py",  # the slow step's
    "tests/test_end_to_end.py", "tests/backends/test_kit.py", "tests/runs/test_driver.py",
    "tests/backends/jax_native/test_backend.py", "tests/backends/keras3/test_snapshots.py",
    "tests/backends/keras3/test_portable.py", "tests/backends/pytorch/test_options.py",
    "tests/backends/pytorch/test_compiled.py", "tests/backends/pytorch/test_fast.py",
    "tests/backends/test_timing.py", "tests/harness/test_script_api.py", "tests/runs/test_speed.py",
    "tests/runs/test_verify.py", "tests/backends/keras3/test_fast.py",
)
TIERS = pytest.StashKey[dict[str, tuple[bool, bool]]]()  # every collected test: (trains, slow)


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
    """Skip unless backend `name` is installed (the reason names the extra that installs it); the
    test is in the `train` tier. Applied by pytest_collection_modifyitems, below."""
    get_entry(name)  # an unknown name fails at import, not as a skip
    return pytest.mark.needs_backend(name)


def backend_param(name: str):
    """A parametrize/fixture value `name` that skips when that backend is not installed."""
    return pytest.param(name, marks=needs_backend(name), id=name)


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        config.option.dist = "no"  # addopts' loadfile, in a session xdist does not distribute
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


def _relative(item: pytest.Item) -> str:
    try:
        return Path(item.path).resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return ""


def trains(item: pytest.Item) -> bool:
    """The `train` tier's rule (see TRAINING_PATHS, above)."""
    if any(True for _ in item.iter_markers("needs_backend")):
        return True
    path = _relative(item)
    if any(path == p or path.startswith(p + "/") for p in TRAINING_PATHS):
        return True
    return getattr(item, "originalname", item.name) in TRAINING_TESTS.get(path, ())


def asks_for(config: pytest.Config, marker: str) -> bool:
    """The -m expression names `marker` (as in `-m slow`, `-m "slow and not train"`)."""
    return re.search(rf"(?<![\w.-]){marker}(?![\w.-])", config.getoption("markexpr") or "") is not None


def _deselect(config: pytest.Config, items: list[pytest.Item], drop) -> None:
    kept, dropped = [], []
    for item in items:
        (dropped if drop(item) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(tryfirst=True)  # the marks go on before pytest's own -m deselects by them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the `train` tier and skip tests whose framework is missing; deselect the `slow` tests
    unless -m names them; under --benchmark-only, deselect the plain tests instead of letting
    pytest-benchmark skip them (with -ra each such skip would be a line under the tables)."""
    tiers = {}
    for item in items:
        missing = [m.args[0] for m in item.iter_markers("needs_backend") if not is_installed(m.args[0])]
        if missing:
            extra = get_entry(missing[0]).extra
            item.add_marker(pytest.mark.skip(reason=f"backend {missing[0]!r} is not installed: "
                                                    f"needs .[{extra}]"))
        training = trains(item)
        if training:
            item.add_marker(pytest.mark.train)
        tiers[item.nodeid] = (training, item.get_closest_marker("slow") is not None)
    config.stash[TIERS] = tiers
    if not asks_for(config, "slow"):
        _deselect(config, items, lambda item: item.get_closest_marker("slow") is not None)
    if config.getoption("benchmark_only", False):
        # pytest-benchmark's own test of "is a benchmark": uses the fixture
        _deselect(config, items, lambda item: "benchmark" not in getattr(item, "fixturenames", ()))


def scope_of(nodeid: str) -> str:
    """The unit `--dist loadfile` hands a worker: the test's file, or its SHARED_SCOPES name."""
    path = nodeid.split("::", 1)[0]
    return SHARED_SCOPES.get(path, path)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: this conftest also loads without xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """loadfile's scheduler, with the files of a SHARED_SCOPES entry as one unit and the
    HEAVY_FIRST units handed out first."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedScopes(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

        def _assign_work_unit(self, node) -> None:
            for scope in reversed(HEAVY_FIRST):  # those still queued go to the front, in this order
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return SharedScopes(config, log)


@pytest.fixture(scope="module")
def ray_exclusive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Held by a module that starts real Ray instances, for the whole module: the xdist workers of
    one session share the lock file's folder, so two such modules never run at once."""
    from filelock import FileLock

    with FileLock(tmp_path_factory.getbasetemp().parent / "alphabet-bench-ray.lock"):
        yield

"""How one framework learns a scenario: a lazy registry of backend modules, built in or plugged
in by an installed distribution's entry point (`backends.plugins`, docs/plugins.md).

Nothing here imports a framework, so `list` works with any subset installed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys

from backends.base import DEVICES, EXECUTIONS, Backend, Predictor, RuntimeConfig, SeedPlan, SeedTraining
from backends.entry import BackendEntry
from backends.plugins import (
    GROUP,
    OWN_DISTRIBUTION,
    PLUGINS_ENV,
    BackendPluginWarning,
    clear_cache,
    merged,
    normalized,
)
from backends.timing import ProgressFn, Stopwatch, Timing

_BUILTIN: dict[str, BackendEntry] = {
    "keras": BackendEntry(
        "keras", "backends.keras3.backend", ("keras", "tensorflow"), ("keras", "tensorflow"), "keras",
        env=(("KERAS_BACKEND", "tensorflow"),),
    ),
    "torch": BackendEntry("torch", "backends.pytorch.backend", ("torch",), ("torch",), "torch"),
    # The same Keras code on Keras 3's other backends.
    "keras-jax": BackendEntry(
        "keras-jax", "backends.keras3.portable", ("keras", "jax"), ("keras", "jax", "jaxlib"), "keras-jax",
        env=(("KERAS_BACKEND", "jax"),), default=False,
    ),
    "keras-torch": BackendEntry(
        "keras-torch", "backends.keras3.portable", ("keras", "torch"), ("keras", "torch"), "keras-torch",
        env=(("KERAS_BACKEND", "torch"),), default=False,
    ),
}


def backends() -> dict[str, BackendEntry]:
    """The built-in backends, then the plugins (entry points of GROUP, then $ALPHABET_BENCH_BACKENDS):
    see `backends.plugins`."""
    return merged(_BUILTIN)


class UnknownBackendError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def backend_names() -> list[str]:
    return list(backends())


def get_entry(name: str) -> BackendEntry:
    try:
        return backends()[name]
    except KeyError:
        raise UnknownBackendError(
            f"unknown backend {name!r}; valid choices: {', '.join(backends())}"
        ) from None


def is_installed(name: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in get_entry(name).requires)


def installed_backends() -> list[str]:
    return [name for name in backends() if is_installed(name)]


def default_backends() -> list[str]:
    """What a run uses without --backend: the installed backends not marked opt-in."""
    return [name for name in installed_backends() if get_entry(name).default]


def install_hint(name: str) -> str:
    """The command that installs what backend `name` needs: this project's extra, or a plugin's."""
    entry = get_entry(name)
    if entry.distribution and normalized(entry.distribution) != normalized(OWN_DISTRIBUTION):
        return f"pip install '{entry.distribution}[{entry.extra}]'" if entry.extra \
            else f"pip install {entry.distribution}"
    return f"pip install -e '.[{entry.extra}]'"


def apply_env(name: str) -> None:
    """Set the backend's environment (e.g. KERAS_BACKEND); call before importing its framework."""
    os.environ.update(dict(get_entry(name).env))


def distribution_versions(name: str) -> dict[str, str | None]:
    """Versions from package metadata, without importing the framework."""
    out: dict[str, str | None] = {}
    for dist in get_entry(name).distributions:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def nvidia_driver_present() -> bool:
    """Cheap first check before asking any framework: no driver, no CUDA GPU."""
    return shutil.which("nvidia-smi") is not None or os.path.exists("/dev/nvidia0")


def gpu_count(name: str) -> int:
    """GPUs the backend's framework sees, asked in a fresh process (with the backend's env)
    so this process never imports a framework; 0 when none, the check fails or no driver."""
    if not nvidia_driver_present() or not is_installed(name):
        return 0
    code = (f"from backends import apply_env, get_entry; apply_env({name!r}); import importlib; "
            f"print(importlib.import_module(get_entry({name!r}).module).gpu_count())")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        return int(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return 0


def supported_executions(name: str) -> tuple[str, ...]:
    """Execution modes a backend implements: its module's EXECUTIONS, else all (backends.base);
    cheap: no framework import."""
    module = importlib.import_module(get_entry(name).module)
    return tuple(getattr(module, "EXECUTIONS", EXECUTIONS))


def load_backend(name: str) -> Backend:
    """Import the backend module (and so its framework) and instantiate it."""
    module = importlib.import_module(get_entry(name).module)
    return module.BACKEND_CLASS()


__all__ = [
    "DEVICES",
    "EXECUTIONS",
    "GROUP",
    "PLUGINS_ENV",
    "Backend",
    "BackendEntry",
    "BackendPluginWarning",
    "Predictor",
    "ProgressFn",
    "RuntimeConfig",
    "SeedPlan",
    "SeedTraining",
    "Stopwatch",
    "Timing",
    "UnknownBackendError",
    "apply_env",
    "backend_names",
    "backends",
    "clear_cache",
    "default_backends",
    "distribution_versions",
    "get_entry",
    "gpu_count",
    "install_hint",
    "installed_backends",
    "is_installed",
    "load_backend",
    "supported_executions",
]

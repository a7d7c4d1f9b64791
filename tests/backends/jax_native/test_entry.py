"""The jax backend's registry entry and its import contract, checked without JAX."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from backends.base import EXECUTIONS

ROOT = Path(__file__).resolve().parents[3]


def test_entry_names_the_module_the_extra_and_what_it_needs():
    from backends.jax_native import ENTRY

    assert (ENTRY.name, ENTRY.module, ENTRY.extra, ENTRY.default) == (
        "jax", "backends.jax_native.backend", "jax", False)
    assert ENTRY.requires == ("jax", "flax", "optax")
    assert set(ENTRY.distributions) == {"jax", "jaxlib", "flax", "optax"}


def test_importing_the_backend_imports_no_framework():
    """The registry imports the module (for EXECUTIONS) where JAX may be missing."""
    code = ("import sys, backends.jax_native, backends.jax_native.backend as b, backends.jax_native.model, "
            "backends.jax_native.idiomatic, backends.jax_native.fast; "
            "print(sorted({'jax', 'flax', 'optax', 'jaxlib'} & set(sys.modules)), b.EXECUTIONS, "
            "callable(b.gpu_count), b.BACKEND_CLASS.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["[]", *str(EXECUTIONS).split(), "True", "JaxBackend"]


def test_the_environment_jax_starts_with(monkeypatch):
    """Set before JAX starts: its platform, one Eigen thread for threads=1, deterministic GPU ops;
    flags the user set are kept, none twice."""
    from backends.base import RuntimeConfig
    from backends.jax_native.backend import framework_env

    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    assert framework_env(RuntimeConfig(threads=1)) == {
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_cpu_enable_fast_math=false --xla_cpu_multi_thread_eigen=false"}
    assert framework_env(RuntimeConfig(threads=2))["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false"
    monkeypatch.setenv("XLA_FLAGS", "--xla_gpu_deterministic_ops=true")
    assert framework_env(RuntimeConfig(device="cuda")) == {
        "JAX_PLATFORMS": "cuda", "XLA_FLAGS": "--xla_gpu_deterministic_ops=true"}
    monkeypatch.delenv("XLA_FLAGS")
    assert framework_env(RuntimeConfig(threads=4, deterministic=False)) == {"JAX_PLATFORMS": "cpu"}

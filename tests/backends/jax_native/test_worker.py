"""`python -m harness run --backend jax` records a seed through the real worker path."""

from __future__ import annotations

from backends import PLUGINS_ENV, UnknownBackendError, get_entry
from tests.backends.jax_native import jax_marks
from tests.cli import harness, records

pytestmark = jax_marks()


def _env() -> dict[str, str]:
    """The registry's "jax" once it lists it; until then the plug-in route to the same module."""
    try:
        get_entry("jax")
        return {}
    except UnknownBackendError:
        return {PLUGINS_ENV: "jax=backends.jax_native.backend"}


def test_a_run_records_the_jax_backend(tmp_path):
    out = tmp_path / "run"
    done = harness("run", "--backend", "jax", "--scenario", "one_char", "--seeds", "1", "--epochs", "2",
                   "--workers", "1", "--no-idiomatic-timing", "--out", str(out), env=_env())
    assert done.returncode == 0, done.stderr[-2000:]
    (record,) = records(out)
    assert (record["backend"], record["execution"], record["status"]) == ("jax", "fast", "ok")
    assert record["updates"] == 2 * 25 and len(record["epoch_loss"]) == 2
    assert set(record["framework_versions"]) == {"jax", "jaxlib", "flax", "optax"}
    runtime = record["runtime"]
    assert runtime["fast_path"] == "xla-scan-vmap" and runtime["adam_eps_default"] == 1e-8
    assert record["checkpoints"] and record["anytime_note"] is None  # anytime evaluation ran
    assert 0 < record["first_epoch_seconds"] <= record["train_seconds"]

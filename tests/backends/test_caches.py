"""The frameworks' compile caches live in one folder (backends/caches.py); the user's own
settings win, and the caches can be switched off."""

from __future__ import annotations

from pathlib import Path

from backends.caches import ROOT_ENV, XLA_FLAG, cache_knobs, cache_root, compile_cache_env


def test_one_folder_under_the_xdg_cache_home_with_a_subfolder_per_framework():
    env = compile_cache_env({"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"})
    root = Path("/xdg/alphabet-bench")
    assert env["TORCHINDUCTOR_CACHE_DIR"] == str(root / "torchinductor")
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(root / "jax")
    assert env["TF_XLA_FLAGS"] == f"{XLA_FLAG}={root / 'xla'}"
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"  # ours compile in under JAX's 1 s
    assert cache_root({"HOME": "/home/u"}) == Path("/home/u/.cache/alphabet-bench")
    assert cache_root({"HOME": "/home/u", ROOT_ENV: "/elsewhere"}) == Path("/elsewhere")


def test_the_users_settings_win_and_other_xla_flags_are_kept():
    env = compile_cache_env({"HOME": "/h", "TORCHINDUCTOR_CACHE_DIR": "/mine",
                             "TF_XLA_FLAGS": "--tf_xla_auto_jit=2"})
    assert "TORCHINDUCTOR_CACHE_DIR" not in env  # left as the user set it
    assert env["TF_XLA_FLAGS"] == f"--tf_xla_auto_jit=2 {XLA_FLAG}=/h/.cache/alphabet-bench/xla"
    own = f"--tf_xla_auto_jit=2 {XLA_FLAG}=/mine/xla"
    assert "TF_XLA_FLAGS" not in compile_cache_env({"HOME": "/h", "TF_XLA_FLAGS": own})
    assert cache_knobs({"TF_XLA_FLAGS": own}) == {"xla_cache_dir": "/mine/xla", "jax_cache_dir": None}


def test_off_leaves_every_framework_at_its_default():
    assert compile_cache_env({"HOME": "/h", ROOT_ENV: "off"}) == {}
    assert cache_knobs({}) == {"xla_cache_dir": None, "jax_cache_dir": None}

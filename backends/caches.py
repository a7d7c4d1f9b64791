"""The frameworks' persistent compile caches, all in one folder, so a later process reuses programs.

Why: each worker is a fresh process, and compiling a small model's program costs it seconds
(inductor: 5–9 s cold, under 1 s from its cache; TensorFlow's XLA: ~2–3 s of a Keras job's first
epoch, ~1 s from its cache; JAX: ~1.5 s, ~0.3 s). A hit is the program a miss would compile
(each cache keys on the program itself), so results do not change, only first-epoch times.

The folder: $ALPHABET_BENCH_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/alphabet-bench, one
subfolder per cache (the frameworks create them). `ALPHABET_BENCH_CACHE_DIR=off` leaves every
framework at its own default; a variable the user set wins over ours. Deleting the folder is
always safe: the next run compiles again. The worker puts `compile_cache_env()` into its
environment before any framework is imported.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

ROOT_ENV = "ALPHABET_BENCH_CACHE_DIR"
XLA_FLAG = "--tf_xla_persistent_cache_directory"
# JAX keeps only programs that took over 1 s to compile by default: ours mostly take less.
JAX_ALWAYS = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
              "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


def cache_root(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder that holds every framework's compile cache; None when switched off."""
    env = os.environ if environ is None else environ
    chosen = env.get(ROOT_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".cache") / "alphabet-bench"


def compile_cache_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables to add to a worker's environment (before its framework is imported) that
    point PyTorch's inductor, TensorFlow's XLA and JAX at their caches under `cache_root`."""
    env = os.environ if environ is None else environ
    root = cache_root(env)
    if root is None:
        return {}
    out = {name: str(root / sub) for name, sub in
           (("TORCHINDUCTOR_CACHE_DIR", "torchinductor"), ("JAX_COMPILATION_CACHE_DIR", "jax"))
           if not env.get(name)}
    out.update({name: value for name, value in JAX_ALWAYS.items() if not env.get(name)})
    flags = env.get("TF_XLA_FLAGS", "")
    if XLA_FLAG not in flags:
        out["TF_XLA_FLAGS"] = f"{flags} {XLA_FLAG}={root / 'xla'}".strip()
    return out


def cache_knobs(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Where this process's XLA and JAX compile caches are (None: not persisted), for the knobs."""
    env = os.environ if environ is None else environ
    xla = None
    for flag in shlex.split(env.get("TF_XLA_FLAGS", "")):
        if flag.startswith(XLA_FLAG + "="):
            xla = flag.split("=", 1)[1]
    return {"xla_cache_dir": xla, "jax_cache_dir": env.get("JAX_COMPILATION_CACHE_DIR") or None}

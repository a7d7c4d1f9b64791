"""Backends beyond the built-in ones: installed distributions' entry points, and an env-var route.

Why entry points: a backend can live in its own distribution (`pip install my-backend`) and be
found by every harness process (the CLI, each worker, each Ray node) with no configuration. Each
entry point of the group `alphabet_bench.backends` names a `BackendEntry` object in a *light*
module: loading it must not import a framework (`list` and the driver load every plugin, and
the framework may be missing or slow to import). `$ALPHABET_BENCH_BACKENDS="name=module,..."`
stays for a module that is not packaged as a distribution (the tests' crash backend, a script).

A plugin that cannot be used (it fails to load, is no `BackendEntry`, imports a framework on load,
or takes a built-in's name) is left out with one `BackendPluginWarning` naming it and why:
it never breaks `list` or the other backends' runs.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import re
import sys
import warnings
from dataclasses import replace

from backends.entry import BUILT_IN, ENTRY_POINT, ENV_ROUTE, BackendEntry

GROUP = "alphabet_bench.backends"
PLUGINS_ENV = "ALPHABET_BENCH_BACKENDS"
OWN_DISTRIBUTION = "alphabet-bench"
# Modules an entry point's module must never import on load (besides the entry's own `requires`).
FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "jaxlib", "flax", "optax")

_warned: set[str] = set()


class BackendPluginWarning(UserWarning):
    """A backend plugin was left out; the message names it and why."""


def warn_once(message: str) -> None:
    """Each problem once per process, however often the registry is read."""
    if message not in _warned:
        _warned.add(message)
        warnings.warn(BackendPluginWarning(message), stacklevel=3)


def normalized(distribution: str) -> str:
    """PEP 503 names, so 'alphabet_bench' and 'alphabet-bench' compare equal."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _describe(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    where = f" of {dist.name} {dist.version}" if dist is not None else ""
    return f"entry point '{ep.name} = {ep.value}'{where}"


def _load(ep: importlib.metadata.EntryPoint) -> BackendEntry | None:
    """The entry point's BackendEntry, stamped with its distribution; None (warned) if unusable."""
    before = set(sys.modules)
    try:
        entry = ep.load()
    except Exception as exc:  # any failure of a third party's import is that plugin's alone
        warn_once(f"backend plugin left out: {_describe(ep)} failed to load: {type(exc).__name__}: {exc}")
        return None
    if not isinstance(entry, BackendEntry):
        warn_once(f"backend plugin left out: {_describe(ep)} is a {type(entry).__name__}, "
                  "not a backends.BackendEntry")
        return None
    if entry.name != ep.name:
        warn_once(f"backend plugin left out: {_describe(ep)} names backend {entry.name!r}; "
                  "the entry point's name and the entry's must agree")
        return None
    heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before}
                   & {*FRAMEWORKS, *(r.split(".")[0] for r in entry.requires)})
    if heavy:
        warn_once(f"backend plugin left out: {_describe(ep)} imported {', '.join(heavy)} on load; an "
                  "entry point's module must stay light (import the framework inside the backend's methods)")
        return None
    dist = getattr(ep, "dist", None)
    return replace(entry, origin=ENTRY_POINT, distribution=dist.name if dist is not None else None,
                   dist_version=dist.version if dist is not None else None)


@functools.cache
def entry_point_backends() -> dict[str, BackendEntry]:
    """Every usable entry point of GROUP, loaded once per process (`clear_cache` forgets them)."""
    found: dict[str, BackendEntry] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        entry = _load(ep)
        if entry is None:
            continue
        if ep.name in found:
            warn_once(f"backend plugin left out: {_describe(ep)} takes the name {ep.name!r} already "
                      f"taken by {found[ep.name].source}")
            continue
        found[ep.name] = entry
    return found


def env_backends() -> dict[str, BackendEntry]:
    """Backends named in $ALPHABET_BENCH_BACKENDS as 'name=module,name2=module2' (read each time)."""
    entries = {}
    for item in filter(None, os.environ.get(PLUGINS_ENV, "").split(",")):
        name, _, module = item.partition("=")
        if name.strip() and module.strip():
            name = name.strip()
            entries[name] = BackendEntry(name, module.strip(), (), (), name, origin=ENV_ROUTE)
    return entries


def merged(builtin: dict[str, BackendEntry]) -> dict[str, BackendEntry]:
    """Built-ins, then entry-point plugins, then the env route; none replaces a built-in, and an
    env-var backend replacing an entry point's says so."""
    out = dict(builtin)
    for entry in (*entry_point_backends().values(), *env_backends().values()):
        taken = out.get(entry.name)
        if taken is not None and taken.origin == BUILT_IN:
            warn_once(f"backend plugin left out: {entry.name!r} from {entry.source} ({entry.module}) clashes "
                      f"with the built-in backend {entry.name!r} ({taken.module}); rename the plugin")
            continue
        if taken is not None:
            warn_once(f"backend {entry.name!r}: {entry.source} ({entry.module}) replaces {taken.source}'s "
                      f"({taken.module})")
        out[entry.name] = entry
    return out


def clear_cache() -> None:
    """Forget the loaded entry points and the warnings given (tests, or after installing a plugin)."""
    entry_point_backends.cache_clear()
    _warned.clear()
    importlib.invalidate_caches()

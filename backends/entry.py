"""One registry entry: how the harness finds, checks and installs a backend without importing it.

Its own module (not `backends/__init__`) so a plugin's light entry module and `backends.plugins`
import it without pulling in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

BUILT_IN = "built-in"
ENTRY_POINT = "entry point"
ENV_ROUTE = "$ALPHABET_BENCH_BACKENDS"


@dataclass(frozen=True)
class BackendEntry:
    name: str
    module: str  # module that defines `BACKEND_CLASS`
    requires: tuple[str, ...]  # importable modules the backend needs
    distributions: tuple[str, ...]  # pip distributions whose versions we report
    extra: str  # the pyproject extra that installs it
    env: tuple[tuple[str, str], ...] = ()  # set in the worker before the framework is imported
    default: bool = True  # run when no --backend is given (extras are opt-in: they cost time)
    # Filled in by discovery (`backends.plugins`), never by the entry's author: where it came from.
    origin: str = BUILT_IN  # BUILT_IN, ENTRY_POINT or ENV_ROUTE
    distribution: str | None = None  # the distribution that declared the entry point
    dist_version: str | None = None

    @property
    def source(self) -> str:
        """Where the entry comes from, for `list`: built-in, 'dist version', or the env route."""
        if self.origin == ENTRY_POINT and self.distribution:
            return f"{self.distribution} {self.dist_version or '?'}".strip()
        return self.origin

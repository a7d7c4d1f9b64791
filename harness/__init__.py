"""alphabet-bench: Keras vs PyTorch on the tutorial's alphabet tasks, across many seeds.

From Python or Jupyter: `harness.run(...)`, `harness.sweep(grid=...)` and `harness.load(DIR)` return a
`harness.Results` (see `harness.api`; all seeds failed: `harness.RunFailed`, some: a
`harness.SeedsFailedWarning`). They load on first use, so `import harness` (which the CLI
and every worker process do) stays light: no pandas, no framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.api import RunFailed, SeedsFailedWarning, load, run, sweep
    from harness.results import Results
    from harness.validate import UsageError

__all__ = ["Results", "RunFailed", "SeedsFailedWarning", "UsageError", "load", "run", "sweep"]


def __getattr__(name: str) -> Any:
    if name in ("run", "sweep", "load", "RunFailed", "SeedsFailedWarning"):
        from harness import api

        return getattr(api, name)
    if name == "Results":
        from harness.results import Results

        return Results
    if name == "UsageError":
        from harness.validate import UsageError

        return UsageError
    raise AttributeError(f"module 'harness' has no attribute {name!r}")

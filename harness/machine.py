"""Facts about where a run happened: machine, Python, project commit."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@lru_cache(maxsize=1)  # once per process: every record of a worker carries the same value
def git_commit() -> str | None:
    """HEAD of the project checkout, with '-dirty' when tracked files changed."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


@lru_cache(maxsize=1)
def _machine_info() -> tuple[tuple[str, object], ...]:
    return (
        ("cpu", cpu_model()),
        ("cores", cpu_count()),
        ("platform", platform.platform()),
        ("python", platform.python_version()),
        ("hostname", platform.node()),
    )


def machine_info() -> dict:
    """Computed once per process; a fresh dict each call, so a record may not alter the cache."""
    return dict(_machine_info())


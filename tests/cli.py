"""Running `python -m harness` as a user does: a subprocess in the project root, with the crash backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.store import results_path

ROOT = Path(__file__).resolve().parent.parent
CRASH_ENV = {"ALPHABET_BENCH_BACKENDS": "crash=tests.crash_backend"}
# A two-scenario run of the crash backend (a framework-free fake): seconds, not minutes.
RUN = ("run", "--backend", "crash", "--scenario", "one_char", "stateful", "--epochs", "2", "--workers", "1",
       "--no-idiomatic-timing")


def harness(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          env={**os.environ, **CRASH_ENV, **(env or {})}, cwd=ROOT, timeout=300, **kwargs)


def records(out: Path) -> list[dict]:
    """The complete record lines of a folder (a torn line is skipped, as the harness does)."""
    return [json.loads(line) for line in results_path(out).read_text().splitlines() if line.startswith("{")
            and line.endswith("}")]

"""The README's snippet as people paste it: a script with no `if __name__ == "__main__":` guard,
`python - <<EOF` and a notebook cell. Workers must never run the caller's `__main__`: under
multiprocessing's spawn each worker re-ran the snippet, hit "in use by another run", and every
seed was recorded failed while the script still exited 0. A tiny real torch run each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import records
from tests.conftest import needs_backend

SEEDS = 2
# The README's snippet at a tiny budget: no main guard, nothing but the call and a look at its rows.
SNIPPET = """\
import harness
res = harness.run(scenarios="one_char", backends="torch", seeds={seeds}, epochs=2, idiomatic_timing=False,
                  out={out!r})
print("statuses:", sorted(res.frame["status"]))
"""


def _snippet(out: Path) -> str:
    return SNIPPET.format(seeds=SEEDS, out=str(out))


def _assert_every_seed_ok(out: Path) -> None:
    stored = records(out)
    assert len(stored) == SEEDS, stored
    assert [r["status"] for r in stored] == ["ok"] * SEEDS, [r.get("error") for r in stored]
    assert sorted(r["seed"] for r in stored) == list(range(SEEDS))


def _python(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """Python as a user starts it: in their own folder, not the project's."""
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "120"}, **kwargs)


@needs_backend("torch")
def test_the_readme_snippet_runs_as_a_script_without_a_main_guard(tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(_snippet(tmp_path / "run"))
    done = _python(str(script), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "in use by another run" not in done.stderr
    assert f"statuses: {['ok'] * SEEDS}" in done.stdout, done.stdout + done.stderr[-3000:]
    _assert_every_seed_ok(tmp_path / "run")


@needs_backend("torch")
def test_the_readme_snippet_runs_from_stdin(tmp_path):
    done = _python("-", cwd=tmp_path, input=_snippet(tmp_path / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "in use by another run" not in done.stderr
    _assert_every_seed_ok(tmp_path / "run")


@needs_backend("torch")
def test_the_readme_snippet_runs_in_a_notebook_cell(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="needs the test extra: pip install -e '.[test]'")
    nbclient = pytest.importorskip("nbclient", reason="needs the test extra: pip install -e '.[test]'")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_snippet(tmp_path / "run"))])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on an error
    outputs = notebook.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "error"], outputs
    shown = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"statuses: {['ok'] * SEEDS}" in shown, outputs
    _assert_every_seed_ok(tmp_path / "run")

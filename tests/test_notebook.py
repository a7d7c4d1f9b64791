"""The example notebook executes headless at its small budget (CI's `pytest -m slow` step), so it
cannot rot: every cell runs against today's API, and its tables and figures come out."""

from __future__ import annotations

import shutil

import pytest

from tests.cli import ROOT
from tests.conftest import needs_backend

NOTEBOOK = ROOT / "examples" / "alphabet_comparison.ipynb"


@pytest.mark.slow
@needs_backend("keras")
@needs_backend("torch")
def test_the_example_notebook_executes_at_its_small_budget(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="needs the test extra: pip install -e '.[test]'")
    nbclient = pytest.importorskip("nbclient", reason="needs the test extra: pip install -e '.[test]'")
    monkeypatch.setenv("ALPHABET_NOTEBOOK_QUICK", "1")  # the kernel inherits it
    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)  # its runs/ folder goes to tmp_path, not examples/
    notebook = nbformat.read(copy, as_version=4)
    nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    shown = "".join(str(o.get("data", "")) + str(o.get("text", "")) for o in outputs)
    for expected in ("one_char[encoding=one_based]", "torch[fast]", "data:image/png;base64",
                     "N–Z", "report.md", "learned for good"):  # the last: the committed study's table
        assert expected in shown, expected
    assert (tmp_path / "runs" / "quick" / "comparison" / "report.md").is_file()

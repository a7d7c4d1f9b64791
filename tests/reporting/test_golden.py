"""The committed reports are what HEAD renders from their own records, byte for byte.

A refactor of the report code must leave every committed report unchanged (or regenerate it in
the same piece of work): this re-renders each committed folder from a copy of its records and
compares. The figures are compared for the example folder, when this machine's matplotlib is the
one that wrote them (a PNG names its writer's version; another version may draw other pixels).
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import matplotlib
import pytest
from PIL import Image

from harness.reporting.report import REPORT_FILE, render, write_report
from harness.reporting.view import ReportView

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("example", "seeds100", "ablation", "study/budget", "study/sweep")


def _copy_records(folder: Path, to: Path) -> Path:
    """The folder's results.jsonl (gunzipped where it is committed gzipped) in a fresh folder."""
    to.mkdir(parents=True, exist_ok=True)
    packed = folder / "results.jsonl.gz"
    if packed.is_file():
        with gzip.open(packed, "rb") as source, open(to / "results.jsonl", "wb") as target:
            shutil.copyfileobj(source, target)
    else:
        shutil.copy(folder / "results.jsonl", to / "results.jsonl")
    return to


@pytest.mark.parametrize("name", FOLDERS)
def test_committed_report_md_is_what_the_code_renders(name, tmp_path):
    folder = ROOT / "reports" / name
    view = ReportView.load(_copy_records(folder, tmp_path / "copy"))
    rendered = render(view)
    committed = (folder / REPORT_FILE).read_text(encoding="utf-8")
    assert rendered == committed, f"reports/{name}/report.md differs from what HEAD renders: regenerate it"


def test_example_figures_are_byte_identical(tmp_path):
    folder = ROOT / "reports" / "example"
    committed = sorted(p.name for p in folder.glob("*.png"))
    writer = Image.open(folder / committed[0]).info.get("Software", "")
    if f"version{matplotlib.__version__}," not in writer:
        pytest.skip(f"the committed PNGs were written by {writer!r}; here: {matplotlib.__version__}")
    out = _copy_records(folder, tmp_path / "copy")
    write_report(out)
    assert sorted(p.name for p in out.glob("*.png")) == committed
    for name in committed:
        assert (out / name).read_bytes() == (folder / name).read_bytes(), f"reports/example/{name} differs"
    assert (out / REPORT_FILE).read_bytes() == (folder / REPORT_FILE).read_bytes()

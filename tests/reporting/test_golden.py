"""The committed reports are what HEAD renders from their own records, byte for byte.

A refactor of the report code must leave every committed report unchanged (or regenerate it in
the same piece of work): this re-renders each committed folder from its own records (the store
reads them gzipped as committed) and compares; the figures go to a temporary folder, not the
committed one. The figures are compared for the example folder, when this machine's matplotlib is the
one that wrote them (a PNG names its writer's version; another version may draw other pixels).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
from PIL import Image

from harness.reporting.report import REPORT_FILE, render, write_report
from harness.reporting.view import ReportView

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("example", "seeds100", "ablation", "study/budget", "study/sweep", "three-frameworks")


@pytest.mark.parametrize("name", FOLDERS)
def test_committed_report_md_is_what_the_code_renders(name):
    folder = ROOT / "reports" / name
    view = ReportView.load(folder)
    rendered = render(view)
    committed = (folder / REPORT_FILE).read_text(encoding="utf-8")
    assert rendered == committed, f"reports/{name}/report.md differs from what HEAD renders: regenerate it"


def test_example_figures_are_byte_identical(tmp_path):
    folder = ROOT / "reports" / "example"
    committed = sorted(p.name for p in folder.glob("*.png"))
    writer = Image.open(folder / committed[0]).info.get("Software", "")
    if f"version{matplotlib.__version__}," not in writer:
        pytest.skip(f"the committed PNGs were written by {writer!r}; here: {matplotlib.__version__}")
    out = tmp_path / "rendered"
    write_report(folder, to=out)
    assert sorted(p.name for p in out.glob("*.png")) == committed
    for name in committed:
        assert (out / name).read_bytes() == (folder / name).read_bytes(), f"reports/example/{name} differs"
    assert (out / REPORT_FILE).read_bytes() == (folder / REPORT_FILE).read_bytes()

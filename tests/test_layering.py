"""The house plan holds: data flows one way (scenarios → backends → runs → records → reporting),
no module imports one above it, and no modules import each other in a loop."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("scenarios", "backends", "harness")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every project module the file imports, at top level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: relative import (the project imports absolutely)"
            base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


MODULES = {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
GRAPH = {name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}

# (importer prefix, what it must never import)
RULES = [
    ("scenarios", ("backends", "harness")),
    ("backends", ("harness",)),
    ("harness.reporting", ("harness.runs", "harness.cli", "harness.cli_parser", "harness.api",
                           "harness.launch", "harness.results", "backends")),
    ("harness.records", ("harness.runs", "harness.reporting", "harness.cli")),
    ("harness.store", ("harness.runs", "harness.reporting", "harness.cli")),
    ("harness.lock", ("harness.runs", "harness.reporting", "harness.cli")),
    ("harness.machine", ("harness.runs", "harness.reporting", "harness.cli")),
    ("harness.runs", ("harness.cli", "harness.cli_parser", "harness.api", "harness.launch",
                      "harness.results")),
    ("harness.validate", ("harness.runs", "harness.reporting", "harness.cli")),
    ("harness.launch", ("harness.reporting", "harness.cli", "harness.api", "harness.results")),
]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("importer", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_no_import_runs_back_up(importer, forbidden):
    wrong = sorted(f"{name} -> {target}" for name, targets in GRAPH.items() if _under(name, importer)
                   for target in targets if any(_under(target, f) for f in forbidden))
    assert not wrong, wrong


# The report's house: outputs (report.md, compare, the scaling figure) over sections over a base.
REPORT_OUTPUTS = ("harness.reporting.report", "harness.reporting.compare", "harness.reporting.scaling")
SECTIONS = "harness.reporting.sections"
REPORT_BASE = {name for name in MODULES if _under(name, "harness.reporting") and name != "harness.reporting"
               and not _under(name, SECTIONS) and name not in REPORT_OUTPUTS}


def test_report_sections_read_only_the_base_and_the_view():
    """A section imports the view and the shared base, never another section or an output."""
    assert {"harness.reporting.view", "harness.reporting.section", "harness.reporting.stats"} <= REPORT_BASE
    sections = [name for name in GRAPH if _under(name, SECTIONS) and name != SECTIONS]
    assert len(sections) >= 10, sections
    allowed = {*REPORT_BASE, "harness.reporting"}
    wrong = sorted(f"{name} -> {target}" for name in sections for target in GRAPH[name]
                   if _under(target, "harness.reporting") and target not in allowed)
    assert not wrong, wrong


def test_report_base_imports_no_section():
    wrong = sorted(f"{name} -> {target}" for name in REPORT_BASE for target in GRAPH[name]
                   if _under(target, SECTIONS) or target in REPORT_OUTPUTS)
    assert not wrong, wrong


def test_verify_loads_no_report_code():
    """`--verify` reads a JSON-lines file and retrains one seed: no pandas, scipy or matplotlib."""
    reached, todo = set(), ["harness.runs.verify"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(GRAPH[name])
    assert not {m for m in reached if _under(m, "harness.reporting")}, sorted(reached)


def test_no_import_cycles():
    visiting, done, cycles = set(), set(), []

    def visit(name: str, path: list[str]) -> None:
        if name in done:
            return
        if name in visiting:
            cycles.append(path[path.index(name):])
            return
        visiting.add(name)
        for target in sorted(GRAPH[name]):
            # a package's __init__ that re-exports its own modules is a face, not a loop
            if not _under(target, name):
                visit(target, [*path, target])
        visiting.discard(name)
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [name])
    assert not cycles, cycles


def test_verify_and_the_cli_import_no_report_libraries():
    """Checked in a fresh process too: what the modules import at run time, lazily or not."""
    code = ("import sys, harness.cli, harness.runs.verify; "
            "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr

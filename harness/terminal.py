"""Tables for the terminal that read at 80 columns (a pipe's and a CI log's width) and use more.

Light tables (no box, a rule under the header) with short headers and a legend line under them;
`Widest` picks, at render time, the widest layout that fits the console, so a wide terminal sees
every column and 80 columns see the essentials, never a header cut to `scena…`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from backends import backend_names, distribution_versions, get_entry, gpu_count, install_hint, is_installed
from backends.entry import BUILT_IN, ENV_ROUTE
from scenarios import SCENARIOS, ResolvedScenario


def light_table(title: str | None = None) -> Table:
    """No box, no edge padding: a column costs its content and 3 spaces, the header keeps its rule."""
    return Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left",
                 title_style="bold")


def legend(text: str) -> Text:
    """A line under a table explaining its abbreviations; wrapped to the console even when the
    console soft-wraps (the run's console does, for its progress lines)."""
    return Text(text, style="dim", no_wrap=False, overflow="fold")


NATURAL = 10_000  # wider than any terminal: measuring within it gives a layout's natural width


class Widest:
    """The first of `layouts` (widest first) whose natural width fits the console, else the last
    (which rich then shrinks by wrapping its wrappable cells)."""

    def __init__(self, *layouts: RenderableType) -> None:
        self.layouts = layouts

    def chosen(self, console: Console, options: ConsoleOptions) -> RenderableType:
        unbounded = options.update_width(NATURAL)  # rich clamps a measurement to the width it is given
        for layout in self.layouts:
            if Measurement.get(console, unbounded, layout).maximum <= options.max_width:
                return layout
        return self.layouts[-1]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.chosen(console, options)


def scenario_table() -> RenderableType:
    """`list`'s scenarios: only the title wraps (onto two lines at 80 columns)."""
    table = light_table("Scenarios")
    table.add_column("id", no_wrap=True)
    table.add_column("title", overflow="fold")
    for column in ("tutorial %", "epochs", "updates"):
        table.add_column(column, justify="right", no_wrap=True)
    for spec in SCENARIOS.values():
        table.add_row(spec.id, escape(spec.title), f"{spec.tutorial_accuracy:.2f}", str(spec.epochs),
                      f"{ResolvedScenario(spec).updates_per_seed:,}")
    return Group(table, legend("tutorial %: the accuracy the tutorial printed (one run, one seed); "
                               "epochs: the tutorial's; updates: weight updates per seed at those epochs"))


def _backend_rows() -> list[tuple[str, ...]]:
    rows = []
    for name in backend_names():
        entry = get_entry(name)
        versions = [f"{k} {v}" for k, v in distribution_versions(name).items() if v]
        installed = is_installed(name)
        gpus = gpu_count(name) if installed else 0
        # A foreign plugin is installed by its own distribution, an env-route module by no extra.
        ours = install_hint(name).startswith("pip install -e")
        rows.append((name, "yes" if installed else "no", "yes" if entry.default else "opt-in",
                     f"yes ({gpus})" if gpus else "no", "\n".join(versions) or "—",
                     escape(f"'.[{entry.extra}]'") if ours and entry.origin != ENV_ROUTE else "—",
                     escape(entry.source)))
    return rows


class WithLegend:
    """A table and its legend, measured by the table alone, so `Widest` picks by the table's width
    (a legend wraps to any width)."""

    def __init__(self, table: Table, legend_text: str) -> None:
        self.table, self.legend_text = table, legend_text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table
        if self.legend_text:
            yield legend(self.legend_text)


def _backend_layout(rows: Iterable[tuple[str, ...]], joined: str, source: bool) -> WithLegend:
    """`source`: a "from" column; without it (narrow consoles) a legend names the plugins' sources."""
    rows = list(rows)
    table = light_table("Backends")
    for column in ("name", "installed", "default", "GPU"):
        table.add_column(column, no_wrap=True)
    if source:
        table.add_column("from", overflow="fold")
    table.add_column("versions", overflow="fold")
    table.add_column("pip install -e", no_wrap=True)
    for row in rows:
        table.add_row(*row[:4], *([row[6]] if source else []), row[4].replace("\n", joined), row[5])
    plugins = [f"{row[0]} from {row[6]}" for row in rows if row[6] != BUILT_IN]
    return WithLegend(table, "" if source or not plugins else
                      f"plugins: {'; '.join(plugins)}; the others are built in")


def backend_table() -> RenderableType:
    """`list`'s backends: where each comes from (built in, or a plugin's distribution and version),
    versions on one line where they fit, else one package per line (never a package cut from its
    version); on a narrow console the sources move to a legend."""
    rows = _backend_rows()
    return Widest(_backend_layout(rows, ", ", True), _backend_layout(rows, "\n", True),
                  _backend_layout(rows, "\n", False))

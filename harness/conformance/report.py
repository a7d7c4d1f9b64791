"""What the conformance kit hands back: a report of the checks that passed (or did not apply), or
one `BackendCheckError` naming the check that failed, so a plugin's author knows where to look."""

from __future__ import annotations

from dataclasses import dataclass, field


class BackendCheckError(AssertionError):
    """A backend broke the contract (`backends.base`): `check` names the kit's check, `detail` what."""

    def __init__(self, backend: str, check: str, detail: str) -> None:
        super().__init__(f"backend {backend!r} failed the {check!r} check: {detail}")
        self.backend, self.check, self.detail = backend, check, detail


class CheckSkipped(Exception):
    """Raised inside a check that does not apply to this backend; its message says why."""


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: str  # "passed" or "skipped"
    detail: str  # what was checked, or why it did not apply
    seconds: float


@dataclass
class KitReport:
    backend: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> list[str]:
        return [r.check for r in self.results if r.status == "passed"]

    @property
    def skipped(self) -> dict[str, str]:
        return {r.check: r.detail for r in self.results if r.status == "skipped"}

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.results)

    def __str__(self) -> str:
        lines = [f"backend {self.backend!r}: {len(self.passed)} checks passed, {len(self.skipped)} skipped "
                 f"({self.seconds:.1f} s)"]
        lines += [f"  {r.status:<7} {r.check:<12} {r.seconds:5.1f} s  {r.detail}" for r in self.results]
        return "\n".join(lines)

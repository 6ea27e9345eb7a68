"""The pre-start check: are the baseline vitals within the profile's pre-start limits?

"confirm" findings need a physician's OK; "block" findings stop the start unless the nurse
overrides with initials and a reason (both logged by the caller). A missing baseline value of a
checked parameter is itself a "confirm" finding: nobody starts blind by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kapmonitor.alarms.profile import AlarmProfile
from kapmonitor.model.parameters import PARAMETER_INFO, Parameter


@dataclass(frozen=True)
class PrestartFinding:
    parameter: Parameter
    action: str  # "confirm" or "block"
    value: float | None
    limit: float | None
    message: str


@dataclass(frozen=True)
class PrestartResult:
    findings: tuple[PrestartFinding, ...]

    @property
    def ok(self) -> bool:
        """True when nothing needs confirming or overriding."""
        return not self.findings

    @property
    def blocked(self) -> bool:
        return any(f.action == "block" for f in self.findings)

    def summary(self) -> str:
        if self.ok:
            return "Pre-start check passed"
        return "; ".join(f.message for f in self.findings)


def check_prestart(profile: AlarmProfile, latest: Mapping[Parameter, float | None]) -> PrestartResult:
    """Compare the latest baseline values with the pre-start rules; one finding per parameter (the worst)."""
    worst: dict[Parameter, PrestartFinding] = {}
    for rule in profile.prestart:
        p = rule.parameter
        unit = PARAMETER_INFO[p].display_unit
        label = PARAMETER_INFO[p].label
        x = latest.get(p)
        if x is None:
            if p not in worst:
                worst[p] = PrestartFinding(p, "confirm", None, None, f"{label}: no baseline value; confirm")
            continue
        for th in rule.thresholds:
            if not th.violated_by(x):
                continue
            verb = "blocks the start" if rule.action == "block" else "needs a physician's OK"
            finding = PrestartFinding(p, rule.action, x, th.value,
                                      f"{label} {x:g} {unit} ({th.symbol} {th.value:g}) {verb}")
            prev = worst.get(p)
            if prev is None or prev.value is None or (prev.action == "confirm" and rule.action == "block"):
                worst[p] = finding
    order = {p: i for i, p in enumerate(Parameter)}
    findings = sorted(worst.values(), key=lambda f: (f.action != "block", order[f.parameter]))
    return PrestartResult(tuple(findings))

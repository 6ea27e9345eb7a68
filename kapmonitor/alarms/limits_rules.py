"""Limits with sense: the plausible band of every parameter's alarm limits and the checks a profile's
limits must pass (kapmonitor.alarms.profile applies them to every profile it loads or changes).

Every limit lies in a plausible band for its parameter (`LIMIT_RANGES`), an upper limit lies above
every lower limit of the same parameter, and a more urgent limit lies beyond the less urgent one
(high >= 180 above medium 160; high < 88 below medium 92). A limit beyond the band switches its
alarm off in effect (SpO2 "< 0", systolic ">= 300"): it is refused (`AlarmOffError`) unless the
caller explicitly allows it (the per-session change with the administrator PIN and a reason).
The bands and their sources are in docs/alarms.md. Pure functions; thread-safe.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kapmonitor.model.parameters import PARAMETER_INFO, Parameter

if TYPE_CHECKING:
    from kapmonitor.alarms.profile import LimitRule, Threshold


class ProfileError(Exception):
    """An alarm profile file is missing or invalid; the message says where and why."""


class AlarmOffError(ProfileError):
    """A limit lies beyond its plausible band, so it would switch its alarm off; `off` names each."""

    def __init__(self, message: str, off: tuple[str, ...]) -> None:
        super().__init__(message)
        self.off = off


@dataclass(frozen=True)
class LimitRange:
    """The plausible band of alarm limits of one parameter.

    An upper limit below `low` or a lower limit above `high` would alarm on normal values and is
    refused; an upper limit above `high` or a lower limit below `low` would (almost) never alarm:
    it switches the alarm off.
    """

    low: float
    high: float


LIMIT_RANGES: dict[Parameter, LimitRange] = {
    Parameter.NIBP_SYS: LimitRange(60.0, 250.0),
    Parameter.NIBP_DIA: LimitRange(30.0, 150.0),
    Parameter.NIBP_MEAN: LimitRange(40.0, 180.0),
    Parameter.HR: LimitRange(30.0, 200.0),
    Parameter.PULSE_RATE: LimitRange(30.0, 200.0),
    Parameter.NIBP_PULSE: LimitRange(30.0, 200.0),
    Parameter.SPO2: LimitRange(70.0, 100.0),
    # a lower RR limit under 4 /min or EtCO2 under 10 mmHg would let apnoea pass (docs/alarms.md)
    Parameter.RESP_RATE: LimitRange(4.0, 50.0),
    Parameter.ETCO2: LimitRange(10.0, 80.0),
}
RISE_RANGES = {"systolic": LimitRange(10.0, 100.0), "diastolic": LimitRange(5.0, 60.0)}
MAX_DELAY_S = 120.0  # a longer condition delay would hide the condition for the whole infusion


def switches_off(parameter: Parameter, th: Threshold) -> bool:
    band = LIMIT_RANGES.get(parameter)
    if band is None:
        return False
    return th.value > band.high if th.is_upper else th.value < band.low


def off_text(rule: LimitRule, th: Threshold) -> str:
    info = PARAMETER_INFO[rule.parameter]
    side = "high" if th.is_upper else "low"
    unit = f" {info.display_unit}" if info.display_unit else ""
    return f"{info.label} {rule.priority.label}-priority {side} alarm OFF ({th.symbol} {th.value:g}{unit})"


def check_limits(limits: tuple[LimitRule, ...], allow_alarm_off: bool = False) -> None:
    """Limits with sense (see the module doc). Raises ProfileError / AlarmOffError naming the limit."""
    off: list[str] = []
    for rule in limits:
        info = PARAMETER_INFO[rule.parameter]
        band = LIMIT_RANGES.get(rule.parameter)
        where = f"{info.label} {rule.priority.label}-priority"
        if band is None:
            raise ProfileError(f"{where}: {rule.parameter.value} takes no alarm limits")
        for th in rule.thresholds:
            if (th.is_upper and th.value < band.low) or (not th.is_upper and th.value > band.high):
                raise ProfileError(
                    f"{where} limit {th.symbol} {th.value:g} is implausible: it would alarm on normal values "
                    f"(limits lie between {band.low:g} and {band.high:g} {info.display_unit})")
            if switches_off(rule.parameter, th):
                off.append(off_text(rule, th))
        if rule.delay_s > MAX_DELAY_S:
            raise ProfileError(f"{where}: delay {rule.delay_s:g} s is longer than {MAX_DELAY_S:g} s")
    for parameter in {r.parameter for r in limits}:
        rules = sorted((r for r in limits if r.parameter is parameter), key=lambda r: r.priority)
        label = PARAMETER_INFO[parameter].label
        uppers = [(r.priority, th.value) for r in rules for th in r.thresholds if th.is_upper]
        lowers = [(r.priority, th.value) for r in rules for th in r.thresholds if not th.is_upper]
        if uppers and lowers and min(v for _, v in uppers) <= max(v for _, v in lowers):
            raise ProfileError(
                f"{label}: every upper limit must be above every lower limit "
                f"({min(v for _, v in uppers):g} is not above {max(v for _, v in lowers):g})")
        for (p1, v1), (p2, v2) in itertools.pairwise(uppers):
            if not v2 > v1:
                raise ProfileError(
                    f"{label}: the {p2.label}-priority upper limit {v2:g} must be above the "
                    f"{p1.label}-priority one {v1:g}")
        for (p1, v1), (p2, v2) in itertools.pairwise(lowers):
            if not v2 < v1:
                raise ProfileError(
                    f"{label}: the {p2.label}-priority lower limit {v2:g} must be below the "
                    f"{p1.label}-priority one {v1:g}")
    if off and not allow_alarm_off:
        raise AlarmOffError(
            "; ".join(off) + ": a limit beyond the plausible range switches the alarm off "
            "(allowed only for one session, with the administrator PIN and a reason)", tuple(off))

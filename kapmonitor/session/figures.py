"""The figures of one session record, each defined once: the course view, the PDF and the exports
all show what is computed here, so they cannot disagree.

- Infusion time: infusing seconds (pauses excluded) from the recorded infusion actions, through
  the same `InfusionClock` the live session uses. A record closed mid-infusion (a crash, the
  program ended) counts up to the last moment anything was recorded.
- Alarm counts: one per alarm episode, at the highest priority it reached (a medium alarm that
  became high counts as one high alarm).
- Baseline: the last NIBP before the infusion start, HR/SpO2 the median of the 5 min before it.
- Peaks: from the infusion start on (the whole record when it never started).
- Dose given: the volume the nurse confirmed from the pump at Stop (else the computed one), in mL,
  mg and mg/kg, with its deviation from the plan.
- The course count "session n of N" as recorded at set-up.

Pure functions of plain rows and numbers, no SQL and no Qt; thread-safe.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kapmonitor.session.infusion import InfusionClock, InfusionTransitionError

log = logging.getLogger(__name__)

# Tables whose rows carry a time `t`: the record ends at the latest of them.
RECORD_TIME_TABLES: tuple[str, ...] = (
    "samples",
    "alarm_log",
    "infusion_events",
    "clinical_events",
    "scales",
    "discharge",
    "music_events",
)
# A confirmed volume this far from the plan is flagged on the record (relative).
DOSE_DEVIATION_FLAG = 0.05

_ACTION_ALIASES = {
    "paused": "pause",
    "resumed": "resume",
    "stopped": "stop",
    "end": "stop",
    "complete": "stop",
    "completed": "stop",
}
_PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True, slots=True)
class InfusionFigures:
    """When the infusion ran, and for how long (pauses excluded)."""

    start: float | None
    stop: float | None
    pauses: tuple[tuple[float, float | None, str | None], ...]
    infusing_s: float | None  # None when the infusion never started

    @property
    def closed_mid_infusion(self) -> bool:
        """Started but never stopped: the record ended while the pump was (or may have been) running."""
        return self.start is not None and self.stop is None

    @property
    def paused_s(self) -> float:
        return sum((end - start) for start, end, _ in self.pauses if end is not None)


def infusion_figures(actions: Iterable[tuple[float, str, str | None]], record_end: float | None) -> InfusionFigures:
    """Replay the recorded infusion actions (time order) on an infusion clock.

    An inconsistent action is skipped with a log line, as when a session is resumed.
    """
    clock = InfusionClock()
    for t, action, reason in actions:
        name = _ACTION_ALIASES.get(str(action).lower(), str(action).lower())
        try:
            clock.apply(name, float(t), None if reason is None else str(reason))
        except InfusionTransitionError as exc:
            log.warning("infusion record inconsistent at %s (%s): %s", t, action, exc)
    start, stop = clock.started_at, clock.stopped_at
    if start is None:
        return InfusionFigures(None, None, (), None)
    end = stop if stop is not None else max(start, record_end if record_end is not None else start)
    return InfusionFigures(start, stop, tuple(clock.pauses), clock.elapsed_s(end))


def alarm_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Alarms by priority (high, medium, low): one per episode, at the highest priority it reached.

    `rows` are alarm-log rows in time order with `alarm_id`, `event`, `priority` and `kind`. An
    episode starts with `raised` and ends with `cleared`; a `priority_changed` or `escalated` row in
    between can lift it. System rows (audio pause, limit change) are not alarms.
    """
    counts = {"high": 0, "medium": 0, "low": 0}
    open_: dict[str, str] = {}

    def close(alarm_id: str) -> None:
        pri = open_.pop(alarm_id)
        counts[pri] = counts.get(pri, 0) + 1

    for a in rows:
        if a.get("kind") == "system":
            continue
        aid, event, pri = str(a["alarm_id"]), str(a["event"]), str(a["priority"]).lower()
        if event == "raised":
            if aid in open_:
                close(aid)
            open_[aid] = pri
        elif aid in open_ and event in ("priority_changed", "escalated"):
            if _PRIORITY_RANK.get(pri, 0) > _PRIORITY_RANK.get(open_[aid], 0):
                open_[aid] = pri
        elif aid in open_ and event == "cleared":
            close(aid)
    for aid in list(open_):
        close(aid)
    return counts


def alarm_counts_text(counts: Mapping[str, int]) -> str:
    """'high/medium/low' as the course view's column shows it."""
    return f"{counts.get('high', 0)}/{counts.get('medium', 0)}/{counts.get('low', 0)}"


def extreme(
    t: npt.NDArray[np.float64], v: npt.NDArray[np.float64], since: float | None, lowest: bool = False
) -> tuple[float, float] | None:
    """(value, time) of the highest (or lowest) valid value at or after `since` (all when None)."""
    sel = np.ones(len(t), dtype=bool) if since is None else t >= since
    t, v = t[sel], v[sel]
    if not len(v):
        return None
    i = int(np.argmin(v) if lowest else np.argmax(v))
    return float(v[i]), float(t[i])


# (times, valid values) of one parameter id, in time order
Series = Callable[[str], tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]
BASELINE_WINDOW_S = 300.0  # HR and SpO2 baseline: median of the 5 min before the infusion start
PEAK_PARAMETERS = ("nibp_sys", "nibp_dia", "nibp_mean", "hr", "spo2", "resp_rate", "etco2")
LOWEST_IS_WORST = frozenset({"spo2", "resp_rate"})  # their extreme is the lowest value


@dataclass(frozen=True, slots=True)
class Vitals:
    """One figure of a record: a value with its time (None when not measured)."""

    value: float | None
    t: float | None


def baseline(series: Series, infusion_start: float | None) -> dict[str, Vitals]:
    """Pre-infusion baseline: the last NIBP before the start (the first NIBP when it never started);
    HR/SpO2 the median of the 5 min before the start (of the first 5 min when it never started)."""
    out: dict[str, Vitals] = {}
    for p in ("nibp_sys", "nibp_dia", "nibp_mean"):
        t, v = series(p)
        if infusion_start is not None:
            sel = np.nonzero(t <= infusion_start)[0]
            out[p] = Vitals(float(v[sel[-1]]), float(t[sel[-1]])) if len(sel) else Vitals(None, None)
        else:
            out[p] = Vitals(float(v[0]), float(t[0])) if len(v) else Vitals(None, None)
    for p in ("hr", "spo2", "resp_rate", "etco2"):
        t, v = series(p)
        if not len(t):
            out[p] = Vitals(None, None)
            continue
        end = infusion_start if infusion_start is not None else float(t[0]) + BASELINE_WINDOW_S
        window = (t <= end) & (t > end - BASELINE_WINDOW_S)
        out[p] = Vitals(float(np.median(v[window])), end) if window.any() else Vitals(None, None)
    return out


def peaks(
    series: Series, infusion_start: float | None, parameters: Iterable[str] = PEAK_PARAMETERS
) -> dict[str, Vitals]:
    """Highest BP, HR and EtCO2, lowest SpO2 and RR, from the infusion start (the whole record when it
    never started)."""
    out: dict[str, Vitals] = {}
    for p in parameters:
        t, v = series(p)
        found = extreme(t, v, infusion_start, lowest=p in LOWEST_IS_WORST)
        out[p] = Vitals(None, None) if found is None else Vitals(found[0], found[1])
    return out


@dataclass(frozen=True, slots=True)
class DoseGiven:
    """The dose actually given, from the volume infused, against the plan."""

    volume_ml: float
    confirmed: bool  # read back from the pump by the nurse at Stop (else computed from time × rate)
    mg: float | None
    mg_per_kg: float | None
    planned_volume_ml: float | None
    planned_mg_per_kg: float | None

    @property
    def deviation(self) -> float | None:
        """(given − planned) / planned volume; None without a plan."""
        if not self.planned_volume_ml:
            return None
        return (self.volume_ml - self.planned_volume_ml) / self.planned_volume_ml

    @property
    def flagged(self) -> bool:
        dev = self.deviation
        return dev is not None and abs(dev) > DOSE_DEVIATION_FLAG


def _num(fields: Mapping[str, Any], key: str) -> float | None:
    value = fields.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def dose_given(fields: Mapping[str, Any]) -> DoseGiven | None:
    """From normalised session facts (`volume_infused_ml`, `volume_confirmed`, `concentration_mg_per_ml`,
    `weight_kg`, `volume_ml`, `dose_mg_per_kg`); None before any volume was recorded."""
    volume = _num(fields, "volume_infused_ml")
    if volume is None:
        return None
    conc, weight = _num(fields, "concentration_mg_per_ml"), _num(fields, "weight_kg")
    mg = volume * conc if conc is not None else None
    per_kg = mg / weight if mg is not None and weight else None
    confirmed = bool(fields.get("volume_confirmed"))
    return DoseGiven(volume, confirmed, mg, per_kg, _num(fields, "volume_ml"), _num(fields, "dose_mg_per_kg"))


def dose_given_text(d: DoseGiven) -> str:
    """'0.67 mg/kg = 46.8 mg (4.68 mL, pump read-back) — 134 % of plan' (the plan part only when flagged)."""
    parts = []
    if d.mg_per_kg is not None:
        parts.append(f"{d.mg_per_kg:.2f} mg/kg")
    if d.mg is not None:
        parts.append(f"= {d.mg:.1f} mg" if parts else f"{d.mg:.1f} mg")
    source = "pump read-back" if d.confirmed else "computed, not confirmed"
    text = " ".join(parts) + f" ({d.volume_ml:.2f} mL, {source})"
    if d.flagged and d.deviation is not None:
        text += f" — {100 * (1 + d.deviation):.0f} % of plan"
    return text.strip()


def dose_given_short(d: DoseGiven) -> str:
    """'0.67 mg/kg, 4.68 mL, 134 % of plan' for a table column (the full text on hover)."""
    parts = [f"{d.mg_per_kg:.2f} mg/kg" if d.mg_per_kg is not None else "", f"{d.volume_ml:.2f} mL"]
    if d.flagged and d.deviation is not None:
        parts.append(f"{100 * (1 + d.deviation):.0f} % of plan")
    if not d.confirmed:
        parts.append("not confirmed")
    return ", ".join(p for p in parts if p)


def infusion_time_text(f: InfusionFigures) -> str:
    """'40 min', '65 min (not stopped)', or '—' when it never started."""
    if f.infusing_s is None:
        return "—"
    text = f"{f.infusing_s / 60.0:.0f} min"
    return text + " (not stopped)" if f.closed_mid_infusion else text


def course_text(number: object, total: object) -> str:
    """'2 of 3' as recorded at set-up ('—' when not recorded)."""
    if number is None:
        return "—"
    return f"{number} of {total}" if total is not None else f"{number}"

"""The clinical rules of a session as pure functions: when NIBP, MOAA/S and CADSS are due, what the
nurse is prompted to do, what the program can tell about each discharge item, which manual vitals
and pump read-backs are believable.

They take plain values (times, phases, readings) and return values: no database, no clock, no lock,
so each rule is tested on its own and the session facade (session.py) only gathers the facts.
Everything here is immutable or pure: safe in any thread.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kapmonitor.model.parameters import NIBP_PARAMETERS, PARAMETER_INFO, Parameter
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.session.catalogues import MANUAL_PARAMETERS, NAUSEA_DIZZINESS, DischargeItem
from kapmonitor.session.entries import ClinicalEvent, DischargeError, ScaleEntry
from kapmonitor.session.infusion import Phase, format_duration
from kapmonitor.session.model import ValidationError

MOAAS_INTERVAL_S = 15 * 60.0
# MOAA/S 3 or less (responds only to loud voice or shaking): deeper than the dissociation KAP aims
# for; ketamine spares breathing, but the nurse watches it (issue 14)
MOAAS_WATCH_BREATHING_MAX = 3.0
BREATHING_PROMPT = "MOAA/S \u2264 3: watch breathing (RR/EtCO\u2082, SpO\u2082)"
CADSS_WINDOW_BEFORE_END_S = 5 * 60.0
CADSS_WINDOW_AFTER_END_S = 30 * 60.0
RECENT_SIDE_EFFECT_S = 30 * 60.0  # nausea or dizziness this recent holds a discharge back
VITALS_BASELINE_FRACTION = 0.2  # HR and BP back within 20 % of baseline
SPO2_BELOW_BASELINE = 3.0  # SpO2 no more than 3 points under baseline


@dataclass(frozen=True, slots=True)
class Prompt:
    """Something the nurse should do now (shown in the panel, with a sound if the GUI wants)."""

    kind: str  # nibp, moaas, cadss, stop, discharge
    due_at: float
    message: str


@dataclass(frozen=True, slots=True)
class NibpSchedule:
    """NIBP every `infusion_interval_min` during the infusion, every `after_interval_min` after."""

    infusion_interval_min: float = 10.0
    after_interval_min: float = 15.0

    def __post_init__(self) -> None:
        if not (self.infusion_interval_min > 0 and self.after_interval_min > 0):
            raise ValueError("NIBP intervals must be positive")

    def next_due(
        self,
        t: float,
        phase: Phase,
        last_measurement: float | None,
        infusion_start: float | None = None,
        infusion_stop: float | None = None,
    ) -> float | None:
        """When the next NIBP is due (may be <= t: due now); None when none is scheduled."""
        if phase is Phase.DISCHARGED:
            return None
        if phase is Phase.BASELINE:
            return t if last_measurement is None else None  # a baseline reading is needed
        if phase is Phase.INFUSION:
            ref = infusion_start if infusion_start is not None else t
            if last_measurement is not None:
                ref = max(ref, last_measurement)
            return ref + self.infusion_interval_min * 60.0
        ref = infusion_stop if infusion_stop is not None else t
        if last_measurement is not None:
            ref = last_measurement
        return ref + self.after_interval_min * 60.0


@dataclass(frozen=True, slots=True)
class DischargeCheck:
    item: DischargeItem
    met: bool | None  # None: cannot be assessed by the program
    detail: str


def last_scale(scales: Iterable[ScaleEntry], scale: str, since: float | None = None) -> ScaleEntry | None:
    """The latest entry of `scale` at or after `since`."""
    entries = [s for s in scales if s.scale == scale and (since is None or s.t >= since)]
    return max(entries, key=lambda s: s.t) if entries else None


def latest_moaas(scales: Iterable[ScaleEntry], since: float | None) -> ScaleEntry | None:
    """The latest MOAA/S not struck out, at or after `since`."""
    return last_scale((s for s in scales if not s.deleted), "moaas", since=since)


def moaas_next_due(phase: Phase, infusion_start: float | None, last_moaas: float | None) -> float | None:
    """MOAA/S every 15 min from the infusion start (or the last one since); None before or after."""
    if infusion_start is None or phase in (Phase.BASELINE, Phase.DISCHARGED):
        return None
    return (last_moaas if last_moaas is not None else infusion_start) + MOAAS_INTERVAL_S


def cadss_due(
    t: float, phase: Phase, infusion_start: float | None, infusion_stop: float | None, remaining_s: float,
    cadss_recorded: bool,
) -> bool:
    """True near the end of the infusion (last 5 min to 30 min after) until a CADSS is recorded."""
    if infusion_start is None or cadss_recorded:
        return False
    if phase is Phase.INFUSION:
        return remaining_s <= CADSS_WINDOW_BEFORE_END_S
    return phase is Phase.OBSERVATION and infusion_stop is not None and t - infusion_stop <= CADSS_WINDOW_AFTER_END_S


def due_prompts(
    t: float,
    phase: Phase,
    *,
    nibp_due: float | None,
    moaas_due: float | None,
    cadss: bool,
    paused: bool,
    remaining_s: float,
    planned_end: float | None,
    infusion_stop: float | None,
    observation_s: float,
    last_moaas: float | None = None,
) -> list[Prompt]:
    """What is due at `t`: NIBP, MOAA/S, CADSS, stopping the pump, discharge; and, while the latest
    MOAA/S (`last_moaas`, its score) is 3 or less, to watch breathing."""
    out: list[Prompt] = []
    if phase is Phase.DISCHARGED:
        return out
    if nibp_due is not None and nibp_due <= t:
        msg = "Baseline NIBP needed" if phase is Phase.BASELINE else "NIBP measurement due"
        out.append(Prompt("nibp", nibp_due, msg))
    if moaas_due is not None and moaas_due <= t:
        out.append(Prompt("moaas", moaas_due, "MOAA/S assessment due"))
    if last_moaas is not None and last_moaas <= MOAAS_WATCH_BREATHING_MAX:
        out.append(Prompt("breathing", t, BREATHING_PROMPT))
    if cadss:
        out.append(Prompt("cadss", t, "CADSS assessment due (end of infusion)"))
    if phase is Phase.INFUSION and not paused and remaining_s <= 0:
        out.append(Prompt("stop", planned_end if planned_end is not None else t,
                          "Planned infusion time reached: stop the pump"))
    if phase is Phase.READY_FOR_DISCHARGE:
        stop = infusion_stop or t
        out.append(Prompt("discharge", stop + observation_s, "Minimum observation complete: assess for discharge"))
    return out


def infusion_markers(
    log: Iterable[tuple[float, str, str | None]], t: float, infusion_stop: float | None, observation_s: float,
    discharged_at: float | None,
) -> list[tuple[float, str, str]]:
    """(time, kind, label) of the phase changes, pauses and restarts in the infusion log, and the end
    of the minimum observation once reached (unless the patient left before it)."""
    labels = {"start": ("phase", "Infusion start"), "stop": ("phase", "Infusion stop"), "resume": ("resume", "Resume"),
              "discharge": ("phase", "Discharged"), "recovered": ("recovered", "Session resumed after restart")}
    out: list[tuple[float, str, str]] = []
    for when, action, reason in log:
        if action == "pause":
            out.append((when, "pause", f"Pause: {reason}" if reason else "Pause"))
        elif action in labels:
            out.append((when, *labels[action]))
    if infusion_stop is not None:
        ready = infusion_stop + observation_s
        if ready <= t and (discharged_at is None or ready <= discharged_at):
            out.append((ready, "phase", "Observation complete"))
    return out


def assess_vitals(
    item: DischargeItem, baseline: Mapping[Parameter, float], latest: Mapping[Parameter, tuple[float, float]],
    infusion_stop: float | None,
) -> DischargeCheck:
    """Each baseline vital measured again since the end of the infusion and back near its baseline."""
    if not baseline:
        return DischargeCheck(item, None, "no baseline vitals were recorded: compare by hand")
    problems: list[str] = []
    for p, base in baseline.items():
        last = latest.get(p)
        label = PARAMETER_INFO[p].label
        if last is None or (infusion_stop is not None and last[0] < infusion_stop):
            problems.append(f"no {label} since the end of the infusion")
            continue
        value = last[1]
        if p is Parameter.SPO2:
            off = value < base - SPO2_BELOW_BASELINE
        else:
            off = value > base * (1 + VITALS_BASELINE_FRACTION) or value < base * (1 - VITALS_BASELINE_FRACTION)
        if off:
            problems.append(f"{label} {value:g} vs baseline {base:g}")
    if problems:
        return DischargeCheck(item, False, "; ".join(problems))
    return DischargeCheck(item, True, "within 20 % of baseline")


def assess_discharge_item(
    item: DischargeItem,
    t: float,
    *,
    observation_remaining_s: float | None,
    observation_min: float,
    infusion_stop: float | None,
    baseline: Mapping[Parameter, float],
    latest: Mapping[Parameter, tuple[float, float]],
    scales: Sequence[ScaleEntry],
    events: Iterable[ClinicalEvent],
    escort: bool,
) -> DischargeCheck:
    """What the program can tell about one checklist item at `t` (the nurse decides)."""
    if item.key == "min_observation":
        if observation_remaining_s is None:
            return DischargeCheck(item, False, "the infusion has not been stopped")
        if observation_remaining_s > 0:
            return DischargeCheck(
                item, False, f"{format_duration(observation_remaining_s)} of {observation_min:g} min to go"
            )
        return DischargeCheck(item, True, f"{observation_min:g} min observed")
    if item.key == "vitals_baseline":
        return assess_vitals(item, baseline, latest, infusion_stop)
    if item.key == "moaas_5":
        last = last_scale(scales, "moaas", since=infusion_stop) if infusion_stop is not None else None
        if last is None:
            return DischargeCheck(item, False, "no MOAA/S recorded since the end of the infusion")
        return DischargeCheck(item, last.score == 5, f"last MOAA/S {last.score:g}")
    if item.key == "no_nausea_dizziness":
        recent = [
            e for e in events
            if not e.deleted and e.category == "side_effect" and e.name in NAUSEA_DIZZINESS
            and e.t >= t - RECENT_SIDE_EFFECT_S
        ]
        if recent:
            return DischargeCheck(item, False, f"{recent[-1].label} recorded in the last 30 min")
        return DischargeCheck(item, None, "none recorded in the last 30 min: ask the patient")
    if item.key == "escort":
        return DischargeCheck(item, None, "escort confirmed at set-up" if escort else "no escort at set-up")
    return DischargeCheck(item, None, "")


def signed_checklist(
    items: Sequence[DischargeItem],
    checked: Mapping[str, bool],
    assessment: Mapping[str, DischargeCheck],
    reason: str,
    observation_s: float | None,
    observation_min: float,
    observation_left_s: float,
) -> dict[str, object]:
    """The signed checklist as recorded: each item ticked or not, what the program found, the override.

    Raises DischargeError when an item is not ticked, or the minimum observation time has not elapsed,
    and no reason is given (the time is a fact, not a judgement: ticking it does not make it so).
    """
    unmet = [i.label for i in items if not checked.get(i.key, False)]
    if unmet and not reason:
        raise DischargeError("not met: " + "; ".join(unmet))
    if observation_left_s > 0 and not reason:
        raise DischargeError(
            f"the minimum observation time has not elapsed ({format_duration(observation_left_s)} of "
            f"{observation_min:g} min to go): give the reason for discharging early"
        )
    rows: dict[str, dict[str, object]] = {}
    for i in items:
        ticked = bool(checked.get(i.key, False))
        met = assessment[i.key].met
        rows[i.key] = {
            "label": i.label,
            "checked": ticked,
            "assessed": met,
            "detail": assessment[i.key].detail,
            # ticked by the nurse although the program found it not met (the reason covers it)
            "overridden": ticked and met is False,
        }
    return {
        "items": rows,
        "override_reason": reason or None,
        "observation_s": observation_s,
        "observation_min": observation_min,
        "early": observation_left_s > 0,
        "unmet": unmet,
    }


def check_manual_vitals(values: Mapping[Parameter, float]) -> None:
    """Hand-entered vitals: known, numbers, plausible, systolic with diastolic and above it.
    Raises ValidationError(field, why)."""
    if not values:
        raise ValidationError("vitals", "enter at least one value")
    for p, v in values.items():
        if p not in MANUAL_PARAMETERS:
            raise ValidationError(p.value, f"{p.value} cannot be entered by hand")
        info = PARAMETER_INFO[p]
        if not isinstance(v, int | float) or isinstance(v, bool) or v != v:
            raise ValidationError(p.value, "must be a number")
        if not info.plausible_min <= v <= info.plausible_max:
            raise ValidationError(
                p.value,
                f"{info.label} {v:g} is outside {info.plausible_min:g}–{info.plausible_max:g} {info.display_unit}",
            )
    sys_, dia = values.get(Parameter.NIBP_SYS), values.get(Parameter.NIBP_DIA)
    if (sys_ is None) != (dia is None):
        raise ValidationError("nibp_dia" if dia is None else "nibp_sys", "enter both systolic and diastolic")
    if sys_ is not None and dia is not None and dia >= sys_:
        raise ValidationError("nibp_dia", "diastolic must be lower than systolic")


def manual_samples(values: Mapping[Parameter, float], t: float) -> list[VitalSample]:
    """Checked manual readings as samples marked MANUAL; the NIBP parts share one measurement id."""
    mid = f"manual-{uuid.uuid4().hex[:12]}" if Parameter.NIBP_SYS in values else None
    return [VitalSample(t, p, float(v), Status.OK, Source.MANUAL, mid if p in NIBP_PARAMETERS else None)
            for p, v in values.items()]


def check_infused_volume(volume_ml: object, planned_ml: float, computed_ml: float) -> float:
    """The pump's read-back volume as a float, or ValidationError('volume_ml', why): a number, not
    negative, not far beyond the plan (a slipped decimal point)."""
    if not isinstance(volume_ml, int | float) or isinstance(volume_ml, bool) or not math.isfinite(volume_ml):
        raise ValidationError("volume_ml", "enter the volume infused in mL, as the pump shows it")
    if volume_ml < 0:
        raise ValidationError("volume_ml", "the volume infused cannot be negative")
    ceiling = max(3.0 * planned_ml, 1.5 * computed_ml)
    if volume_ml > ceiling:
        raise ValidationError(
            "volume_ml",
            f"{volume_ml:g} mL is far more than planned ({planned_ml:.2f} mL): check the decimal point",
        )
    return float(volume_ml)

"""One frozen snapshot of a nurse's session at one moment, and the clinical rules asked of it.

`NurseSession.snapshot(t)` copies what the rules need under its lock (the infusion clock read at
`t`, the latest and baseline vitals, the last NIBP, scales, events, the infusion log and volumes);
the functions here then answer without the session: when the next NIBP and MOAA/S are due, whether
a CADSS is due, what is due now, the markers on the trend, the volume given, what the program can
tell about each discharge item. The
rules themselves are in rules.py; this module only feeds them one consistent set of facts.

Pure; thread-safe (a snapshot never changes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kapmonitor.model.parameters import Parameter
from kapmonitor.session import rules
from kapmonitor.session.catalogues import DischargeItem
from kapmonitor.session.entries import ClinicalEvent, ScaleEntry
from kapmonitor.session.infusion import InfusionClock, Phase
from kapmonitor.session.rules import DischargeCheck, NibpSchedule, Prompt

InfusionLogEntry = tuple[float, str, str | None]  # (time, action, reason)


@dataclass(frozen=True)
class SessionSnapshot:
    """The facts of one session at `t` (see the module docstring)."""

    t: float
    phase: Phase
    started_at: float | None
    stopped_at: float | None
    discharged_at: float | None
    remaining_s: float
    paused: bool  # the pump is paused now
    planned_end: float | None  # of the infusion, a pause extending it; None before the start
    observation_s: float
    observation_min: float
    observation_remaining_s: float | None
    last_nibp: float | None
    latest: Mapping[Parameter, tuple[float, float]]
    baseline: Mapping[Parameter, float]
    scales: tuple[ScaleEntry, ...]
    events: tuple[ClinicalEvent, ...]  # struck-out ones too (the rules skip them)
    infusion_log: tuple[InfusionLogEntry, ...]
    escort: bool
    computed_ml: float  # planned rate x infusing time by `t` (no cap at the plan)
    confirmed_ml: float | None  # the pump's read-back at Stop, when the nurse gave it

    @classmethod
    def of(
        cls, t: float, clock: InfusionClock, *, observation_min: float, last_nibp: float | None,
        latest: Mapping[Parameter, tuple[float, float]], baseline: Mapping[Parameter, float],
        scales: Sequence[ScaleEntry], events: Sequence[ClinicalEvent], infusion_log: Sequence[InfusionLogEntry],
        escort: bool, rate_ml_per_h: float, confirmed_ml: float | None,
    ) -> SessionSnapshot:
        """Read the infusion clock at `t` and copy the rest (call under the session's lock)."""
        window = clock.infusion_window(t)
        return cls(
            t=t, phase=clock.phase_at(t), started_at=clock.started_at, stopped_at=clock.stopped_at,
            discharged_at=clock.discharged_at, remaining_s=clock.remaining_s(t), paused=clock.paused,
            planned_end=None if window is None else window[1], observation_s=clock.observation_s,
            observation_min=observation_min, observation_remaining_s=clock.observation_remaining_s(t),
            last_nibp=last_nibp, latest=dict(latest), baseline=dict(baseline), scales=tuple(scales),
            events=tuple(events), infusion_log=tuple(infusion_log), escort=escort,
            computed_ml=clock.volume_infused_ml(t, rate_ml_per_h), confirmed_ml=confirmed_ml,
        )


def volume_given(s: SessionSnapshot) -> float:
    """The volume read back from the pump from the Stop on, when confirmed; else rate x infusing time."""
    if s.confirmed_ml is not None and s.stopped_at is not None and s.t >= s.stopped_at:
        return s.confirmed_ml
    return s.computed_ml


def nibp_next_due(s: SessionSnapshot, schedule: NibpSchedule) -> float | None:
    """When the next NIBP is due by the clinic's schedule; None when none is."""
    return schedule.next_due(s.t, s.phase, s.last_nibp, s.started_at, s.stopped_at)


def moaas_next_due(s: SessionSnapshot) -> float | None:
    """MOAA/S every 15 min from the infusion start (or the last one since); None before or after."""
    start = s.started_at
    last = rules.last_scale(s.scales, "moaas", since=start) if start is not None else None
    return rules.moaas_next_due(s.phase, start, None if last is None else last.t)


def cadss_due(s: SessionSnapshot) -> bool:
    """True near the end of the infusion (last 5 min to 30 min after) until a CADSS is recorded."""
    start = s.started_at
    recorded = start is not None and rules.last_scale(s.scales, "cadss", since=start) is not None
    return rules.cadss_due(s.t, s.phase, start, s.stopped_at, s.remaining_s, recorded)


def due_prompts(s: SessionSnapshot, schedule: NibpSchedule) -> list[Prompt]:
    """What is due: NIBP, MOAA/S, CADSS, stopping the pump, discharge; and, while the latest MOAA/S
    is 3 or less, to watch breathing. Nothing once discharged."""
    if s.phase is Phase.DISCHARGED:
        return []
    moaas = rules.latest_moaas(s.scales, s.started_at) if s.started_at is not None else None
    return rules.due_prompts(
        s.t, s.phase, nibp_due=nibp_next_due(s, schedule), moaas_due=moaas_next_due(s), cadss=cadss_due(s),
        paused=s.paused, remaining_s=s.remaining_s, planned_end=s.planned_end, infusion_stop=s.stopped_at,
        observation_s=s.observation_s, last_moaas=moaas.score if moaas is not None and moaas.t <= s.t else None,
    )


def markers(s: SessionSnapshot) -> list[tuple[float, str, str]]:
    """(time, kind, label) of phase changes, pauses, events and scales, in time order."""
    out = rules.infusion_markers(list(s.infusion_log), s.t, s.stopped_at, s.observation_s, s.discharged_at)
    out += [(e.t, e.category, e.label) for e in s.events if not e.deleted]
    out += [(entry.t, "scale", entry.label) for entry in s.scales]
    out.sort(key=lambda m: m[0])
    return out


def discharge_assessment(s: SessionSnapshot, items: Sequence[DischargeItem]) -> list[DischargeCheck]:
    """What the program can tell about each checklist item (the nurse decides)."""
    return [
        rules.assess_discharge_item(
            item, s.t, observation_remaining_s=s.observation_remaining_s, observation_min=s.observation_min,
            infusion_stop=s.stopped_at, baseline=s.baseline, latest=s.latest, scales=list(s.scales),
            events=s.events, escort=s.escort,
        )
        for item in items
    ]

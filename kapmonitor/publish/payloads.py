"""Topics and JSON payloads of kapmonitor over MQTT (schema: resources/mqtt_payloads.schema.json).

`kapmonitor/v1/<site>/<chair>/{status,vitals,alarms,session}` (and `command`/`result` for the
central's acknowledgement, see `commands`); every payload names its `type`,
the `schema` version, the `site` and `chair`. Only the pseudonym (or, if the clinic says so, just
the chair name) identifies the patient. Pure functions of immutable inputs: thread-safe.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kapmonitor.alarms.model import ActiveAlarm, AlarmEvent
from kapmonitor.model.samples import VitalSample
from kapmonitor.session.infusion import Phase, format_duration
from kapmonitor.session.session import NurseSession

log = logging.getLogger(__name__)

ROOT = "kapmonitor/v1"
SCHEMA = 1
KINDS = ("status", "vitals", "alarms", "session", "command", "result")


@dataclass(frozen=True)
class ChairTopic:
    """Where one chair publishes."""

    site: str
    chair: str

    def topic(self, kind: str) -> str:
        return f"{ROOT}/{self.site}/{self.chair}/{kind}"


def parse_topic(topic: str) -> tuple[str, str, str] | None:
    """(site, chair, kind) of a kapmonitor topic, or None for anything else."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != ROOT or parts[4] not in KINDS or not parts[2] or not parts[3]:
        return None
    return parts[2], parts[3], parts[4]


def encode(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _head(kind: str, where: ChairTopic, t: float | None) -> dict[str, object]:
    return {"type": kind, "schema": SCHEMA, "site": where.site, "chair": where.chair, "t": t}


def status_payload(
    where: ChairTopic, state: str, t: float | None, *, name: str, link: str, link_detail: str = "",
    heartbeat_s: float, seq: int, dropped: int = 0, reason: str = "", central_ack: bool = False,
) -> dict[str, object]:
    """online (each heartbeat) or offline (Last Will, clean stop); `link` is the monitor link;
    `central_ack`: this chair accepts acknowledgements from the central (the clinic enabled it)."""
    out = _head("status", where, t)
    out.update(state=state, name=name, link=link, link_detail=link_detail, heartbeat_s=heartbeat_s, seq=seq,
               dropped=dropped, reason=reason, central_ack=central_ack)
    return out


def _finite(x: float | None) -> float | None:
    return None if x is None or x != x or x in (float("inf"), float("-inf")) else float(x)


def vitals_payload(where: ChairTopic, t: float, samples: Sequence[VitalSample]) -> dict[str, object]:
    """A batch of samples; `t` is the bedside time of sending (ages are computed against it)."""
    out = _head("vitals", where, t)
    out["samples"] = [
        {"p": s.parameter.value, "t": s.time, "v": _finite(s.value), "s": s.status.value, "src": s.source.value,
         "m": s.measurement_id}
        for s in samples
    ]
    return out


def _active(a: ActiveAlarm) -> dict[str, object]:
    return {
        "id": a.alarm_id, "parameter": a.parameter.value if a.parameter else None, "kind": a.kind.value,
        "priority": a.priority.label, "message": a.message, "value": _finite(a.value), "limit": _finite(a.limit),
        "raised_at": a.raised_at, "acknowledged": a.acknowledged, "latched": a.latched, "escalated": a.escalated,
        "audio_paused": a.audio_paused,
    }


def _event(e: AlarmEvent) -> dict[str, object]:
    return {
        "time": e.time, "id": e.alarm_id, "parameter": e.parameter.value if e.parameter else None,
        "kind": e.kind.value, "priority": e.priority.label, "event": e.event.value, "value": _finite(e.value),
        "limit": _finite(e.limit), "message": e.message,
    }


def alarms_payload(
    where: ChairTopic, t: float, active: Iterable[ActiveAlarm] | None, event: AlarmEvent | None, seq: int,
) -> dict[str, object]:
    """A change (`event`; None: a re-send) and the current set of active alarms (`active`; None in
    all but the last message of a burst: the set follows in that last one, which is retained)."""
    out = _head("alarms", where, t)
    out.update(seq=seq, event=_event(event) if event is not None else None,
               active=None if active is None else [_active(a) for a in active])
    return out


def session_phase(session: NurseSession | None, t: float) -> tuple[str, str]:
    """(phase, clock text): set-up / infusing mm:ss of 40 / paused / observation / discharged."""
    if session is None:
        return "no-session", ""
    phase = session.phase(t)
    clock = session.infusion
    planned = f"{clock.planned_duration_s / 60:g} min"
    if phase is Phase.BASELINE:
        return "set-up", ""
    if phase is Phase.INFUSION:
        text = f"{format_duration(clock.elapsed_s(t))} of {planned}"
        return ("paused" if clock.paused_at(t) else "infusing"), text
    if phase in (Phase.OBSERVATION, Phase.READY_FOR_DISCHARGE):
        left = clock.observation_remaining_s(t)
        return "observation", (f"{format_duration(left)} left" if left is not None and left > 0 else "ready")
    return "discharged", ""


def session_payload(
    where: ChairTopic, t: float, session: NurseSession | None, *, name: str,
) -> dict[str, object]:
    """Phase, infusion clock and what is due next, from the nurse session's public API."""
    out = _head("session", where, t)
    phase, clock_text = session_phase(session, t)
    due: list[dict[str, object]] = []
    nxt: dict[str, float | None] = {"nibp": None, "moaas": None}
    elapsed = planned = None
    if session is not None and phase != "discharged":
        due = [{"kind": p.kind, "due_at": p.due_at, "message": p.message} for p in session.due_prompts(t)]
        nxt = {"nibp": session.nibp_next_due(t), "moaas": session.moaas_next_due(t)}
        if session.infusion.started_at is not None:
            elapsed = session.infusion.elapsed_s(t)
        planned = session.infusion.planned_duration_s
    out.update(name=name, phase=phase, clock=clock_text, infusion_elapsed_s=elapsed, infusion_planned_s=planned,
               due=due, next=nxt)
    return out

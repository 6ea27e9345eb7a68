"""Alarm data handed out by the engine: events (the log) and active alarms (what the nurse sees).

Everything here is immutable, so events and snapshots may cross threads freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kapmonitor.alarms.profile import Priority
from kapmonitor.model.parameters import Parameter


class AlarmKind(StrEnum):
    """Physiological (a vital sign outside its limits) or technical (the equipment cannot tell).

    SYSTEM marks log entries that belong to no single alarm: an audio pause, a limit change,
    a baseline being set.
    """

    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"
    SYSTEM = "system"


class AlarmEventType(StrEnum):
    """Every state change the alarm log records."""

    RAISED = "raised"
    PRIORITY_CHANGED = "priority_changed"  # the condition moved to another priority band
    ESCALATED = "escalated"  # a high-priority alarm stayed unacknowledged too long
    ACKNOWLEDGED = "acknowledged"
    CONDITION_ENDED = "condition_ended"  # a latched alarm's condition went away; it stays until acknowledged
    AUDIO_PAUSED = "audio_paused"
    AUDIO_RESUMED = "audio_resumed"
    REMINDED = "reminded"
    CLEARED = "cleared"
    LIMIT_CHANGED = "limit_changed"
    BASELINE_SET = "baseline_set"


CENTRAL = " at central "


def central_credit(operator: str, station: str) -> str:
    """Who the alarm log names for an acknowledgement from the central station."""
    return f"{operator}{CENTRAL}{station}"


def is_central_credit(who: str | None) -> bool:
    """True for a `central_credit` (the nurse's window then says so: nobody at the chair acted)."""
    return who is not None and CENTRAL in who


@dataclass(frozen=True)
class LimitChange:
    """One changed field of the alarm profile (a row of the `limit_changes` table)."""

    parameter: str  # a parameter id, or "rise" / "technical" / "behaviour" / "profile"
    field: str
    old_value: str | None
    new_value: str | None
    reason: str = ""


@dataclass(frozen=True)
class AlarmEvent:
    """One entry of the alarm log."""

    time: float
    alarm_id: str
    parameter: Parameter | None
    kind: AlarmKind
    priority: Priority
    event: AlarmEventType
    value: float | None
    limit: float | None
    message: str
    who: str | None = None
    change: LimitChange | None = None  # set for LIMIT_CHANGED events

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (the export's `alarms` entries)."""
        return {
            "time": self.time,
            "alarm_id": self.alarm_id,
            "parameter": self.parameter.value if self.parameter is not None else None,
            "kind": self.kind.value,
            "priority": self.priority.label,
            "event": self.event.value,
            "value": self.value,
            "limit": self.limit,
            "message": self.message,
            "who": self.who,
        }


@dataclass(frozen=True)
class ActiveAlarm:
    """A snapshot of one alarm that is currently shown (condition present, or latched)."""

    alarm_id: str
    parameter: Parameter | None
    kind: AlarmKind
    priority: Priority
    message: str
    value: float | None
    limit: float | None
    raised_at: float
    acknowledged: bool
    latched: bool  # the condition is gone but the (high-priority) alarm waits for acknowledgement
    condition_present: bool
    escalated: bool = False
    audio_paused: bool = False  # its sound is paused (the pause may still be running)
    # What raised the alarm at its most urgent priority so far: the bar shows these, so an acknowledged
    # or latched alarm keeps the value and limit that raised it (and an acknowledged high stays high)
    # rather than pairing today's normal value with the old limit. None: same as the current fields.
    raised_priority: Priority | None = None
    raised_value: float | None = None
    raised_limit: float | None = None
    raised_message: str = ""
    acknowledged_remotely_by: str | None = None  # acknowledged from the central station: who (the row says it)

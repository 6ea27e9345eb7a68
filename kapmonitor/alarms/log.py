"""Writes the alarm log into the session database: every alarm event, every limit change.

The writer is an engine listener; it only queues rows on the session recorder (whose writer
thread commits at least every half second), so it never blocks the engine. Rows are written
in event order, and committed rows survive a crash like every other row of the session.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from kapmonitor.alarms.model import AlarmEvent, AlarmEventType

log = logging.getLogger(__name__)


class RowSink(Protocol):
    """What the log writer needs of a `SessionRecorder`."""

    def insert(self, table: str, row: Mapping[str, object]) -> None: ...


def alarm_log_row(ev: AlarmEvent) -> dict[str, object]:
    """The `alarm_log` row of one event."""
    return {
        "t": ev.time,
        "alarm_id": ev.alarm_id,
        "parameter": ev.parameter.value if ev.parameter is not None else None,
        "kind": ev.kind.value,
        "priority": ev.priority.label,
        "event": ev.event.value,
        "value": ev.value,
        "limit_value": ev.limit,
        "message": ev.message,
        "who": ev.who,
    }


class AlarmLogWriter:
    """Engine listener: `engine.add_listener(AlarmLogWriter(recorder))`. Thread-safe (queues only)."""

    def __init__(self, recorder: RowSink) -> None:
        self._recorder = recorder
        self.events_written = 0

    def __call__(self, ev: AlarmEvent) -> None:
        self._recorder.insert("alarm_log", alarm_log_row(ev))
        if ev.event is AlarmEventType.LIMIT_CHANGED and ev.change is not None:
            self._recorder.insert(
                "limit_changes",
                {
                    "t": ev.time,
                    "parameter": ev.change.parameter,
                    "field": ev.change.field,
                    "old_value": ev.change.old_value,
                    "new_value": ev.change.new_value,
                    "who": ev.who or "",
                    "reason": ev.change.reason,
                },
            )
        self.events_written += 1


"""Writes the alarm profile in force into the session record, and every PIN use.

At start and at every change the record gets an `audit` row (table_name `alarm_profile`) with the
profile's name, version and hash (and, on a change, the previous ones, who and why), and the meta
row `alarm_profile` holds the current one. PIN uses, failures and lockouts become `audit` rows of
table_name `clinic_pin`. No schema change: `audit` and `meta` are in schema version 1.

Thread-safety: only queues rows on the recorder (any thread).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from kapmonitor.alarms.profile import AlarmProfile

log = logging.getLogger(__name__)


class RecordSink(Protocol):
    """What this needs of a `SessionRecorder`."""

    def insert(self, table: str, row: Mapping[str, object]) -> None: ...

    def set_meta(self, key: str, value: object) -> None: ...


def profile_identity(profile: AlarmProfile) -> dict[str, object]:
    """Name, version, hash, source and any alarm switched off: what the record keeps of a profile."""
    ident: dict[str, object] = {"name": profile.name, "version": profile.version, "hash": profile.digest,
                                "source": profile.source}
    off = profile.alarms_off()
    if off:
        ident["alarms_off"] = off
    return ident


class ProfileRecord:
    """The session record's view of the alarm profile.

    `sink` is the recorder, or a function giving the current one (a new session after a discharge
    records into a new file); `now` gives the session clock's time.
    """

    def __init__(self, sink: RecordSink | Callable[[], RecordSink], now: Callable[[], float]) -> None:
        self._sink_of: Callable[[], RecordSink] = sink if callable(sink) else (lambda: sink)
        self._now = now

    @property
    def _sink(self) -> RecordSink:
        return self._sink_of()

    def started(self, profile: AlarmProfile, notice: str | None) -> None:
        after = {**profile_identity(profile), "signed_off": notice is None}
        self._sink.set_meta("alarm_profile", json.dumps(after))
        self._sink.insert("audit", {"t": self._now(), "who": None, "action": "profile_in_force",
                                    "table_name": "alarm_profile", "before": None, "after": json.dumps(after),
                                    "reason": notice})

    def changed(self, old: AlarmProfile, new: AlarmProfile, who: str, reason: str) -> None:
        after = profile_identity(new)
        self._sink.set_meta("alarm_profile", json.dumps(after))
        self._sink.insert("audit", {"t": self._now(), "who": who, "action": "profile_changed",
                                    "table_name": "alarm_profile", "before": json.dumps(profile_identity(old)),
                                    "after": json.dumps(after), "reason": reason})

    def pin_event(self, event: str, who: str, detail: str) -> None:
        """A PinStore audit callback: every PIN use, failure and lockout into the record."""
        self._sink.insert("audit", {"t": self._now(), "who": who or None, "action": event,
                                    "table_name": "clinic_pin", "before": None, "after": None, "reason": detail})

"""What the central station sounds: every chair's unacknowledged alarms and its own, in priority.

The central's own alarms (a chair offline, a monitor link lost, the broker unreachable) live in
the model's `AlarmEngine`; the bedside alarms arrive as sets per chair. `CentralSound` mirrors
both into a separate engine used only for sound, so the existing `AlarmSounder` plays the
highest priority of all of them. An alarm leaves the mirror when it ends or is acknowledged where
it belongs (at the bedside for a bedside alarm): the central itself cannot silence a bedside
alarm, and nothing here is ever sent to a chair.

Thread-safety: `sync` may be called from any thread (a lock serialises it); the engine and the
sounder are thread-safe.
"""

from __future__ import annotations

import logging
import threading

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.alarms.sounder import AlarmSounder
from kapmonitor.central.model import CentralModel
from kapmonitor.model.clock import RealClock

log = logging.getLogger(__name__)


class CentralSound:
    """Keeps a sound-only engine equal to the set of alarms that must sound at the central."""

    def __init__(self, model: CentralModel, *, device: int | str | None = None) -> None:
        self.model = model
        self.engine = AlarmEngine(default_profile(), RealClock())
        self.sounder = AlarmSounder(self.engine, device=device)
        self._lock = threading.Lock()
        self._mirrored: dict[str, tuple[Priority, str]] = {}

    def wanted(self) -> dict[str, tuple[Priority, str]]:
        """Every alarm that must sound now: id -> (priority, message)."""
        want: dict[str, tuple[Priority, str]] = {}
        for view in self.model.chairs():
            for a in view.alarms:
                if not a.acknowledged:
                    want[f"bedside:{view.key}:{a.alarm_id}"] = (a.priority, f"{view.name}: {a.message}")
        for own in self.model.alarms.active_alarms():
            if not own.acknowledged:
                want[f"central:{own.alarm_id}"] = (own.priority, own.message)
        return want

    def sync(self) -> Priority | None:
        """Bring the mirror up to date; returns the priority that sounds now (None: silence)."""
        with self._lock:
            want = self.wanted()
            for alarm_id, (priority, message) in want.items():
                if self._mirrored.get(alarm_id) != (priority, message):
                    self.engine.report_technical(alarm_id, message, priority)
            for alarm_id in set(self._mirrored) - set(want):
                self.engine.clear_technical(alarm_id)
                self.engine.acknowledge(who="central (ended or acknowledged at its source)", alarm_id=alarm_id)
            self._mirrored = want
            self.engine.tick()
            return self.engine.audio_state()

    def start(self) -> None:
        self.sounder.start()

    def stop(self) -> None:
        self.sounder.stop()

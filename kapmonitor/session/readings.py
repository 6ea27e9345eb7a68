"""What the session keeps of the monitor's readings: the latest valid value of each parameter (the
baseline at the start, the pre-start check, the discharge assessment) and when the last NIBP was
taken (the NIBP schedule). Fed by the dispatcher (reader thread) and by manual vitals.

Thread-safety: guarded by the session's re-entrant lock, given at construction.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, VitalSample


class LatestReadings:
    """Latest valid (time, value) per parameter, and the time of the last NIBP."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._latest: dict[Parameter, tuple[float, float]] = {}
        self._last_nibp: float | None = None

    def on_items(self, items: Sequence[Item]) -> None:
        """Keep each newer valid reading; an older one arriving late never replaces it."""
        with self._lock:
            for item in items:
                if not (isinstance(item, VitalSample) and item.valid and item.value is not None):
                    continue
                prev = self._latest.get(item.parameter)
                if prev is None or item.time >= prev[0]:
                    self._latest[item.parameter] = (item.time, item.value)
                if item.parameter is Parameter.NIBP_SYS and (self._last_nibp is None or item.time > self._last_nibp):
                    self._last_nibp = item.time

    def latest(self) -> dict[Parameter, tuple[float, float]]:
        with self._lock:
            return dict(self._latest)

    @property
    def last_nibp(self) -> float | None:
        with self._lock:
            return self._last_nibp

    def restore(self, latest: Mapping[Parameter, tuple[float, float]], last_nibp: float | None) -> None:
        """The readings as the record left them (a resumed session)."""
        with self._lock:
            self._latest, self._last_nibp = dict(latest), last_nibp

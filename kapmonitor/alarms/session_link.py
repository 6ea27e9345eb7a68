"""Keeps the alarm engine in step with the nurse's session.

- When the infusion starts, the engine takes the rise-alarm baseline (the last NIBP before the
  start, unless the nurse set one by hand).
- The NIBP-overdue alarm follows the session's NIBP cycle: the infusion interval while infusing,
  the after-infusion interval during observation, none before the infusion or after discharge.

The link is a session listener; it only calls thread-safe engine methods, so it may run in
whichever thread changed the session.
"""

from __future__ import annotations

import logging

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.session.infusion import Phase
from kapmonitor.session.session import NurseSession

log = logging.getLogger(__name__)


class SessionAlarmLink:
    """`SessionAlarmLink(engine, session)`; `close()` detaches it."""

    def __init__(self, engine: AlarmEngine, session: NurseSession) -> None:
        self._engine = engine
        self._session = session
        self._started: float | None = None
        self._interval: float | None = None
        session.add_listener(self.update)
        self.update()

    def close(self) -> None:
        self._session.remove_listener(self.update)

    def update(self) -> None:
        session = self._session
        window = session.infusion_window()
        start = window[0] if window is not None else None
        if start is not None and self._started is None:
            self._started = start
            baseline = self._engine.start_infusion(start)
            log.info("infusion started at %s; rise-alarm baseline %s", start, baseline)
        phase = session.phase()
        schedule = session.nibp_schedule
        interval: float | None
        if phase is Phase.INFUSION:
            interval = schedule.infusion_interval_min * 60.0
        elif phase in (Phase.OBSERVATION, Phase.READY_FOR_DISCHARGE):
            interval = schedule.after_interval_min * 60.0
        else:
            interval = None
        if interval != self._interval:
            self._interval = interval
            self._engine.set_nibp_interval(interval)

"""Keeps the alarm engine in step with the nurse's session.

- When the infusion starts, the engine takes the rise-alarm baseline (the last NIBP before the
  start, unless the nurse set one by hand).
- The NIBP-overdue alarm follows the session's NIBP cycle: the infusion interval while infusing,
  the after-infusion interval during observation, none before the infusion or after discharge.
- `prestart_hook` gives the session the profile's pre-start check on its latest readings (the
  session knows nothing of alarm profiles: alarms depend on session, never the other way round).
- The pump running past the planned infusion time (plus a short grace for the nurse to act on the
  "stop the pump" prompt) raises a medium-priority technical alarm until the infusion is stopped
  or paused. It is checked on every session change and, through the alarm supervisor, on time.

The link is a session listener; it only calls thread-safe engine methods, so it may run in
whichever thread changed the session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.prestart import PrestartResult, check_prestart
from kapmonitor.alarms.profile import AlarmProfile, Priority
from kapmonitor.alarms.supervisor import AlarmSupervisor
from kapmonitor.model.parameters import Parameter
from kapmonitor.session.infusion import Phase
from kapmonitor.session.session import NurseSession

log = logging.getLogger(__name__)


INFUSION_OVERRUN = "infusion.overrun"
OVERRUN_GRACE_S = 60.0  # the "stop the pump" prompt shows at the planned end; the alarm a minute later
OVERRUN_MESSAGE = "Infusion past planned end \u2014 stop the pump"


class SessionAlarmLink:
    """`SessionAlarmLink(engine, session, supervisor)`; `close()` detaches it.

    With a supervisor the overrun alarm is checked on its thread every tick; without one only on
    session changes and `tick()` calls.
    """

    def __init__(self, engine: AlarmEngine, session: NurseSession, supervisor: AlarmSupervisor | None = None) -> None:
        self._engine = engine
        self._session = session
        self._supervisor = supervisor
        self._started: float | None = None
        self._interval: float | None = None
        self._overrun = False
        self._overrun_lock = threading.Lock()
        session.add_listener(self.update)
        self.update()
        if supervisor is not None:
            supervisor.add_task(self.tick)

    def close(self) -> None:
        """Detach; an overrun alarm of this session ends with it (the next session's link judges anew)."""
        self._session.remove_listener(self.update)
        if self._supervisor is not None:
            self._supervisor.remove_task(self.tick)
        with self._overrun_lock:
            if self._overrun:
                self._overrun = False
                self._engine.clear_technical(INFUSION_OVERRUN)

    def tick(self) -> None:
        """Time-driven check: raise or end the infusion-overrun alarm."""
        over = self._session.infusion_overrun_s() > OVERRUN_GRACE_S
        with self._overrun_lock:
            if over == self._overrun:
                return
            self._overrun = over
            if over:
                self._engine.report_technical(INFUSION_OVERRUN, OVERRUN_MESSAGE, Priority.MEDIUM)
                log.warning("infusion running past its planned end: alarm raised")
            else:
                self._engine.clear_technical(INFUSION_OVERRUN)

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
        self.tick()


def prestart_hook(profile: AlarmProfile, session: NurseSession) -> Callable[[], PrestartResult]:
    """The alarm profile's pre-start check on the session's latest readings, as the session's start hook.

    Needs the session registered as a dispatcher listener (it keeps the latest values).
    """

    def check() -> PrestartResult:
        latest: dict[Parameter, float | None] = {p: v for p, (_, v) in session.latest().items()}
        return check_prestart(profile, latest)

    return check

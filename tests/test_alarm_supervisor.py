"""The supervisor thread ticks the engine in real time, so time-driven alarms fire without data."""

from __future__ import annotations

import dataclasses
import time

from kapmonitor.alarms.engine import LINK_LOST, AlarmEngine
from kapmonitor.alarms.profile import TechnicalSettings, default_profile
from kapmonitor.alarms.supervisor import AlarmSupervisor
from kapmonitor.model.clock import RealClock


def test_link_lost_raised_by_ticks_alone_and_supervisor_stops() -> None:
    profile = dataclasses.replace(default_profile(), technical=TechnicalSettings(link_lost_s=1.0))
    engine = AlarmEngine(profile, RealClock())
    engine.session_active(True)
    started = time.time()
    with AlarmSupervisor(engine, period=0.05) as sup:
        deadline = time.monotonic() + 5
        while LINK_LOST not in {a.alarm_id for a in engine.active_alarms()} and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sup.running
    assert not sup.running and sup.ticks > 5 and sup.errors == 0
    (ev,) = [e for e in engine.events() if e.alarm_id == LINK_LOST]
    assert abs(ev.time - (started + 1.0)) < 0.1  # stamped with its due time, not the tick's

"""The engine follows the nurse's session: baseline at infusion start, NIBP cycle by phase."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kapmonitor.alarms.engine import NIBP_OVERDUE, NIBP_RISE, AlarmEngine
from kapmonitor.alarms.profile import default_profile
from kapmonitor.alarms.session_link import SessionAlarmLink
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.session import NurseSession, demo_setup

T0 = 1_700_000_000.0


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[ManualClock, AlarmEngine, NurseSession]]:
    clock = ManualClock(T0)
    session = NurseSession.create(demo_setup().with_changes(simulated=False), clock, path=tmp_path / "s.kapsession")
    engine = AlarmEngine(default_profile(), clock)
    yield clock, engine, session
    session.shutdown()


def _feed(clock: ManualClock, engine: AlarmEngine, session: NurseSession, sys_: float, dia: float) -> None:
    t = clock.now()
    items = [VitalSample(t, Parameter.HR, 80.0), VitalSample(t, Parameter.SPO2, 98.0),
             VitalSample(t, Parameter.NIBP_SYS, sys_, measurement_id=f"m{t}"),
             VitalSample(t, Parameter.NIBP_DIA, dia, measurement_id=f"m{t}")]
    engine.on_items(items)
    session.on_items(items)


def test_baseline_and_nibp_cycle_follow_the_session(rig) -> None:  # type: ignore[no-untyped-def]
    clock, engine, session = rig
    link = SessionAlarmLink(engine, session)
    engine.session_active(True)
    _feed(clock, engine, session, 124, 78)
    clock.advance(60)
    session.start_infusion(who="AB")
    assert engine.baseline == (124, 78)
    # 10 min cycle + 2 min grace: overdue 12 min after the start without a reading
    for _ in range(12 * 60 - 1):
        clock.advance(1)
        engine.on_items([VitalSample(clock.now(), Parameter.HR, 80.0)])
    assert NIBP_OVERDUE not in {a.alarm_id for a in engine.active_alarms()}
    clock.advance(2)
    engine.on_items([VitalSample(clock.now(), Parameter.HR, 80.0)])
    assert NIBP_OVERDUE in {a.alarm_id for a in engine.active_alarms()}
    _feed(clock, engine, session, 166, 90)  # +42 over the baseline
    active = {a.alarm_id for a in engine.active_alarms()}
    assert NIBP_OVERDUE not in active and NIBP_RISE in active
    session.stop_infusion(who="AB")
    assert engine._nibp_interval == 15 * 60
    link.close()

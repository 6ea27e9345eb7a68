"""A patient's session joins her course when she is discharged: the bedside core hands the record to the
clinic's course database on a worker thread (real GE S/5 emulator over a PTY, real session and course files).
A simulated session never joins a patient's course."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from ge_s5_support import EmulatorThread, PtyPair, wait_for

from kapmonitor.bedside import Bedside
from kapmonitor.course.store import CourseStore
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5.driver import GeS5Driver
from kapmonitor.drivers.ge_s5.emulator import run_emulator
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import RealClock
from kapmonitor.session.model import demo_setup


def _discharge(bedside: Bedside, pseudonym: str) -> Path:
    setup = demo_setup().with_changes(pseudonym=pseudonym, simulated=bedside.simulated)
    session = bedside.create_session(setup, on_duty="AB")
    record = bedside.pipeline.recorder.path
    t0 = time.time()
    session.start_infusion(t=t0, override_reason="join test")
    session.stop_infusion(t=t0 + 40 * 60, volume_ml=session.plan.volume_ml)
    session.discharge("AB", {item.key: True for item in session.discharge_items}, t=t0 + 101 * 60,
                      override_reason="join test")
    return record


@pytest.fixture
def course_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    from kapmonitor.course.store import default_path

    with CourseStore.open(default_path()) as store:
        store.add_course("KAP-0009", "AB", dt.date.today() - dt.timedelta(days=7), planned_infusions=3)
    return default_path()


def test_a_discharged_patient_session_joins_her_course(tmp_path: Path, course_store: Path) -> None:
    pty = PtyPair(tmp_path)
    emu = EmulatorThread(run_emulator, pty.monitor_end, speed=10.0)
    clock = RealClock()
    bedside = Bedside(GeS5Driver(DriverOptions(port=pty.pc_end), clock), clock, tmp_path / "first.db", music=False)
    bedside.start(sound=False)
    try:
        record = _discharge(bedside, "KAP-0009")

        def linked() -> list[str]:
            with CourseStore.open_read_only(course_store) as store:
                return [str(link.path) for link in store.sessions("KAP-0009")]

        assert wait_for(lambda: str(record) in linked(), 10.0)
    finally:
        bedside.stop()
        emu.halt()
        pty.close()


def test_a_simulated_session_never_joins_a_patients_course(tmp_path: Path, course_store: Path) -> None:
    clock = RealClock()
    bedside = Bedside(SimulatedMonitor(DriverOptions(seed=3), clock), clock, tmp_path / "sim.db", music=False)
    bedside.start(sound=False)
    try:
        _discharge(bedside, "KAP-0009")
        time.sleep(1.5)  # time enough for a join, had one been started
    finally:
        bedside.stop()
    with CourseStore.open_read_only(course_store) as store:
        assert store.sessions("KAP-0009") == []

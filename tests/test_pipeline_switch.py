"""Changing the monitor or the record under a running pipeline: alarms and display never stop,
real and simulated data never share a record. Real monitors are the GE S/5 emulator on a PTY."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from ge_s5_support import EmulatorThread, PtyPair, wait_for

from kapmonitor.alarms.profile import default_profile
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5.driver import GeS5Driver
from kapmonitor.drivers.ge_s5.emulator import run_emulator
from kapmonitor.drivers.intellivue.driver import IntelliVueDriver
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.pipeline import MonitoringPipeline
from kapmonitor.recording.reader import read_vitals

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def ge_monitor(tmp_path: Path) -> Iterator[str]:
    """An emulated GE S/5 talking on a real pty pair; yields the computer's end."""
    pair = PtyPair(tmp_path)
    emu = EmulatorThread(run_emulator, pair.monitor_end, speed=10.0)
    yield pair.pc_end
    emu.halt()
    pair.close()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def has_valid(pipeline: MonitoringPipeline, parameter: Parameter) -> bool:
    latest = pipeline.trends.latest(parameter)
    return latest is not None and latest.value is not None


def test_real_to_real_continues_the_record(tmp_path: Path, ge_monitor: str) -> None:
    clock = RealClock()
    gone = IntelliVueDriver(DriverOptions(port=str(tmp_path / "no-such-port")), clock)
    db = tmp_path / "patient.db"
    pipeline = MonitoringPipeline(gone, db, alarm_profile=default_profile())
    pipeline.start()
    engine = pipeline.alarms
    try:
        assert pipeline.replace_driver(GeS5Driver(DriverOptions(port=ge_monitor), clock)) is None
        assert pipeline.driver.name == "ge-s5" and pipeline.reader.driver is pipeline.driver
        assert pipeline.reader.alive and pipeline.recorder.path == db and pipeline.alarms is engine
        assert wait_for(lambda: has_valid(pipeline, Parameter.HR), 20)
    finally:
        pipeline.stop()
    assert {r[0] for r in rows(db, "SELECT DISTINCT source FROM samples")} == {"monitor"}
    (notice,) = rows(db, "SELECT message FROM device_notices WHERE code = 'monitor-changed'")
    assert "GE Datex-Ohmeda" in str(notice[0]) and ge_monitor in str(notice[0])


def test_simulated_to_real_starts_a_new_record(tmp_path: Path, ge_monitor: str) -> None:
    clock = RealClock()
    sim_db, real_db = tmp_path / "demo-sim.db", tmp_path / "patient.db"
    pipeline = MonitoringPipeline(SimulatedMonitor(DriverOptions(seed=3), clock), sim_db,
                                  alarm_profile=default_profile())
    stores = []
    pipeline.on_trends_replaced.append(stores.append)
    pipeline.start()
    try:
        assert wait_for(lambda: has_valid(pipeline, Parameter.HR), 10)
        old_store = pipeline.trends
        started = pipeline.replace_driver(GeS5Driver(DriverOptions(port=ge_monitor), clock), new_record=real_db)
        assert started == real_db and pipeline.recorder.path == real_db
        assert stores == [pipeline.trends] and pipeline.trends is not old_store
        assert pipeline.trends.latest(Parameter.HR) is None  # the simulated values are not shown any more
        assert wait_for(lambda: has_valid(pipeline, Parameter.HR), 20)
        assert pipeline.request_nibp() is False  # a GE S/5 cannot be asked to start the cuff
    finally:
        pipeline.stop()
    assert {r[0] for r in rows(sim_db, "SELECT DISTINCT source FROM samples")} == {"simulated"}
    assert {r[0] for r in rows(real_db, "SELECT DISTINCT source FROM samples")} == {"monitor"}
    assert dict(rows(real_db, "SELECT key, value FROM meta"))["simulated"] == "0"
    assert dict(rows(sim_db, "SELECT key, value FROM meta"))["simulated"] == "1"
    (notice,) = rows(real_db, "SELECT message FROM device_notices WHERE code = 'monitor-changed'")
    assert sim_db.name in str(notice[0])


def test_real_to_simulated_starts_a_new_record_and_a_bad_one_changes_nothing(tmp_path: Path) -> None:
    clock = RealClock()
    real_db = tmp_path / "patient.db"
    real = IntelliVueDriver(DriverOptions(port=str(tmp_path / "no-such-port")), clock)
    pipeline = MonitoringPipeline(real, real_db, alarm_profile=default_profile())
    pipeline.start()
    try:
        reader = pipeline.reader
        blocked = tmp_path / "not-a-dir" / "x.db"
        blocked.parent.write_text("a file where a folder should be")
        with pytest.raises(Exception):  # noqa: B017 - whatever the OS says, nothing may change
            pipeline.replace_driver(SimulatedMonitor(DriverOptions(), clock), new_record=blocked)
        assert pipeline.driver is real and pipeline.reader is reader and reader.alive
        assert pipeline.recorder.path == real_db
        sim_db = pipeline.replace_driver(SimulatedMonitor(DriverOptions(seed=1), clock), new_record=tmp_path / "s.db")
        assert sim_db == tmp_path / "s.db" and pipeline.driver.is_simulated
        assert wait_for(lambda: has_valid(pipeline, Parameter.HR), 10)
        assert pipeline.request_nibp() is True  # the simulated cuff starts on demand
    finally:
        pipeline.stop()
    assert rows(real_db, "SELECT count(*) FROM samples WHERE source = 'simulated'") == [(0,)]
    assert {r[0] for r in rows(sim_db, "SELECT DISTINCT source FROM samples")} == {"simulated"}


def test_switch_record_resumes_an_existing_record_without_a_gap(tmp_path: Path) -> None:
    """An unfinished record is taken up while monitoring: its old vitals stay, the values recorded
    since the start are copied into it, and new values follow, alarms running throughout."""
    clock = RealClock()
    old_db, fresh_db = tmp_path / "unfinished.db", tmp_path / "fresh.db"
    first = MonitoringPipeline(SimulatedMonitor(DriverOptions(seed=1), clock), old_db)
    first.start()
    assert wait_for(lambda: has_valid(first, Parameter.HR), 10)
    first.stop()
    before = read_vitals(old_db)
    created = dict(rows(old_db, "SELECT key, value FROM meta"))["created_at"]

    pipeline = MonitoringPipeline(SimulatedMonitor(DriverOptions(seed=2), clock), fresh_db,
                                  alarm_profile=default_profile())
    pipeline.start()
    try:
        assert wait_for(lambda: len(read_vitals(fresh_db)) > 3, 10)
        engine, reader = pipeline.alarms, pipeline.reader
        switched_at = clock.now()
        assert pipeline.switch_record(old_db) == fresh_db
        assert pipeline.recorder.path == old_db and pipeline.reader is reader and reader.alive
        assert pipeline.alarms is engine
        assert pipeline.recorder.flush()
        pipeline.show_history(read_vitals(old_db))
        assert wait_for(lambda: any(s.time > switched_at + 1 for s in read_vitals(old_db)), 10)
        assert pipeline.recorder.flush()
    finally:
        pipeline.stop()
    interim = read_vitals(fresh_db)
    after = read_vitals(old_db)
    assert interim and fresh_db.exists()  # nothing recorded is deleted
    kept = {(s.time, s.parameter) for s in after}
    assert {(s.time, s.parameter) for s in before} <= kept
    assert {(s.time, s.parameter) for s in interim} <= kept  # the minutes before the resume are in it
    assert dict(rows(old_db, "SELECT key, value FROM meta"))["created_at"] == created
    assert rows(old_db, "SELECT count(*) FROM device_notices WHERE code = 'record-resumed'") == [(1,)]
    assert dict(rows(fresh_db, "SELECT key, value FROM meta"))["continued_in"] == old_db.name
    times, _ = pipeline.trends.trends[Parameter.HR].snapshot()  # shown: the old vitals first, in order
    hr_times = [float(t) for t in times]
    assert hr_times == sorted(hr_times) and hr_times[0] <= before[0].time + 1


def test_a_simulated_record_is_never_continued_by_a_real_monitor(tmp_path: Path) -> None:
    clock = RealClock()
    sim_db = tmp_path / "demo.db"
    first = MonitoringPipeline(SimulatedMonitor(DriverOptions(), clock), sim_db)
    first.start()
    first.stop()
    real = IntelliVueDriver(DriverOptions(port=str(tmp_path / "no-such-port")), clock)
    pipeline = MonitoringPipeline(real, tmp_path / "patient.db")
    pipeline.start()
    try:
        with pytest.raises(ValueError, match="simulated record"):
            pipeline.switch_record(sim_db)
        assert pipeline.recorder.path == tmp_path / "patient.db"
    finally:
        pipeline.stop()


def test_alarms_of_the_simulator_end_with_its_record(tmp_path: Path) -> None:
    """A latched high BP alarm of the simulated patient never goes on in a patient's record."""
    from kapmonitor.model.samples import Source, Status, VitalSample

    clock = RealClock()
    sim_db, real_db = tmp_path / "demo-sim.db", tmp_path / "patient.db"
    pipeline = MonitoringPipeline(SimulatedMonitor(DriverOptions(seed=3), clock), sim_db,
                                  alarm_profile=default_profile())
    pipeline.start()
    try:
        engine = pipeline.alarms
        assert engine is not None
        now = clock.now()
        pipeline.submit([VitalSample(now, Parameter.NIBP_SYS, 205.0, Status.OK, Source.SIMULATED, "m1"),
                         VitalSample(now, Parameter.NIBP_DIA, 100.0, Status.OK, Source.SIMULATED, "m1")])
        assert any(a.parameter is Parameter.NIBP_SYS for a in engine.active_alarms())
        real = IntelliVueDriver(DriverOptions(port=str(tmp_path / "no-such-port")), clock)
        pipeline.replace_driver(real, new_record=real_db)
        assert not [a for a in engine.active_alarms() if a.kind.value == "physiological"]
    finally:
        pipeline.stop()
    assert rows(sim_db, "SELECT event FROM alarm_log WHERE parameter = 'nibp_sys' ORDER BY id")[-1] == ("cleared",)
    assert rows(real_db, "SELECT count(*) FROM alarm_log WHERE parameter = 'nibp_sys'") == [(0,)]

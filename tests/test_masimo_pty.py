"""Masimo ASCII 1 over a real pseudo-terminal pair: the emulator on one end, the whole monitoring
pipeline (driver, reader, alarm engine, session record) on the other."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from ge_s5_support import EmulatorThread, PtyPair, wait_for

from kapmonitor.alarms.model import AlarmKind
from kapmonitor.alarms.profile import default_profile
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.masimo.driver import MasimoAscii1Driver
from kapmonitor.drivers.masimo.emulator import run_emulator
from kapmonitor.drivers.probe import probe_connection
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, LinkEvent, LinkState, Status
from kapmonitor.pipeline import MonitoringPipeline, read_vitals


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path)
    yield pair
    pair.close()


class Sensor(EmulatorThread):
    """The emulated oximeter with a chosen sensor sequence."""

    def __init__(self, port: str, sensor: str, speed: float = 5.0) -> None:
        import threading

        self.stop = threading.Event()
        self.thread = threading.Thread(target=run_emulator, args=(port, "normal", speed, 4, self.stop),
                                       kwargs={"sensor": sensor}, daemon=True)
        self.thread.start()


class Links:
    def __init__(self) -> None:
        self.states: list[LinkState] = []

    def on_items(self, items: Sequence[Item]) -> None:
        self.states += [i.state for i in items if isinstance(i, LinkEvent)]


def run_pipeline(pty: PtyPair, db: Path, sensor: str, seconds: float, links: Links | None = None) -> MonitoringPipeline:
    emulator = Sensor(pty.monitor_end, sensor)
    driver = MasimoAscii1Driver(DriverOptions(port=pty.pc_end), RealClock())
    pipeline = MonitoringPipeline(driver, db, alarm_profile=default_profile(),
                                  extra_listeners=[links] if links is not None else ())
    pipeline.start()
    try:
        time.sleep(seconds)
    finally:
        pipeline.stop()
        emulator.halt()
    return pipeline


def test_values_flow_into_the_session_record(pty: PtyPair, tmp_path: Path) -> None:
    links = Links()
    pipeline = run_pipeline(pty, tmp_path / "masimo.db", "on", 3.0, links)
    vitals = read_vitals(tmp_path / "masimo.db")
    spo2 = [v for v in vitals if v.parameter is Parameter.SPO2]
    pulse = [v for v in vitals if v.parameter is Parameter.PULSE_RATE]
    assert len(spo2) >= 5 and all(v.status is Status.OK and 90 <= (v.value or 0) <= 100 for v in spo2)
    assert len(pulse) == len(spo2) and all(40 <= (v.value or 0) <= 140 for v in pulse)
    assert abs(spo2[-1].time - time.time()) < 30  # stamped with this computer's time
    assert LinkState.CONNECTED in links.states and LinkState.NOT_ANSWERING not in links.states
    assert not pipeline.driver.has_nibp and not pipeline.driver.can_start_nibp


@pytest.mark.parametrize(("sensor", "status", "text"), [
    ("off", Status.SENSOR_OFF, "SpO\u2082: sensor off"),
    ("none", Status.NO_SENSOR, "SpO\u2082: no sensor connected"),
])
def test_sensor_off_and_no_sensor_are_technical_alarms_never_numbers(
        pty: PtyPair, tmp_path: Path, sensor: str, status: Status, text: str) -> None:
    db = tmp_path / f"{sensor}.db"
    pipeline = run_pipeline(pty, db, sensor, 2.5)
    vitals = [v for v in read_vitals(db) if v.parameter in (Parameter.SPO2, Parameter.PULSE_RATE)]
    assert len(vitals) >= 4
    assert all(v.value is None and v.status is status for v in vitals)  # the line's numbers are never used
    assert pipeline.alarms is not None
    alarms = {a.alarm_id: a for a in pipeline.alarms.active_alarms()}
    assert "spo2.invalid" in alarms, alarms
    assert alarms["spo2.invalid"].kind is AlarmKind.TECHNICAL and alarms["spo2.invalid"].message == text


def test_cycle_returns_numbers_after_the_sensor_is_back(pty: PtyPair, tmp_path: Path) -> None:
    db = tmp_path / "cycle.db"
    run_pipeline_speed = 40.0  # 30 s on, 10 s off, 30 s on, 10 s none: 80 emulated seconds in about 2 s
    emulator = Sensor(pty.monitor_end, "cycle", run_pipeline_speed)
    driver = MasimoAscii1Driver(DriverOptions(port=pty.pc_end), RealClock())
    pipeline = MonitoringPipeline(driver, db, alarm_profile=default_profile())
    pipeline.start()
    try:
        assert wait_for(lambda: driver.stats.frames >= 85, 20.0)
    finally:
        pipeline.stop()
        emulator.halt()
    statuses = [v.status for v in read_vitals(db) if v.parameter is Parameter.SPO2]
    order = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] is not s]
    assert order[:5] == [Status.OK, Status.SENSOR_OFF, Status.OK, Status.NO_SENSOR, Status.OK]


def test_connection_test_recognises_the_oximeter(pty: PtyPair) -> None:
    emulator = Sensor(pty.monitor_end, "on")
    try:
        result = probe_connection("masimo-ascii1", pty.pc_end, None, 4.0)
    finally:
        emulator.halt()
    assert result.ok, result


def test_trend_dump_output_is_not_answering_with_a_hint(pty: PtyPair) -> None:
    import serial
    from shared_paths import PROTOCOLS

    dump = (PROTOCOLS / "masimo" / "rad8_trend_dump_manual_NOT_ASCII1.txt").read_bytes()
    driver = MasimoAscii1Driver(DriverOptions(port=pty.pc_end), RealClock())
    driver.open()
    monitor = serial.Serial(pty.monitor_end, 9600, timeout=0.1)
    items: list[Item] = []
    try:
        monitor.write(dump * 20)  # about 5 kB of the wrong format
        end = time.monotonic() + 10
        while time.monotonic() < end and not any(isinstance(i, LinkEvent) for i in items):
            items += driver.read(0.1)
    finally:
        monitor.close()
        driver.close()
    events = [i for i in items if isinstance(i, LinkEvent)]
    assert events and events[0].state is LinkState.NOT_ANSWERING and "ASCII 1" in events[0].detail
    assert not [i for i in items if hasattr(i, "parameter")]  # no value from the wrong format


def test_connection_dialog_offers_masimo_with_its_serial_defaults_and_tests_it(qtbot, pty: PtyPair) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from kapmonitor.ui.monitor.connection_dialog import ConnectionChoice, ConnectionDialog

    dlg = ConnectionDialog(test_seconds=3.0)
    qtbot.addWidget(dlg)
    for name in ("masimo-ascii1", "ivy-450c"):
        assert dlg.driver_combo.findData(name) >= 0, name
    dlg.driver_combo.setCurrentIndex(dlg.driver_combo.findData("masimo-ascii1"))
    assert [dlg.baud_combo.itemData(i) for i in range(dlg.baud_combo.count())] == [9600, 19200]
    assert "8N1" in dlg.driver_info.text() and "Masimo" in dlg.driver_info.text()
    dlg.port_combo.setEditText(pty.pc_end)
    emulator = Sensor(pty.monitor_end, "on")
    try:
        qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.last_result is not None, timeout=15000)
    finally:
        emulator.halt()
    result = dlg.last_result
    assert result is not None and result.ok, result.summary()
    assert Parameter.SPO2 in result.values and dlg.result_label.text().startswith("Connected:")
    assert dlg.selection() == ConnectionChoice("masimo-ascii1", pty.pc_end, 9600)


def test_link_states_connected_then_no_data_when_the_oximeter_stops(pty: PtyPair) -> None:
    from kapmonitor.acquisition.dispatcher import Dispatcher
    from kapmonitor.acquisition.reader import ReaderThread

    links = Links()
    dispatcher = Dispatcher()
    dispatcher.add_listener(links)
    driver = MasimoAscii1Driver(DriverOptions(port=pty.pc_end), RealClock())
    reader = ReaderThread(driver, dispatcher, no_data_after=1.0, backoff_min=0.1, backoff_max=0.4)
    emulator = Sensor(pty.monitor_end, "on")
    reader.start()
    try:
        assert wait_for(lambda: LinkState.CONNECTED in links.states, 10.0)
        emulator.halt()  # the oximeter switched off; the cable stays
        assert wait_for(lambda: LinkState.NO_DATA in links.states, 10.0)
    finally:
        emulator.halt()
        reader.stop()
    assert links.states.index(LinkState.CONNECTED) < links.states.index(LinkState.NO_DATA)


def test_pulse_rate_alarm_labelled_pr_without_hr(pty: PtyPair, tmp_path: Path) -> None:
    """An oximeter sends no HR: the HR limits judge its pulse rate and the alarm says PR."""
    import dataclasses

    from kapmonitor.alarms.profile import Priority, Threshold

    base = default_profile()
    limits = tuple(
        dataclasses.replace(r, thresholds=(Threshold("above_or_equal", 40.0),), delay_s=1.0)
        if r.parameter is Parameter.HR and r.priority is Priority.MEDIUM else r
        for r in base.limits)
    emulator = Sensor(pty.monitor_end, "on")
    driver = MasimoAscii1Driver(DriverOptions(port=pty.pc_end), RealClock())
    pipeline = MonitoringPipeline(driver, tmp_path / "pr.db", alarm_profile=dataclasses.replace(base, limits=limits))
    pipeline.start()
    try:
        assert pipeline.alarms is not None
        engine = pipeline.alarms
        assert wait_for(lambda: any(a.alarm_id == "pulse_rate.upper" for a in engine.active_alarms()), 6.0)
    finally:
        pipeline.stop()
        emulator.halt()
    alarm = next(a for a in engine.active_alarms() if a.alarm_id == "pulse_rate.upper")
    assert alarm.parameter is Parameter.PULSE_RATE and alarm.priority is Priority.MEDIUM
    assert alarm.message == "Pulse rate (PR) high" and (alarm.value or 0) >= 40
    assert not any(a.alarm_id.startswith("hr.") for a in engine.active_alarms())

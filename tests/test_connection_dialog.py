"""The connection dialog: driver/port/baud selection and "Test connection" against the emulator on a PTY."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from kapmonitor.drivers.intellivue.emulator import FdTransport, IntelliVueEmulator
from kapmonitor.drivers.probe import probe_connection
from kapmonitor.model.parameters import Parameter
from kapmonitor.ui.monitor.connection_dialog import ConnectionChoice, ConnectionDialog

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def emulated_monitor() -> Iterator[str]:
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    stop = threading.Event()
    emulator = IntelliVueEmulator(speed=40.0, seed=5)
    t = threading.Thread(target=emulator.serve, args=(FdTransport(master), stop), daemon=True)
    t.start()
    yield os.ttyname(slave)
    stop.set()
    t.join(5)
    os.close(master)
    os.close(slave)


def test_test_connection_against_emulator(qtbot, emulated_monitor: str) -> None:  # type: ignore[no-untyped-def]
    dlg = ConnectionDialog(test_seconds=2.5)
    qtbot.addWidget(dlg)
    dlg.driver_combo.setCurrentIndex(dlg.driver_combo.findData("philips-intellivue"))
    assert [dlg.baud_combo.itemData(i) for i in range(dlg.baud_combo.count())] == [115200, 19200]
    assert "8N1" in dlg.driver_info.text()
    dlg.port_combo.setEditText(emulated_monitor)
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    assert not dlg.test_button.isEnabled()  # the GUI stays live while the worker tests
    qtbot.waitUntil(lambda: dlg.last_result is not None, timeout=15000)
    result = dlg.last_result
    assert result is not None and result.ok, result.summary()
    assert result.frames > 0 and Parameter.HR in result.values and Parameter.SPO2 in result.values
    text = dlg.result_label.text()
    assert text.startswith("Connected:") and "frames decoded" in text and "HR" in text
    assert dlg.test_button.isEnabled()
    dlg.baud_combo.setCurrentIndex(1)
    assert dlg.selection() == ConnectionChoice("philips-intellivue", emulated_monitor, 19200)


def test_unopenable_port_gives_a_reason(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dlg = ConnectionDialog(
        initial=ConnectionChoice("philips-intellivue", str(tmp_path / "ttyUSB9"), 115200), test_seconds=1.0
    )
    qtbot.addWidget(dlg)
    dlg.start_test()
    qtbot.waitUntil(lambda: dlg.last_result is not None, timeout=10000)
    assert "cannot open port" in dlg.result_label.text()
    assert dlg.last_result is not None and not dlg.last_result.ok


def test_simulator_needs_no_port(qtbot) -> None:  # type: ignore[no-untyped-def]
    dlg = ConnectionDialog(initial=ConnectionChoice("simulated", None, None))
    qtbot.addWidget(dlg)
    assert not dlg.port_combo.isEnabled() and dlg.baud_combo.count() == 0
    assert dlg.selection() == ConnectionChoice("simulated", None, None)


def test_empty_port_is_refused_without_a_test(qtbot) -> None:  # type: ignore[no-untyped-def]
    dlg = ConnectionDialog(initial=ConnectionChoice("philips-intellivue", None, None))
    qtbot.addWidget(dlg)
    dlg.port_combo.setEditText("")
    dlg.start_test()
    assert not dlg.testing and "serial port" in dlg.result_label.text()


def test_probe_reports_silence() -> None:
    master, slave = os.openpty()
    try:
        result = probe_connection("philips-intellivue", os.ttyname(slave), None, seconds=1.0)
        assert not result.ok and result.frames == 0
        assert "Nothing received" in result.summary() or "not answering" in result.summary()
    finally:
        os.close(master)
        os.close(slave)


def test_switch_between_real_monitors_within_the_session(tmp_path, emulated_monitor: str) -> None:  # type: ignore[no-untyped-def]
    """From a monitor on a port that is gone to the (emulated) IntelliVue: one record, the change noted."""
    import sqlite3
    import time
    from types import SimpleNamespace

    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.registry import create_driver
    from kapmonitor.model.clock import RealClock
    from kapmonitor.model.samples import Item, VitalSample
    from kapmonitor.pipeline import MonitoringPipeline
    from kapmonitor.recording.reader import RecordReader

    clock = RealClock()
    gone = create_driver("ge-s5", DriverOptions(port=str(tmp_path / "no-such-port")), clock)
    db = tmp_path / "session.db"
    pipeline = MonitoringPipeline(gone, db)
    seen: list[Item] = []
    pipeline.dispatcher.add_listener(SimpleNamespace(on_items=seen.extend))
    pipeline.start()
    try:
        new = create_driver("philips-intellivue", DriverOptions(port=emulated_monitor, baudrate=115200), clock)
        assert pipeline.replace_driver(new) is None
        assert pipeline.driver is new and pipeline.reader.driver is new
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            isinstance(i, VitalSample) and i.source.value == "monitor" and i.valid for i in list(seen)
        ):
            time.sleep(0.05)
    finally:
        pipeline.stop()
    con = sqlite3.connect(db)
    try:
        sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM samples")}
        assert sources == {"monitor"}
        assert con.execute("SELECT count(*) FROM device_notices WHERE code = 'monitor-changed'").fetchone()[0] == 1
        directions = {f.direction for f in RecordReader(con).raw_frames()}
        assert directions == {"rx", "tx"}
    finally:
        con.close()


@pytest.mark.parametrize(("start", "target"), [("simulated", "philips-intellivue"), ("ge-s5", "simulated")])
def test_simulated_and_real_never_share_a_record(tmp_path, monkeypatch, start: str, target: str) -> None:  # type: ignore[no-untyped-def]
    """Between the simulator and a real monitor the switch starts a new record (it used to be refused)."""
    import sqlite3

    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.registry import create_driver
    from kapmonitor.model.clock import RealClock
    from kapmonitor.pipeline import MonitoringPipeline

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    clock = RealClock()
    first = create_driver(start, DriverOptions(port=str(tmp_path / "port")), clock)
    db = tmp_path / "session.db"
    pipeline = MonitoringPipeline(first, db)
    pipeline.start()
    try:
        new_record = pipeline.replace_driver(create_driver(target, DriverOptions(port=str(tmp_path / "other")), clock))
        assert new_record is not None and new_record != db and new_record.parent == tmp_path / "data" / "sessions"
        assert pipeline.driver.name == target and pipeline.recorder.path == new_record
        assert new_record.name.endswith("-sim.db") == (target == "simulated")
    finally:
        pipeline.stop()
    for path, driver in ((db, first), (new_record, pipeline.driver)):
        con = sqlite3.connect(path)
        try:
            assert dict(con.execute("SELECT key, value FROM meta"))["simulated"] == str(int(driver.is_simulated))
            sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM samples")}
            assert sources <= ({"simulated"} if driver.is_simulated else {"monitor"})
        finally:
            con.close()


def test_busy_port_is_not_tested(qtbot) -> None:  # type: ignore[no-untyped-def]
    dlg = ConnectionDialog(
        initial=ConnectionChoice("philips-intellivue", "/dev/ttyUSB0", 115200), busy_port="/dev/ttyUSB0"
    )
    qtbot.addWidget(dlg)
    dlg.start_test()
    assert not dlg.testing and "in use by the running session" in dlg.result_label.text()

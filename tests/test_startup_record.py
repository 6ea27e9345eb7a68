"""Start-up: the record's file opens in its writer thread while the window is built. Nothing the
monitor sends meanwhile is lost (it is queued and written once the file is open), and a record that
cannot be opened still stops kapmonitor before the window shows. Real SQLite files, real threads."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.recording.database import SessionDatabaseError, open_read_only
from kapmonitor.recording.recorder import SessionRecorder


def test_the_record_holds_the_first_samples_though_its_starter_did_not_wait(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.db"
    rec = SessionRecorder(path)
    gate = threading.Event()
    real_open = rec._open_first

    def slow_open() -> sqlite3.Connection:  # the disk is slow: the file opens only once the gate opens
        gate.wait(10.0)
        return real_open()

    monkeypatch.setattr(rec, "_open_first", slow_open)
    rec.start(wait=False)  # returns while the file is not open yet
    assert not path.exists()
    first = [VitalSample(100.0 + i, Parameter.HR, 70.0 + i, Status.OK, Source.MONITOR) for i in range(5)]
    rec.on_items(first)
    gate.set()
    rec.wait_open()
    rec.wait_open()  # a second call returns at once
    assert rec.flush()
    rec.stop()
    rows = open_read_only(path).execute("SELECT t, value FROM samples ORDER BY t").fetchall()
    assert rows == [(s.time, s.value) for s in first]


def test_a_record_that_cannot_open_is_raised_by_wait_open(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    rec = SessionRecorder(other)
    rec.start(wait=False)
    with pytest.raises(SessionDatabaseError, match="not a kapmonitor session"):
        rec.wait_open()
    assert not rec.running


def test_the_window_is_not_shown_on_a_record_that_cannot_be_opened(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, monkeypatch) -> None:
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import RealClock
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    before = other.read_bytes()
    clock = RealClock()
    app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, other, None)
    with pytest.raises(SessionDatabaseError, match="not a kapmonitor session"):
        app.start(sound=False)
    assert app.window is None  # never shown
    deadline = time.monotonic() + 5.0  # monitoring stopped with it: no reader thread left
    while any(t.name.startswith("reader-") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name.startswith("reader-") for t in threading.enumerate())
    assert other.read_bytes() == before

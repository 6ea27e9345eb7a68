"""Monitoring first: after a crash, vitals and alarms run before the "Unfinished session" question
is answered; answering "Resume" takes up the unfinished record without a gap in monitoring.

The monitor is a GE S/5 played over a real pty pair by a desaturating patient (SpO2 below the
alarm limit from the first second), so an alarm is due at once.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from ge_s5_support import PtyPair, wait_for
from PySide6.QtCore import Qt

from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.emulator import SETTINGS, GeS5MonitorState
from kapmonitor.drivers.simulator import SimulatedPatient, run_patient_for
from kapmonitor.drivers.transport import open_port
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session.model import demo_setup
from kapmonitor.session.session import NurseSession

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]


def desaturated_monitor(port: str, stop: threading.Event) -> None:
    """A GE S/5 whose patient is 21 minutes into a desaturation scenario: SpO2 about 85 %."""
    start = float(math.floor(time.time()))
    patient = SimulatedPatient(start, "desaturation", 2, infusion_start=start - 21 * 60, source=Source.MONITOR)
    state = GeS5MonitorState(patient)
    link = open_port(port, SETTINGS, timeout=0.02)
    splitter = p.FrameSplitter()
    mono0 = time.monotonic()
    try:
        while not stop.is_set():
            data = link.read(max(1, link.in_waiting))
            for record in splitter.feed(data):
                state.handle(record)
            now = start + time.monotonic() - mono0
            while state.patient.next_second_time + 1 <= now:
                t, silent = state.advance()
                if not silent and state.displ_on:
                    link.write(p.frame(state.displayed_record(t + 1)))
    except (serial.SerialException, OSError):
        pass
    finally:
        link.close()


def shut(app) -> None:  # type: ignore[no-untyped-def]
    """Stop the app and take its window placer (an application-wide event filter) off the application;
    the placer's delayed re-fits have the placer as context, so none runs after the window is gone."""
    app.stop()
    placer = getattr(app, "placer", None)
    if placer is not None:
        app.qt_app.removeEventFilter(placer)


@pytest.fixture
def ge_monitor(tmp_path: Path) -> Iterator[str]:
    pair = PtyPair(tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=desaturated_monitor, args=(pair.monitor_end, stop), daemon=True)
    thread.start()
    yield pair.pc_end
    stop.set()
    thread.join(5)
    pair.close()


def unfinished_record(folder: Path) -> tuple[Path, float]:
    """A patient's session killed mid-infusion 10 minutes ago, with 10 minutes of vitals."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "20260101-100000.db"
    clock = RealClock()
    start = clock.now() - 600
    recorder = SessionRecorder(path, {"created_at": start, "simulated": 0, "driver": "ge-s5"}).start()
    items = run_patient_for(SimulatedPatient(start, "normal", seed=4, source=Source.MONITOR), 590)
    recorder.on_items(items)
    setup = dataclasses.replace(demo_setup(), pseudonym="KAP-0042", simulated=False)
    session = NurseSession(recorder, setup, clock, on_duty="AB")
    session.start_infusion(t=start + 60, who="AB", override_reason="test record")
    assert session.flush()
    recorder.stop()
    return path, start


def spo2_alarm(engine) -> bool:  # type: ignore[no-untyped-def]
    return any(a.parameter is Parameter.SPO2 and a.condition_present for a in engine.active_alarms())


def test_vitals_and_alarms_run_while_the_question_is_open_then_resume(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path, monkeypatch, ge_monitor: str
) -> None:
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.ge_s5.driver import GeS5Driver
    from kapmonitor.recording.reader import read_vitals
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    old, old_start = unfinished_record(tmp_path / "data" / "sessions")
    clock = RealClock()
    app = MonitorApplication(GeS5Driver(DriverOptions(port=ge_monitor), clock), clock, None, None)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        fresh = app.bedside.pipeline.recorder.path
        assert fresh != old and window.isVisible()
        app.offer_resume_soon().join(10)  # the records are read on a worker thread
        qtbot.waitUntil(lambda: getattr(app, "resume_question", None) is not None)
        question = app.resume_question
        assert question.isVisible() and not question.isModal()
        assert "KAP-0042" in question.list.item(0).text()
        # the question is open: vitals are shown and the desaturation alarm is raised meanwhile
        assert wait_for(lambda: (qtbot.wait(50) or True) and spo2_alarm(app.bedside.alarms), 40)
        window.refresh_fast()
        assert window.spo2_tile.value_label.text().strip().isdigit()
        assert question.isVisible()
        engine, reader = app.bedside.alarms, app.bedside.pipeline.reader

        question.resume_button.click()
        assert app.bedside.pipeline.recorder.path == old
        session = app.session_controller.session
        assert session is not None and session.setup.pseudonym == "KAP-0042"
        assert app.bedside.alarms is engine and app.bedside.pipeline.reader is reader
        assert reader.alive and spo2_alarm(engine)
        assert window.store is app.bedside.pipeline.trends and app.bedside.session_start <= old_start + 1
        times, _ = window.store.trends[Parameter.HR].snapshot()
        assert float(times[0]) < old_start + 5  # the earlier vitals are on the trend again
        resumed_at = clock.now()
        assert wait_for(lambda: (qtbot.wait(50) or True) and any(
            s.time > resumed_at and s.parameter is Parameter.SPO2 for s in read_vitals(old)), 20)
    finally:
        shut(app)
    con = sqlite3.connect(old)
    try:
        spo2 = [t for (t,) in con.execute("SELECT t FROM samples WHERE parameter = 'spo2' AND source = 'monitor' "
                                          "AND t > ? ORDER BY t", (old_start + 600,))]
        assert spo2 and spo2[0] < resumed_at - 1  # the minutes before "Resume" are in the record too
        assert con.execute("SELECT count(*) FROM alarm_log WHERE parameter = 'spo2'").fetchone()[0] >= 1
        actions = [a for (a,) in con.execute("SELECT action FROM infusion_events ORDER BY id")]
        assert actions == ["start", "recovered"]
    finally:
        con.close()


@pytest.mark.slow
def test_the_real_program_monitors_before_the_question_is_answered(tmp_path: Path, ge_monitor: str) -> None:
    """`kapmonitor run` after a crash: the fresh record fills with the monitor's values and the
    alarm while the "Unfinished session" question waits for an answer nobody gives."""
    sessions = tmp_path / "data" / "sessions"
    old, _ = unfinished_record(sessions)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DATA_DIR=str(tmp_path / "data"),
               KAPMONITOR_CONFIG_DIR=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "kapmonitor", "run", "--driver", "ge-s5", "--port", ge_monitor],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def fresh_alarmed() -> bool:
        for path in sessions.glob("*.db"):
            if path == old:
                continue
            try:
                con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    vitals = con.execute("SELECT count(*) FROM samples WHERE source = 'monitor'").fetchone()[0]
                    alarms = con.execute("SELECT count(*) FROM alarm_log WHERE parameter = 'spo2'").fetchone()[0]
                finally:
                    con.close()
            except sqlite3.Error:
                continue
            if vitals and alarms:
                return True
        return False

    try:
        assert wait_for(lambda: proc.poll() is None and fresh_alarmed(), 60, step=0.5), proc.poll()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_a_question_put_off_can_be_asked_again_from_the_session_menu(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path, monkeypatch
) -> None:
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.intellivue.driver import IntelliVueDriver
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    old, _ = unfinished_record(tmp_path / "data" / "sessions")
    clock = RealClock()
    app = MonitorApplication(IntelliVueDriver(DriverOptions(port=str(tmp_path / "no-port")), clock), clock, None, None)
    app.start(sound=False)
    try:
        qtbot.addWidget(app.window)
        question = app.offer_resume()
        qtbot.mouseClick(question.later_button, Qt.MouseButton.LeftButton)
        assert not question.isVisible() and app.bedside.pipeline.recorder.path != old
        assert app.resume_action in app.session_controller.menu.actions()
        app.resume_action.trigger()
        again = app.resume_question
        assert again is not question and again.isVisible()
        qtbot.mouseClick(again.resume_button, Qt.MouseButton.LeftButton)
        assert app.bedside.pipeline.recorder.path == old and app.session_controller.session is not None
        app.resume_action.trigger()  # nothing unfinished any more: said so, no question
        assert app.resume_question is again and "No unfinished session" in app.window.statusBar().currentMessage()
    finally:
        shut(app)

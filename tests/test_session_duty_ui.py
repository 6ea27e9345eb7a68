"""Who did it, in the running app: the nurse on duty signs in from the session panel (keyboard
only), F2/F3 and Resume alarm audio are credited to her, "not signed in" otherwise; New session
on the simulator and after discharge each go into a new record (issue 11, defects 1 and 13)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import ManualClock, RealClock
from kapmonitor.model.trends import TrendStore
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session import Phase, demo_setup
from kapmonitor.session.catalogues import NOT_SIGNED_IN
from kapmonitor.session.keeper import SessionKeeper
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.session.integration import SessionController
from kapmonitor.ui.session.setup import NewSessionDialog

T0 = 1_700_000_000.0


def rows(path: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def app(qtbot, tmp_path: Path, monkeypatch) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    clock = RealClock()
    a = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, tmp_path / "first.db", None)
    a.start(sound=False)
    qtbot.addWidget(a.window)
    try:
        yield a
    finally:
        a.stop()


def fill_new_session(qtbot, dialog: NewSessionDialog, pseudonym: str) -> None:  # type: ignore[no-untyped-def]
    for edit, text in (
        (dialog.pseudonym, pseudonym),
        (dialog.therapist, "CD"),
        (dialog.prescriber, "EF"),
        (dialog.weight, "82"),
    ):
        edit.clear()
        qtbot.keyClicks(edit, text)
    for box in (dialog.consent, dialog.escort):
        box.setFocus()
        qtbot.keyClick(box, Qt.Key.Key_Space)


def make_window(qtbot, clock: ManualClock) -> MainWindow:  # type: ignore[no-untyped-def]
    w = MainWindow(WindowFacts(TrendStore(), default_profile(), session_start=T0, now_fn=clock.now, simulated=False,
                   device="test"))
    qtbot.addWidget(w)
    return w


def test_new_session_after_discharge_goes_into_a_new_record(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    window = make_window(qtbot, clock)
    records: list[SessionRecorder] = []

    def new_record() -> SessionRecorder:
        records.append(SessionRecorder(tmp_path / f"next{len(records)}.db").start())
        return records[-1]

    with SessionRecorder(tmp_path / "first.db") as rec:
        ctl = SessionController(window, SessionKeeper(rec, clock, folder=tmp_path, new_record=new_record))
        first = ctl.start_session(demo_setup().with_changes(simulated=False, pseudonym="KAP-1"))
        assert first is not None and first.on_duty == "DN"  # she set it up: signed in, audited
        assert not ctl.new_action.isEnabled()  # one session open: no second one in its record
        first.start_infusion()
        clock.advance(40 * 60)
        first.stop_infusion()
        clock.advance(61 * 60)
        first.discharge("DN", {i.key: True for i in first.discharge_items})
        ctl.tick()
        assert ctl.new_action.isEnabled()
        ctl.new_action.trigger()
        dialog = ctl.dialog
        assert isinstance(dialog, NewSessionDialog)
        fill_new_session(qtbot, dialog, "KAP-2")
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        second = ctl.session
        assert second is not None and second is not first and second.setup.pseudonym == "KAP-2"
        assert second.phase() is Phase.BASELINE and len(records) == 1
        second.add_note("new patient")
        assert rec.flush()
        for r in records:
            assert r.flush()
            r.stop()
    assert rows(tmp_path / "first.db", "SELECT value FROM session_info WHERE key = 'pseudonym'") == [("KAP-1",)]
    assert rows(tmp_path / "first.db", "SELECT count(*) FROM clinical_events") == [(0,)]
    assert rows(tmp_path / "next0.db", "SELECT value FROM session_info WHERE key = 'pseudonym'") == [("KAP-2",)]
    assert rows(tmp_path / "next0.db", "SELECT note FROM clinical_events") == [("new patient",)]


def test_without_a_new_record_a_second_session_is_refused(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    window = make_window(qtbot, clock)
    with SessionRecorder(tmp_path / "only.db") as rec:
        ctl = SessionController(window, SessionKeeper(rec, clock, folder=tmp_path))
        first = ctl.start_session(demo_setup().with_changes(simulated=False))
        assert ctl.start_session(demo_setup().with_changes(simulated=False, pseudonym="KAP-9")) is None
        assert ctl.session is first and "new record" in ctl.status_label.text()


def test_initials_fields_are_prefilled_with_the_nurse_on_duty(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.session import NurseSession
    from kapmonitor.ui.session.events import EventsPanel
    from kapmonitor.ui.session.vitals import ManualVitalsDialog

    clock = ManualClock(T0)
    session = NurseSession.create(demo_setup().with_changes(simulated=False), clock, path=tmp_path / "p.db")
    try:
        vitals = ManualVitalsDialog(session)
        qtbot.addWidget(vitals)
        assert vitals.who_edit.text() == "" and vitals.who_edit.placeholderText() == NOT_SIGNED_IN
        session.sign_in("GH")
        panel = EventsPanel(session)
        qtbot.addWidget(panel)
        session.add_note("check")
        panel.refresh()
        panel.table.selectRow(0)
        panel.request_edit()
        assert panel.dialog is not None and panel.dialog.who_edit.text() == "GH"  # type: ignore[attr-defined]
        vitals = ManualVitalsDialog(session)
        qtbot.addWidget(vitals)
        assert vitals.who_edit.text() == "GH"  # never the set-up nurse "DN"
    finally:
        session.shutdown()


def test_a_double_tap_on_the_duty_bar_never_floats_the_panel(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    window = make_window(qtbot, clock)
    with SessionRecorder(tmp_path / "d.db") as rec:
        ctl = SessionController(window, SessionKeeper(rec, clock, folder=tmp_path))
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        qtbot.mouseDClick(ctl.duty_bar.label, Qt.MouseButton.LeftButton)
        assert not ctl.dock.isFloating()
        assert ctl.duty_bar.edit.hasFocus()


def test_limit_and_baseline_forms_are_prefilled_with_the_nurse_on_duty(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kapmonitor.alarms.engine import AlarmEngine
    from kapmonitor.ui.alarms.menu import install_alarm_ui

    clock = ManualClock(T0)
    window = make_window(qtbot, clock)
    on_duty: list[str] = [NOT_SIGNED_IN]
    ui = install_alarm_ui(window, AlarmEngine(default_profile(), clock), who_fn=lambda: on_duty[0])
    seen: list[str] = []

    def read_and_cancel() -> None:
        dialog = QApplication.activeModalWidget()
        seen.append(dialog.initials.text())  # type: ignore[union-attr]
        dialog.reject()  # type: ignore[union-attr]

    for who in (NOT_SIGNED_IN, "GH"):
        on_duty[0] = who
        for open_form in (ui.change_limit, ui.set_baseline):
            QTimer.singleShot(100, read_and_cancel)
            open_form()
    ui.close()
    assert seen == ["", "", "GH", "GH"]  # "not signed in" is never typed in for her


def test_session_menu_comes_before_help(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    window = make_window(qtbot, clock)
    with SessionRecorder(tmp_path / "m.db") as rec:
        SessionController(window, SessionKeeper(rec, clock, folder=tmp_path))
        titles = [a.text() for a in window.menuBar().actions()]
    assert titles.index("&Session") < titles.index("&Help") == len(titles) - 1


def test_alarm_actions_are_credited_to_the_nurse_on_duty(qtbot, app) -> None:  # type: ignore[no-untyped-def]
    window, ctl, engine = app.window, app.session_controller, app.bedside.alarms
    bar = ctl.duty_bar
    assert ctl.session is not None and ctl.session.on_duty is None  # the demo's "DN" is never signed in
    assert bar.text.startswith("Not signed in")
    engine.report_technical("test-one", "test alarm one", Priority.HIGH)
    qtbot.keyClick(window.alarm_bar, Qt.Key.Key_F2)  # still works with nobody signed in
    # Session > Sign in (Ctrl+I) puts the cursor in the panel's initials field: no popup
    ctl.sign_in_action.trigger()
    assert bar.edit.hasFocus() or qtbot.waitUntil(bar.edit.hasFocus, timeout=1000) is None
    qtbot.keyClicks(bar.edit, "A1")
    qtbot.keyClick(bar.edit, Qt.Key.Key_Return)
    assert bar.text == "initials are 1–4 letters" and ctl.session.on_duty is None
    bar.edit.clear()
    qtbot.keyClicks(bar.edit, "AB")
    qtbot.keyClick(bar.edit, Qt.Key.Key_Return)
    assert bar.text == "Nurse on duty: AB" and bar.edit.text() == ""
    engine.report_technical("test-two", "test alarm two", Priority.HIGH)
    qtbot.keyClick(window.alarm_bar, Qt.Key.Key_F2)
    qtbot.keyClick(window.alarm_bar, Qt.Key.Key_F3)
    app.alarm_ui.resume_audio()
    # a colleague takes over
    qtbot.keyClicks(bar.edit, "GH")
    qtbot.mouseClick(bar.button, Qt.MouseButton.LeftButton)
    engine.report_technical("test-three", "test alarm three", Priority.HIGH)
    qtbot.keyClick(window.alarm_bar, Qt.Key.Key_F2)
    path = app.bedside.pipeline.recorder.path
    assert app.bedside.pipeline.recorder.flush()
    log = rows(path, "SELECT alarm_id, event, who FROM alarm_log WHERE who IS NOT NULL OR event LIKE 'audio%'")
    acks = {(a, w) for a, e, w in log if e == "acknowledged"}
    assert ("test-one", NOT_SIGNED_IN) in acks and ("test-two", "AB") in acks and ("test-three", "GH") in acks
    assert {(e, w) for _a, e, w in log if e.startswith("audio")} >= {("audio_paused", "AB"), ("audio_resumed", "AB")}
    assert not any(w == "DN" for *_x, w in log)
    audit = rows(path, "SELECT who, action FROM audit WHERE action IN ('sign_in', 'change_nurse')")
    assert audit == [("AB", "sign_in"), ("GH", "change_nurse")]


def test_new_session_on_the_simulator_starts_a_new_record(qtbot, app) -> None:  # type: ignore[no-untyped-def]
    ctl = app.session_controller
    first = app.bedside.pipeline.recorder.path
    demo = ctl.session
    ctl.sign_in("AB")
    assert ctl.new_action.isEnabled()  # the simulator's demo session does not lock the menu
    ctl.new_action.trigger()
    dialog = ctl.dialog
    assert isinstance(dialog, NewSessionDialog) and dialog.nurse.text() == "AB"  # the nurse on duty
    fill_new_session(qtbot, dialog, "SIM-2")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    session = ctl.session
    assert session is not None and session is not demo and session.setup.pseudonym == "SIM-2"
    second = app.bedside.pipeline.recorder.path
    assert second != first and session.on_duty == "AB"
    session.add_note("second session note")
    qtbot.waitUntil(lambda: rows(second, "SELECT count(*) FROM samples")[0][0] > 0 if second.exists() else False,
                    timeout=5000)
    assert app.bedside.pipeline.recorder.flush()
    assert dict(rows(first, "SELECT key, value FROM session_info"))["pseudonym"] == "DEMO-001"  # type: ignore[arg-type]
    assert dict(rows(second, "SELECT key, value FROM session_info"))["pseudonym"] == "SIM-2"  # type: ignore[arg-type]
    assert rows(first, "SELECT count(*) FROM clinical_events") == [(0,)]
    assert rows(second, "SELECT note, who FROM clinical_events") == [("second session note", "AB")]
    assert ctl.stack.currentWidget() is ctl.panel and ctl.panel.session is session

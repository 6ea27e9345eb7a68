"""Keyboard only, through the real main window and session controller: sign in, set up a session,
baseline vitals, start, scales, stop, discharge; the record says who did what (issue 11)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.trends import TrendStore
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session import Phase
from kapmonitor.session.keeper import SessionKeeper
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.session.discharge import DischargeDialog
from kapmonitor.ui.session.integration import SessionController
from kapmonitor.ui.session.setup import NewSessionDialog
from kapmonitor.ui.session.vitals import ManualVitalsDialog

T0 = 1_700_000_000.0


def rows(path: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def type_in(qtbot, widget: QWidget, text: str, enter: bool = False) -> None:  # type: ignore[no-untyped-def]
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClicks(widget, text)
    if enter:
        qtbot.keyClick(widget, Qt.Key.Key_Return)


def press(qtbot, button: QWidget) -> None:  # type: ignore[no-untyped-def]
    """Space on a focused button: the keyboard's way to press it."""
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(button, Qt.Key.Key_Space)


def menu_key(qtbot, window: MainWindow, ctl: SessionController, key: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    """Alt+S opens the Session menu; `key` is the item's underlined letter."""
    if not window.isActiveWindow():  # the offscreen platform does not hand activation back after a dialog
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(ctl.menu.isVisible, timeout=2000)
    qtbot.keyClick(ctl.menu, key)
    qtbot.waitUntil(lambda: not ctl.menu.isVisible(), timeout=2000)


def open_dialog(ctl: SessionController) -> QDialog:
    panel = ctl.panel
    dialog = getattr(panel, "dialog", None) or ctl.dialog
    assert isinstance(dialog, QDialog)
    return dialog


def test_keyboard_only_set_up_infusion_discharge(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    window = MainWindow(WindowFacts(
            TrendStore(), default_profile(), session_start=T0, now_fn=clock.now, simulated=False,
                        device="test monitor"))
    qtbot.addWidget(window)
    path = tmp_path / "walk.db"
    with SessionRecorder(path) as rec:
        ctl = SessionController(window, SessionKeeper(rec, clock, folder=tmp_path))
        window.who_fn = ctl.who
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)

        # 1. sign in: Ctrl+I puts the cursor in the duty bar; initials and Enter
        qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(ctl.duty_bar.edit.hasFocus, timeout=2000)
        qtbot.keyClicks(QApplication.focusWidget(), "AB")
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
        assert ctl.on_duty() == "AB"

        # 2. Session > New session (Alt+S, N): the form, typed; Enter creates it
        menu_key(qtbot, window, ctl, Qt.Key.Key_N)
        setup = ctl.dialog
        assert isinstance(setup, NewSessionDialog) and setup.nurse.text() == "AB"
        type_in(qtbot, setup.pseudonym, "KAP-42")
        type_in(qtbot, setup.therapist, "CD")
        type_in(qtbot, setup.prescriber, "EF")
        type_in(qtbot, setup.weight, "70")
        press(qtbot, setup.consent)
        press(qtbot, setup.escort)
        type_in(qtbot, setup.lot, "L-1", enter=True)
        session = ctl.session
        assert session is not None and session.setup.pseudonym == "KAP-42" and session.on_duty == "AB"
        panel = ctl.panel
        assert panel is not None

        # 3. baseline vitals by hand (Alt+S, M), Enter records
        menu_key(qtbot, window, ctl, Qt.Key.Key_M)
        vitals = open_dialog(ctl)
        assert isinstance(vitals, ManualVitalsDialog)
        type_in(qtbot, vitals.edits[next(p for p in vitals.edits if p.value == "nibp_sys")], "124")
        type_in(qtbot, vitals.edits[next(p for p in vitals.edits if p.value == "nibp_dia")], "78")
        type_in(qtbot, vitals.edits[next(p for p in vitals.edits if p.value == "hr")], "72", enter=True)
        assert not vitals.isVisible()

        # 4. start with Space on Start; the first MOAA/S after 15 min
        press(qtbot, panel.infusion.start_button)
        assert session.phase() is Phase.INFUSION
        clock.advance(15 * 60)
        press(qtbot, panel.scales.moaas_buttons[4])
        clock.advance(25 * 60)
        type_in(qtbot, panel.scales.total_edits["cadss"], "14", enter=True)

        # 5. Stop: Enter in the stop question keeps the pump running; the explicit button stops it
        press(qtbot, panel.infusion.stop_button)
        stop = panel.infusion.dialog
        assert isinstance(stop, QDialog) and stop.isVisible()
        qtbot.keyClick(stop.focusWidget() or stop, Qt.Key.Key_Return)
        assert session.phase() is Phase.INFUSION and not stop.isVisible()  # Enter kept the pump running
        press(qtbot, panel.infusion.stop_button)
        stop = panel.infusion.dialog
        assert isinstance(stop, QDialog) and stop.isVisible()
        ok = getattr(stop, "ok_button", None)
        assert ok is not None
        press(qtbot, ok)
        assert session.phase() is Phase.OBSERVATION

        # 6. an hour's observation, scales and vitals again, then the discharge
        clock.advance(61 * 60)
        panel.infusion.refresh()
        panel.refresh()
        press(qtbot, panel.scales.moaas_buttons[5])
        menu_key(qtbot, window, ctl, Qt.Key.Key_M)
        vitals = open_dialog(ctl)
        type_in(qtbot, vitals.edits[next(p for p in vitals.edits if p.value == "nibp_sys")], "122")
        type_in(qtbot, vitals.edits[next(p for p in vitals.edits if p.value == "nibp_dia")], "76")
        type_in(qtbot, vitals.edits[next(p for p in vitals.edits if p.value == "hr")], "70", enter=True)
        panel.refresh()
        press(qtbot, panel.discharge_button)
        discharge = open_dialog(ctl)
        assert isinstance(discharge, DischargeDialog)
        for cb in discharge.checks.values():
            press(qtbot, cb)
        type_in(qtbot, discharge.who_edit, "AB", enter=True)  # Enter signs nothing
        assert discharge.isVisible() and not session.closed
        press(qtbot, discharge.sign_button)
        assert session.closed
        assert rec.flush()

    info = dict(rows(path, "SELECT key, value FROM session_info"))  # type: ignore[arg-type]
    assert info["status"] == "discharged" and info["pseudonym"] == "KAP-42" and info["on_duty"] == "AB"
    assert rows(path, "SELECT action, who FROM infusion_events ORDER BY id") == [
        ("start", "AB"), ("stop", "AB"), ("discharge", "AB")]
    assert rows(path, "SELECT scale, score, who FROM scales ORDER BY id") == [
        ("moaas", 4.0, "AB"), ("cadss", 14.0, "AB"), ("moaas", 5.0, "AB")]
    assert [w for (w,) in rows(path, "SELECT who FROM audit WHERE action = 'manual_entry'")] == ["AB", "AB"]
    (checklist,) = rows(path, "SELECT checklist FROM discharge")
    assert all(item["checked"] for item in json.loads(str(checklist[0]))["items"].values())
    assert ("AB", "sign_in") in rows(path, "SELECT who, action FROM audit")

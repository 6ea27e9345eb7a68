"""Alarm GUI with real widgets offscreen: bar, flashing, acknowledge and pause, countdown, dialogs."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import AlarmEventType
from kapmonitor.alarms.pin import PinStore
from kapmonitor.alarms.presentation import COLOURS, flash_on, tile_states
from kapmonitor.alarms.profile import Priority, default_profile, load_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.ui.alarms.bar import AlarmBar, AlarmBridge
from kapmonitor.ui.alarms.history import AlarmHistoryPanel
from kapmonitor.ui.alarms.limit_change_dialog import LimitChangeDialog
from kapmonitor.ui.alarms.profile_editor import ProfileEditorDialog

T0 = 1_700_000_000.0


@pytest.fixture
def engine() -> AlarmEngine:
    return AlarmEngine(default_profile(), ManualClock(T0))


def _nibp(engine: AlarmEngine, sys_: float, dia: float, mid: str) -> None:
    t = engine._clock.now()
    engine.on_items([VitalSample(t, Parameter.NIBP_SYS, sys_, measurement_id=mid),
                     VitalSample(t, Parameter.NIBP_DIA, dia, measurement_id=mid)])


def _wire(qtbot, engine: AlarmEngine) -> AlarmBar:  # type: ignore[no-untyped-def]
    bar = AlarmBar(rows=3)
    qtbot.addWidget(bar)
    bar.acknowledge_requested.connect(lambda: engine.acknowledge("AB"))
    bar.pause_requested.connect(lambda: engine.pause_audio(who="AB"))
    bar.show()
    bar.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is bar, timeout=2000)  # keys go to the active window
    return bar


def _redraw(bar: AlarmBar, engine: AlarmEngine, mono: float = 0.1) -> None:
    now = engine._clock.now()
    bar.update_from(engine.active_alarms(), engine.audio_paused_until, now, monotonic_t=mono)


def test_flash_rates_in_iec_bands() -> None:
    def rate_and_duty(p: Priority) -> tuple[float, float]:
        ts = [i / 1000 for i in range(10_000)]
        states = [flash_on(p, t) for t in ts]
        rises = sum(1 for a, b in itertools.pairwise(states) if b and not a)
        return rises / 10.0, sum(states) / len(states)

    hz, duty = rate_and_duty(Priority.HIGH)
    assert 1.4 <= hz <= 2.8 and 0.2 <= duty <= 0.6
    hz, duty = rate_and_duty(Priority.MEDIUM)
    assert 0.4 <= hz <= 0.8 and 0.2 <= duty <= 0.6
    assert all(flash_on(Priority.LOW, t / 7) for t in range(100))
    assert not flash_on(None, 0.1)


def test_bar_reacts_within_one_redraw_and_flashes(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    bar = _wire(qtbot, engine)
    _redraw(bar, engine)
    assert bar.row_texts() == [] and bar.idle_label.isVisible()
    _nibp(engine, 188, 85, "m1")
    engine._clock.advance(65)
    _redraw(bar, engine, mono=0.1)  # one redraw
    (text,) = bar.row_texts()
    assert text.startswith("*** NIBP sys 188 > 180 \u00b7 pause infusion / call physician \u00b7 1:05")
    assert "Systolic BP very high" in text
    assert COLOURS[Priority.HIGH][0] in bar.row_styles()[0]  # lit phase: red background
    _redraw(bar, engine, mono=0.35)  # off phase 0.25 s later
    assert "background: #111111" in bar.row_styles()[0]
    assert not bar.idle_label.isVisible()


def test_ack_button_and_key(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    bar = _wire(qtbot, engine)
    _nibp(engine, 165, 85, "m1")
    _redraw(bar, engine)
    assert bar.row_texts()[0].startswith("** ")
    qtbot.mouseClick(bar.ack_button, Qt.MouseButton.LeftButton)
    assert engine.active_alarms()[0].acknowledged
    _redraw(bar, engine, mono=0.9)  # acknowledged: steady, no off phase
    assert "acknowledged" in bar.row_texts()[0].split(" \u00b7 ")
    assert COLOURS[Priority.MEDIUM][0] in bar.row_styles()[0]
    assert not bar.ack_button.isEnabled()

    _nibp(engine, 190, 85, "m2")  # worse: a new acknowledgement is needed
    _redraw(bar, engine)
    qtbot.keyClick(bar, Qt.Key.Key_F2)
    acks = [e for e in engine.events() if e.event is AlarmEventType.ACKNOWLEDGED]
    assert len(acks) == 2 and acks[-1].who == "AB"


def test_pause_button_key_and_countdown(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    bar = _wire(qtbot, engine)
    _nibp(engine, 165, 85, "m1")
    _redraw(bar, engine)
    assert bar.paused_text() == ""
    qtbot.keyClick(bar, Qt.Key.Key_F3)
    assert engine.audio_state() is None
    _redraw(bar, engine)
    assert bar.paused_text() == "AUDIO PAUSED 2:00"
    engine._clock.advance(75.5)
    _redraw(bar, engine)
    assert bar.paused_text() == "AUDIO PAUSED 0:45"
    assert "audio paused" in bar.row_texts()[0]
    engine._clock.advance(60)
    engine.tick()
    _redraw(bar, engine)
    assert bar.paused_text() == "" and bar.pause_button.text() == "Audio pause (F3)"
    qtbot.mouseClick(bar.pause_button, Qt.MouseButton.LeftButton)
    assert engine.audio_paused_until == pytest.approx(engine._clock.now() + 120)


def test_many_alarms_sorted_and_overflow(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    bar = _wire(qtbot, engine)
    _nibp(engine, 165, 104, "m1")
    for i in range(4):
        engine.report_technical(f"tech-{i}", f"technical {i}", Priority.LOW)
    _redraw(bar, engine)
    texts = bar.row_texts()
    assert len(texts) == 3 and texts[0].startswith("** ") and texts[-1].startswith("* technical")
    assert bar.more_label.isVisible() and bar.more_label.text() == "+3 more"
    bar.set_notice("running on the built-in default limits")
    assert bar.notice_label.isVisible()


def test_a_long_notice_keeps_to_one_line(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    """A notice (shared output, alarm off, profile fallback) never grows the bar over the session panel:
    one line, cut with "…", the whole text on hover."""
    bar = _wire(qtbot, engine)
    bar.resize(1280, bar.sizeHint().height())
    bar.set_notice("short notice")
    qtbot.wait(20)
    one_line = bar.sizeHint().height()
    long = " \u2022 ".join(["Music and alarm sound share one output (the system default): choose the patient's "
                            "headphones under Music output, or set the alarm output in alarm_sound.toml"] * 3)
    bar.set_notice(long)
    qtbot.wait(20)
    assert bar.sizeHint().height() == one_line
    assert bar.notice_label.text() == long and long in bar.notice_label.toolTip()
    shown = bar.notice_label.shown_text()
    assert shown != long and shown.endswith("\u2026")


def test_tile_states_follow_physiological_alarms(engine: AlarmEngine) -> None:
    _nibp(engine, 165, 80, "m1")
    engine.report_technical("storage-failure", "disk", Priority.HIGH)
    assert tile_states(engine.active_alarms()) == {Parameter.NIBP_SYS: (Priority.MEDIUM, True)}
    engine.acknowledge("AB")
    assert tile_states(engine.active_alarms()) == {Parameter.NIBP_SYS: (Priority.MEDIUM, False)}


def test_history_panel_via_bridge(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    panel = AlarmHistoryPanel()
    qtbot.addWidget(panel)
    bridge = AlarmBridge()
    bridge.event_received.connect(panel.add_event)
    engine.add_listener(bridge.listener)
    _nibp(engine, 185, 80, "m1")
    engine.acknowledge("CD")
    assert panel.row_count() == 2
    top = panel.row(0)
    assert top[1] == "acknowledged" and top[-1] == "CD" and top[4] == "185" and top[5] == "180"
    panel.set_events(engine.events())
    assert panel.row_count() == 2


def test_bridge_delivers_an_alarm_from_the_reader_thread_before_queued_redraw_work(
        qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    """The alarm is not queued behind a redraw already waiting in the GUI thread (the trend's
    repaint): it is handled first, and the events keep their order."""
    bridge = AlarmBridge()
    seen: list[str] = []
    bridge.event_received.connect(lambda ev: seen.append(f"{ev.event.value} {ev.alarm_id}"))
    engine.add_listener(bridge.listener)
    QTimer.singleShot(0, lambda: seen.append("redraw"))  # queued GUI work, posted before the alarm
    reader = threading.Thread(target=lambda: _nibp(engine, 185, 80, "m1"))
    reader.start()
    reader.join(5)
    assert seen == []  # nothing runs in the reader thread's time
    qtbot.waitUntil(lambda: "redraw" in seen, timeout=2000)
    assert seen[0] == "raised nibp_sys.upper" and seen[-1] == "redraw", seen
    engine.acknowledge("CD")  # in the GUI thread: at once
    assert seen[-1] == "acknowledged nibp_sys.upper"


def test_limit_change_dialog_requires_initials_and_reason(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    dlg = LimitChangeDialog(engine.profile)
    qtbot.addWidget(dlg)
    idx = next(i for i in range(dlg.limit_box.count())
               if dlg.limit_box.itemText(i).startswith("HR \u00b7 medium \u00b7 \u2265"))
    dlg.limit_box.setCurrentIndex(idx)
    assert dlg.value_box.value() == 120
    dlg.value_box.setValue(130)
    dlg.buttons.accepted.emit()
    assert dlg.result() != QDialog.DialogCode.Accepted and "initials" in dlg.error.text()
    dlg.initials.setText("AB")
    dlg.reason.setText("resting HR 105, athlete")
    dlg.buttons.accepted.emit()
    assert dlg.result() == QDialog.DialogCode.Accepted and dlg.new_profile is not None
    changes = engine.set_profile(dlg.new_profile, dlg.who, dlg.why)
    assert [(c.parameter, c.field, c.new_value) for c in changes] == [("hr", "medium.above_or_equal", "130")]


def test_limit_change_dialog_rejects_crossed_limits(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    dlg = LimitChangeDialog(engine.profile)
    qtbot.addWidget(dlg)
    idx = next(i for i in range(dlg.limit_box.count())
               if dlg.limit_box.itemText(i).startswith("HR \u00b7 medium \u00b7 \u2264"))
    dlg.limit_box.setCurrentIndex(idx)
    dlg.value_box.setValue(125)  # lower limit above the upper limit 120
    dlg.initials.setText("AB")
    dlg.reason.setText("typo")
    dlg.buttons.accepted.emit()
    assert dlg.new_profile is None and "must be above" in dlg.error.text()


def test_profile_editor_validates_and_saves(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "clinic.toml"
    store = PinStore(tmp_path / "cfg" / "clinic_pin.json")
    store.set_pin("246810", "Admin")  # the administrator step (kapmonitor admin set-pin)
    dlg = ProfileEditorDialog(default_profile(), path, store)
    qtbot.addWidget(dlg)
    row = next(r for r in range(dlg.limits.rowCount())
               if dlg.limits.item(r, 0).text() == "spo2" and dlg.limits.item(r, 1).text() == "high")
    dlg.limits.item(row, 3).setText("eighty")
    dlg._save()
    assert "not a number" in dlg.error.text() and not path.exists()
    dlg.limits.item(row, 3).setText("86")
    dlg.fields[("behaviour", "audio_pause_max_s")].setText("3600")
    dlg._save()
    assert "capped at 900" in dlg.error.text() and not path.exists()
    dlg.fields[("behaviour", "audio_pause_max_s")].setText("600")
    dlg.fields[("profile", "signed_off_by")].setText("Dr X")
    dlg._save()
    assert dlg.result() == QDialog.DialogCode.Accepted
    saved = load_profile(path)
    (rule,) = [r for r in saved.limits if r.parameter is Parameter.SPO2 and r.priority is Priority.HIGH]
    assert rule.thresholds[0].value == 86 and rule.delay_s == 10
    assert saved.signed_off_by == "Dr X" and saved.behaviour.audio_pause_max_s == 600


def test_alarm_menu_limit_change_history_and_baseline(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMainWindow

    from kapmonitor.ui.alarms.menu import BaselineDialog, install_alarm_ui

    window = QMainWindow()
    qtbot.addWidget(window)
    changed: list[object] = []
    ui = install_alarm_ui(window, engine, who_fn=lambda: "AB", on_profile_changed=changed.append)
    assert {"history", "limit", "baseline", "resume", "profile"} <= set(ui.actions)
    _nibp(engine, 185, 80, "m1")
    qtbot.waitUntil(lambda: ui.history.row_count() == 1, timeout=2000)
    prof = engine.profile
    new = prof.with_rule(0, prof.limits[0])
    ui.apply_limit_change(new, "AB", "no-op")
    assert changed == [new]
    dlg = BaselineDialog(None)
    qtbot.addWidget(dlg)
    dlg.sys_box.setValue(80)
    dlg.dia_box.setValue(90)
    dlg.initials.setText("AB")
    dlg._accept()
    assert "below the systolic" in dlg.error.text()
    ui.close()


# -- alarm presentation on the nurse's window (issue 11: defects 2, 3, 14, 16, 20, 23) --------------
def _nurse_window(qtbot, engine: AlarmEngine, size: tuple[int, int], device: str = "GE S/5 on /dev/ttyUSB0"):  # type: ignore[no-untyped-def]
    """The nurse's window with a session dock on the right, as the app builds it."""
    from PySide6.QtWidgets import QDockWidget, QLabel

    from kapmonitor.bedside import WindowFacts
    from kapmonitor.model.trends import TrendStore
    from kapmonitor.ui.main_window import MainWindow

    window = MainWindow(WindowFacts(
            TrendStore(), engine.profile, session_start=T0, now_fn=engine._clock.now, simulated=True,
                        device=device, engine=engine, recording_text_fn=lambda: ("\u25cf recording", True)))
    qtbot.addWidget(window)
    dock = QDockWidget("Session")
    panel = QLabel("session panel")
    panel.setMinimumWidth(440)
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.refresh_fast()
    return window, dock


def _hypertensive(engine: AlarmEngine) -> None:
    """Several alarms at once, as in the hypertensive scenario: high sys and dia, an escalation,
    a latched link loss and a technical storage alarm."""
    engine.session_active(True)
    _nibp(engine, 120, 80, "m0")
    engine.start_infusion()
    engine._clock.advance(5)
    _nibp(engine, 195, 115, "m1")
    engine._clock.advance(150)  # escalated, and the link is lost (no data)
    engine.tick()
    engine.on_items([VitalSample(engine._clock.now(), Parameter.HR, 88)])  # data back: link alarm latched
    engine.report_technical("storage-failure", "Session record failing: disk full", Priority.HIGH)


@pytest.mark.parametrize("size", [(1280, 800), (1024, 700)])
def test_no_alarm_row_is_cut_mid_word(qtbot, engine: AlarmEngine, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QFontMetricsF

    from kapmonitor.alarms.presentation import full_text, is_word_boundary_prefix

    _hypertensive(engine)
    window, _ = _nurse_window(qtbot, engine, size)
    bar = window.alarm_bar
    assert bar is not None
    qtbot.waitUntil(lambda: bar._rows[0].width() > 600, timeout=2000)
    window.refresh_fast()
    rows = bar.rows()
    assert bar.row_count == 2  # an 800-px-high screen (offscreen: 600) reserves two rows
    assert len(rows) == 2 and bar.more_label.text() == "+3 more", bar.dump()
    for row in bar._rows:
        text, age = row.text(), row.shown_age
        assert is_word_boundary_prefix(text, full_text(row._parts)), bar.dump()
        assert age == row.age and age in row.full, bar.dump()  # the age keeps its column
        fm = QFontMetricsF(row.font())
        room = row.contentsRect().width()
        if row is bar._rows[-1] and bar.more_label.isVisible():  # never under the "+N more" badge
            room = bar.more_label.geometry().left() - row.geometry().left() - row.contentsRect().left()
        assert fm.horizontalAdvance(text) + 10 + fm.horizontalAdvance(age) <= room, bar.dump()
    texts = bar.shown_texts()
    bp_row = texts[0]  # the patient's alarms before the equipment's of the same priority
    assert bp_row.startswith("*** NIBP dia 115 > 110"), bar.dump()  # at least marker, parameter, value, limit
    assert texts[1].startswith("*** NIBP sys 195 > 180"), bar.dump()  # the last row, beside "+3 more"
    assert bar.shown_ages() == ["2:30", "2:30"], bar.dump()  # the age on every row, beside the badge too
    if size == (1280, 800):  # the whole action too, on the last row beside the badge as well
        for text in texts:
            assert "pause infusion / call physician" in text, bar.dump()
        assert bar.width() > 1200  # the bar spans the window, the session dock beside it does not narrow it


def test_alarm_rows_never_push_or_narrow_the_session_panel(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    window, dock = _nurse_window(qtbot, engine, (1280, 800))
    bar = window.alarm_bar
    assert bar is not None
    qtbot.wait(50)
    before = (dock.geometry(), bar.geometry(), window.centralWidget().geometry())
    _hypertensive(engine)
    engine.report_technical("x", "Session record failing: a very long explanation " * 6, Priority.HIGH)
    window.refresh_fast()
    qtbot.wait(50)
    assert (dock.geometry(), bar.geometry(), window.centralWidget().geometry()) == before
    engine.acknowledge("AB")
    engine.clear_technical("x")
    engine.clear_technical("storage-failure")
    window.refresh_fast()
    qtbot.wait(50)
    assert (dock.geometry(), bar.geometry(), window.centralWidget().geometry()) == before


def test_acknowledged_high_alarm_stays_high_with_its_raising_value(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    bar = _wire(qtbot, engine)
    _nibp(engine, 195, 85, "m1")
    engine.acknowledge("AB")
    _nibp(engine, 166, 85, "m2")  # back in the medium band
    _redraw(bar, engine, mono=0.9)
    (text,) = bar.row_texts()
    assert text.startswith("*** NIBP sys 195 > 180"), text  # never "** NIBP sys 166 ... (limit 180)"
    assert "now 166" in text and "acknowledged" in text
    assert f"background: {COLOURS[Priority.HIGH][0]}" in bar.row_styles()[0]


def test_latched_alarm_shows_the_value_that_raised_it(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    bar = _wire(qtbot, engine)
    _nibp(engine, 185, 85, "m1")
    _nibp(engine, 130, 80, "m2")  # normal again: latched
    _redraw(bar, engine)
    (text,) = bar.row_texts()
    assert text.startswith("*** NIBP sys 185 > 180") and "130" not in text
    assert "ended, acknowledge" in text


def test_technical_alarm_in_cyan_with_its_marker(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.alarms.presentation import INOP_COLOURS

    bar = _wire(qtbot, engine)
    engine.report_technical("storage-failure", "Session record failing: disk full", Priority.HIGH)
    _nibp(engine, 165, 85, "m1")
    _redraw(bar, engine, mono=0.1)
    texts, styles = bar.row_texts(), bar.row_styles()
    inop = texts.index(next(t for t in texts if "Session record failing" in t))
    assert texts[inop].startswith("*** Session record failing")
    assert f"background: {INOP_COLOURS[0]}" in styles[inop] and f"solid {COLOURS[Priority.HIGH][0]}" in styles[inop]
    clinical = 1 - inop
    assert f"background: {COLOURS[Priority.MEDIUM][0]}" in styles[clinical]


def test_a_tap_on_a_row_shows_its_whole_text(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QToolTip

    bar = _wire(qtbot, engine)
    bar.resize(500, bar.height())
    _nibp(engine, 195, 85, "m1")
    _redraw(bar, engine)
    full, shown = bar.rows()[0]
    assert shown != full and shown.endswith("\u2026")
    row = bar._rows[0]
    assert "Systolic BP very high" in row.toolTip()
    QToolTip.hideText()
    assert "Systolic BP very high" not in QToolTip.text()
    qtbot.mouseClick(row, Qt.MouseButton.LeftButton)
    assert "Systolic BP very high" in QToolTip.text()  # the whole text, without hovering


def test_alarm_text_is_at_least_28_px_and_grows_with_the_screen(qtbot) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.ui import theme
    from kapmonitor.ui.alarms.bar import rows_for_screen

    assert rows_for_screen(800) == 2 and rows_for_screen(700) == 2 and rows_for_screen(1080) == 3
    assert theme.scale_for(1280, 800) == 1.0 and theme.scale_for(1024, 700) == 1.0
    assert theme.scale_for(3840, 2160) == pytest.approx(2.7)
    small = AlarmBar(scale=theme.scale_for(1280, 800))
    big = AlarmBar(scale=theme.scale_for(3840, 2160))
    qtbot.addWidget(small)
    qtbot.addWidget(big)
    assert small.row_font_px() >= 28
    assert big.row_font_px() >= 75 and big.ack_button.font().pixelSize() > small.ack_button.font().pixelSize()
    default = AlarmBar()  # the screen the test runs on: never below 28 px
    qtbot.addWidget(default)
    assert default.row_font_px() >= 28


def test_status_bar_keeps_link_and_recording_after_f2_and_f5(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    window, _ = _nurse_window(qtbot, engine, (1280, 800))
    window.acknowledge_alarms()  # F2
    assert window.link_label.isVisible() and "Link" in window.link_label.text()
    assert window.recording_label.isVisible() and window.recording_label.text() == "\u25cf recording"
    assert window.message_label.text() == "nothing to acknowledge"
    window._on_nibp_now()  # F5 on a monitor that cannot start the cuff
    assert "NIBP" in window.message_label.text()
    assert window.link_label.isVisible() and window.recording_label.isVisible()
    window.statusBar().showMessage("a menu's status tip")  # anyone's message goes to the message label
    assert window.message_label.text() == "a menu's status tip" and window.link_label.isVisible()


def test_a_long_device_name_never_pushes_the_clock_off(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    name = "Philips IntelliVue MX800 (LAN 192.168.100.42, bed 7, anaesthesia recovery unit east wing)"
    window, _ = _nurse_window(qtbot, engine, (1024, 700), device=name)
    qtbot.wait(50)
    status = window.statusBar()
    clock = window.clock_label
    assert clock.isVisible() and clock.text().startswith("Session")
    assert clock.geometry().right() <= status.width() and clock.width() >= clock.sizeHint().width()
    assert window.device_label.toolTip() == name
    assert window.device_label.shown_text().endswith("\u2026") and window.device_label.width() < 400


def test_every_font_grows_with_a_maximised_4k_window(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    """A window maximised on a 3840x2160 screen: the alarm bar, the session panel, the tiles and the
    status bar grow with it, not only the tile values (defect 23); back at 1280x800, as designed."""
    from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget

    from kapmonitor.ui.session.common import apply_session_style, big_font

    window, dock = _nurse_window(qtbot, engine, (1280, 800))
    panel = QWidget()
    apply_session_style(panel)
    title = QLabel("Infusion")
    title.setFont(big_font(30))
    plain = QLabel("Racemic ketamine IV 0.5 mg/kg")
    plain.setObjectName("dim")  # styled by name in the session style sheet (font-size: 15px)
    box = QVBoxLayout(panel)
    box.addWidget(title)
    box.addWidget(plain)
    assert isinstance(dock, QDockWidget)
    dock.setWidget(panel)
    bar = window.alarm_bar
    assert bar is not None

    def fonts() -> list[float]:
        return [bar.row_font_px(), bar.ack_button.font().pixelSize(), window.hr_tile._label.font().pixelSize(),
                title.font().pixelSize(), panel.font().pixelSize(), plain.fontInfo().pixelSize(),
                window.clock_label.font().pixelSize()]

    window.rescale_fonts()
    small = fonts()
    assert small[0] >= 28 and bar.height() < 100 and bar.row_count == 2
    window.resize(3840, 2100)
    qtbot.waitUntil(lambda: window.width() == 3840, timeout=2000)
    big = fonts()
    for s_px, b_px in zip(small, big, strict=True):
        assert b_px >= 2.4 * s_px, (small, big)
    assert bar.row_count == 3  # a tall window reserves a third row
    qtbot.waitUntil(lambda: bar.height() > 3.4 * 74, timeout=2000)  # its rows grew with their text
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=2000)
    assert fonts() == small and bar.row_count == 2


def test_the_more_badge_opens_the_alarm_history(qtbot, engine: AlarmEngine) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.ui.alarms.menu import install_alarm_ui

    window, _ = _nurse_window(qtbot, engine, (1280, 800))
    ui = install_alarm_ui(window, engine, who_fn=lambda: "AB", on_profile_changed=lambda _p: None)
    _hypertensive(engine)
    window.refresh_fast()
    bar = window.alarm_bar
    assert bar is not None and bar.more_label.isVisible()
    assert not ui.history.isVisible()
    qtbot.mouseClick(bar.more_label, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(ui.history.isVisible, timeout=2000)
    assert ui.history.row_count() >= 5  # every alarm's events, not only the two rows
    ui.close()


def test_an_alarm_reaches_the_bar_on_its_event_not_on_the_next_redraw_tick(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The engine raises from the reader thread; the bar and the tile show it as soon as the GUI thread
    handles the queued event, even when no redraw tick comes (here the fast timer is 60 s away)."""
    import threading

    from kapmonitor.bedside import WindowFacts
    from kapmonitor.model.trends import TrendStore
    from kapmonitor.ui.main_window import MainWindow

    clock = ManualClock(T0)
    engine = AlarmEngine(default_profile(), clock)
    store = TrendStore()
    window = MainWindow(WindowFacts(store, default_profile(), session_start=T0, now_fn=clock.now, simulated=False,
                                    device="test", engine=engine))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.start()
    window.fast_timer.setInterval(60_000)  # still running, but no tick comes during the test
    window.fast_timer.start()
    assert window.alarm_bar is not None and window.alarm_bar.row_texts() == []
    reader = threading.Thread(target=_nibp, args=(engine, 195.0, 95.0, "m1"))
    reader.start()
    reader.join()
    qtbot.waitUntil(lambda: window.alarm_bar is not None and bool(window.alarm_bar.row_texts()), timeout=1000)
    assert window.alarm_bar.row_texts()[0].startswith("***")
    assert window.nibp_tile.alarm_priority is Priority.HIGH
    window.close()  # the window leaves the engine: a later event reaches no deleted widget
    assert len(engine._listeners) == 0

"""A pulse oximeter has no NIBP: the nurse's NIBP tile says so and offers manual entry (real widgets)."""

from __future__ import annotations

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.drivers.masimo.driver import MasimoAscii1Driver
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import NO_NIBP_TEXT, MainWindow

T0 = 1_800_000_000.0


def make_window(qtbot, store: TrendStore) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(WindowFacts(store, default_profile(), session_start=T0, now_fn=lambda: T0 + 60, simulated=False,
                        device="Masimo"))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    return window


def test_pulse_oximeter_nibp_tile_says_no_nibp_and_offers_manual_entry(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    window = make_window(qtbot, store)
    opened: list[bool] = []
    window.set_nibp_source(MasimoAscii1Driver.has_nibp, lambda: opened.append(True))
    window.refresh_fast()
    tile = window.nibp_tile
    assert tile.note_label.isVisible() and tile.note_label.text() == NO_NIBP_TEXT
    assert NO_NIBP_TEXT == "no NIBP from this monitor \u2014 enter manually"
    assert tile.note_button.isVisible() and "manually" in tile.note_button.text()
    qtbot.mouseClick(tile.note_button, qtbot_button())
    assert opened == [True]
    # the value area still fits beside the note (never squeezed into the note)
    assert tile.value_label.geometry().bottom() <= tile.note_label.geometry().top()
    # a value entered by hand shows as MANUAL; the note stays, since the monitor still has no NIBP
    mid = "manual-1"
    store.on_items([VitalSample(T0 + 30, p, v, Status.OK, Source.MANUAL, mid)
                    for p, v in ((Parameter.NIBP_SYS, 128.0), (Parameter.NIBP_DIA, 82.0))])
    window.refresh_fast()
    assert tile.value_label.text() == "128/82" and tile.manual
    assert tile.note_label.isVisible()


def test_monitor_with_nibp_has_no_note(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, TrendStore())
    window.set_nibp_source(False, lambda: True)
    window.set_nibp_source(SimulatedMonitor.has_nibp, None)  # switched to a monitor with a cuff
    window.refresh_fast()
    assert not window.nibp_tile.note_label.isVisible() and not window.nibp_tile.note_button.isVisible()
    assert window.nibp_tile.detail_label.text() == "no measurement yet"


def test_no_session_open_says_why_nothing_opens(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, TrendStore())
    window.set_nibp_source(False, lambda: False)
    window.nibp_tile.note_button.click()
    assert "session" in window.statusBar().currentMessage()


def qtbot_button():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton

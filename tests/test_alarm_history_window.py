"""The Alarm history window closes with Escape, like every dialog (issue 11 defect 22)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMainWindow

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.ui.alarms.menu import install_alarm_ui

T0 = 1_700_000_000.0


def test_escape_closes_alarm_history_opened_from_the_menu(qtbot) -> None:  # type: ignore[no-untyped-def]
    engine = AlarmEngine(default_profile(), ManualClock(T0))
    window = QMainWindow()
    qtbot.addWidget(window)
    ui = install_alarm_ui(window, engine, who_fn=lambda: "AB")
    engine.on_items([VitalSample(T0, Parameter.NIBP_SYS, 190, measurement_id="m1"),
                     VitalSample(T0, Parameter.NIBP_DIA, 80, measurement_id="m1")])
    qtbot.waitUntil(lambda: ui.history.row_count() >= 1, timeout=2000)
    window.show()
    ui.actions["history"].trigger()
    history = ui.history
    assert history.isVisible()
    history.activateWindow()
    history.table.setFocus()
    history.table.selectRow(0)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is history, timeout=2000)
    qtbot.keyClick(QApplication.focusWidget() or history.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not history.isVisible(), timeout=2000)
    assert window.isVisible()  # only the history closed
    ui.actions["history"].trigger()  # and it opens again with its rows
    assert history.isVisible() and history.row_count() >= 1
    ui.close()


def test_every_cell_shows_its_whole_text_on_hover(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QToolTip

    from kapmonitor.ui.alarms.history import COLUMNS, AlarmHistoryPanel

    engine = AlarmEngine(default_profile(), ManualClock(T0))
    engine.on_items([VitalSample(T0, Parameter.NIBP_SYS, 190, measurement_id="m1"),
                     VitalSample(T0, Parameter.NIBP_DIA, 80, measurement_id="m1")])
    panel = AlarmHistoryPanel()
    qtbot.addWidget(panel)
    panel.set_events(engine.events())
    panel.resize(560, 300)  # as narrow as beside the vitals at 1280 x 800
    panel.show()
    qtbot.waitExposed(panel)
    column = COLUMNS.index("Message")
    item = panel.table.item(0, column)
    assert item is not None and item.text()
    rect = panel.table.visualItemRect(item)
    where = rect.center()
    viewport = panel.table.viewport()
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.Type.ToolTip, where, viewport.mapToGlobal(where)))
    qtbot.waitUntil(lambda: QToolTip.text() == item.text(), timeout=2000)
    QToolTip.hideText()

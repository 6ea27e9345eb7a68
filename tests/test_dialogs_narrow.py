"""Dialogs squeezed beside the vitals (about 560 px at 1280x800) wrap their texts instead of cutting
them (issue 11): the export dialog's de-identify explanation, the alarm history's messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.ui import theme
from kapmonitor.ui.alarms.history import AlarmHistoryPanel
from kapmonitor.ui.export.dialog import ExportDialog

T0 = 1_700_000_000.0


@pytest.fixture(autouse=True)
def themed(qapp) -> Iterator[QApplication]:  # type: ignore[no-untyped-def]
    """The application font and theme kapmonitor runs with (texts as wide as on the bedside screen)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    sheet, palette, font = app.styleSheet(), app.palette(), app.font()
    theme.apply_application_font(app)
    yield app
    app.setStyleSheet(sheet)
    app.setPalette(palette)
    app.setFont(font)


def cut_texts(window: QWidget) -> list[str]:
    """Visible one-line texts (labels without word wrap, check boxes, buttons) wider than their widget,
    and wrapped labels taller than their widget."""
    cut = []
    for w in window.findChildren(QWidget):
        if not w.isVisible():
            continue
        if isinstance(w, QLabel) and w.text() and w.textFormat() != Qt.TextFormat.RichText:
            room = w.contentsRect()
            needed = (w.fontMetrics().boundingRect(QRect(0, 0, room.width(), 10_000), Qt.TextFlag.TextWordWrap,
                                                   w.text()) if w.wordWrap()
                      else w.fontMetrics().boundingRect(w.text()))
            if needed.width() > room.width() + 1 or needed.height() > room.height() + 1:
                cut.append(f"{w.text()!r}: {needed.size()} in {room.size()}")
        elif isinstance(w, QAbstractButton) and w.text():
            indicator = 28 if not type(w).__name__.endswith("PushButton") else 0
            if w.fontMetrics().horizontalAdvance(w.text()) + indicator > w.width():
                cut.append(f"{w.text()!r}: {w.width()} px")
    return cut


def test_the_export_dialog_beside_the_vitals_cuts_no_text(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = ExportDialog(tmp_path / "s.db", out_dir=tmp_path / "out")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.resize(560, dialog.height())
    qtbot.waitUntil(lambda: dialog.width() <= 600, timeout=2000)
    qtbot.wait(50)
    assert dialog.width() <= 600, "the dialog fits the room beside the vitals at 1280x800"
    assert cut_texts(dialog) == []


def test_alarm_history_beside_the_vitals_wraps_its_messages(qtbot) -> None:  # type: ignore[no-untyped-def]
    engine = AlarmEngine(default_profile(), ManualClock(T0))
    panel = AlarmHistoryPanel()
    qtbot.addWidget(panel)
    engine.on_items([VitalSample(T0, Parameter.NIBP_SYS, 195, measurement_id="m1"),
                     VitalSample(T0, Parameter.NIBP_DIA, 80, measurement_id="m1")])
    engine.report_technical("storage-failure", "Session record failing: disk full, the last 12 s are kept in "
                            "memory until space is freed", Priority.HIGH)
    panel.set_events(engine.events())
    panel.resize(560, 400)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.wait(50)
    table = panel.table
    message = table.horizontalHeader().logicalIndex(6)
    assert table.rowCount() >= 1
    for row in range(table.rowCount()):
        for col in range(table.columnCount()):
            if table.isColumnHidden(col):
                continue
            item = table.item(row, col)
            rect = table.visualRect(table.model().index(row, col))
            needed = table.fontMetrics().boundingRect(QRect(0, 0, rect.width() - 8, 10_000), Qt.TextFlag.TextWordWrap,
                                                      item.text())
            assert needed.width() <= rect.width() and needed.height() <= rect.height(), (
                f"{item.text()!r} cut in a {rect.size()} cell (needs {needed.size()})")
    assert table.columnWidth(message) >= 150  # the message has room to be read, not one word a line

"""The alarm history panel: every alarm state change of the session, newest first.

Fed from the engine through `AlarmBridge.event_received` (queued into the GUI thread) and,
when opened late, from `engine.events()`. GUI thread only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from kapmonitor.alarms.model import AlarmEvent, AlarmKind
from kapmonitor.alarms.presentation import COLOURS

COLUMNS = ("Time", "Event", "Priority", "Alarm", "Value", "Limit", "Message", "By")
MAX_ROWS = 5000
NARROW_PX = 800  # below this width the alarm id column is hidden (messages wrap instead)


def _time_text(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%H:%M:%S")


class AlarmHistoryPanel(QWidget):
    """A read-only table of AlarmEvents."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Message"), QHeaderView.ResizeMode.Stretch)
        # beside the vitals the window is narrow: a message wraps onto more lines instead of being cut
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        # as its own window it closes with Escape like a dialog (focus is usually in the table)
        self.close_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.close_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.close_shortcut.activated.connect(self._close_if_window)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Narrow (beside the vitals): the alarm id column goes, its message says the same."""
        super().resizeEvent(event)
        self.table.setColumnHidden(COLUMNS.index("Alarm"), event.size().width() < NARROW_PX)

    def _close_if_window(self) -> None:
        if self.isWindow():
            self.close()

    def set_events(self, events: Iterable[AlarmEvent]) -> None:
        self.table.setRowCount(0)
        for ev in events:
            self.add_event(ev)

    def add_event(self, ev: AlarmEvent) -> None:
        """Insert one event at the top (slot for AlarmBridge.event_received)."""
        self.table.insertRow(0)
        cells = (
            _time_text(ev.time),
            ev.event.value.replace("_", " "),
            f"{ev.priority.marker} {ev.priority.label}" if ev.kind is not AlarmKind.SYSTEM else "",
            ev.alarm_id,
            "" if ev.value is None else f"{ev.value:g}",
            "" if ev.limit is None else f"{ev.limit:g}",
            ev.message,
            ev.who or "",
        )
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)  # the whole text on hover too
            if col == 2 and ev.kind is not AlarmKind.SYSTEM:
                item.setForeground(QBrush(QColor(COLOURS[ev.priority][0])))
            item.setData(Qt.ItemDataRole.UserRole, ev.time)
            self.table.setItem(0, col, item)
        if self.table.rowCount() > MAX_ROWS:
            self.table.setRowCount(MAX_ROWS)

    def row_count(self) -> int:
        return self.table.rowCount()

    def row(self, index: int) -> list[str]:
        out = []
        for c in range(self.table.columnCount()):
            item = self.table.item(index, c)
            out.append(item.text() if item is not None else "")
        return out

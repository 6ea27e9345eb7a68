"""A row of controls that reflows into as many rows as its width needs (the therapist's window beside the
nurse's vitals is about 520 px wide; on a second screen it is wide again).

`ReflowGrid` lays its widgets out in equal columns: as many as fit side by side at their preferred
width, at least one. Its minimum width is the widest widget; its height follows the number of rows
(re-counted on every resize), so a narrow window gets two or three rows of whole buttons instead of
clipped ones.
GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QWidget


class ReflowGrid(QWidget):
    """Widgets in equal columns that wrap to more rows when the grid is narrow."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QWidget] = []
        self._columns = 0
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(spacing)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def add(self, widget: QWidget) -> None:
        self._items.append(widget)
        self._arrange(self.columns_for(self.width()) if self.width() > 0 else len(self._items))

    def items(self) -> list[QWidget]:
        return list(self._items)

    def _cell(self) -> QSize:
        size = QSize(1, 1)
        for w in self._items:
            size = size.expandedTo(w.sizeHint()).expandedTo(w.minimumSizeHint()).expandedTo(w.minimumSize())
        return size

    def columns_for(self, width: int) -> int:
        """How many columns of whole widgets fit `width` pixels (at least one)."""
        if not self._items:
            return 1
        step = self._cell().width() + self._grid.spacing()
        return max(1, min(len(self._items), (width + self._grid.spacing()) // step))

    def columns(self) -> int:
        return self._columns

    def _rows(self, columns: int) -> int:
        return -(-len(self._items) // max(1, columns))

    def _arrange(self, columns: int) -> None:
        if columns == self._columns and all(self._grid.indexOf(w) >= 0 for w in self._items):
            return
        self._columns = columns
        for w in self._items:
            self._grid.removeWidget(w)
        for c in range(len(self._items)):
            self._grid.setColumnStretch(c, 1 if c < columns else 0)
        for i, w in enumerate(self._items):
            self._grid.addWidget(w, i // columns, i % columns)
        self.updateGeometry()

    def _height(self) -> int:
        rows = self._rows(self._columns or len(self._items))
        return rows * self._cell().height() + max(0, rows - 1) * self._grid.spacing()

    def sizeHint(self) -> QSize:
        cell, n = self._cell(), max(1, len(self._items))
        return QSize(n * cell.width() + (n - 1) * self._grid.spacing(), self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(self._cell().width(), self._height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._arrange(self.columns_for(event.size().width()))
        super().resizeEvent(event)

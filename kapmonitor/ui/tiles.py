"""Large numeric tiles for the nurse's screen, legible from two metres.

A tile shows its parameter's colour while the value is within limits. Outside them it takes
the alarm colour of the violated priority; `set_alarm(priority, flash_on)` lets the alarm
system make it flash in step with the alarm bar. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kapmonitor.alarms.profile import Priority
from kapmonitor.ui import theme

ALARM_COLOURS = {Priority.HIGH: theme.ALARM_HIGH, Priority.MEDIUM: theme.ALARM_MEDIUM, Priority.LOW: theme.ALARM_LOW}
NO_VALUE = "\u2014"  # em dash: no valid value
MIN_VALUE_PX = 40


def _font(px: int, bold: bool = False) -> QFont:
    font = QFont(theme.FONT_FAMILY)
    font.setPixelSize(px)
    font.setBold(bold)
    return font


class NumericTile(QFrame):
    """Label, big value, unit and one line of detail (limits, age, source)."""

    def __init__(self, label: str, unit: str, colour: str, value_px: int = 88, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self.colour = colour
        self.alarm_priority: Priority | None = None
        self.flash_on = False
        self._label = QLabel(label)
        self._label.setFont(_font(22, bold=True))
        self._unit = QLabel(unit)
        self._unit.setFont(_font(16))
        self._limits = QLabel("")
        self._limits.setFont(_font(14))
        self._limits.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        self._limits.setToolTip("medium-priority alarm limits")
        self.value_label = QLabel(NO_VALUE)
        self._min_value_px = value_px
        self._sample_text = "888/888" if value_px < 80 else "888"
        self.value_label.setFont(_font(value_px, bold=True))
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.detail_label = QLabel("")
        self.detail_label.setFont(_font(16))
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.detail_label.setWordWrap(False)

        top = QHBoxLayout()
        top.addWidget(self._label)
        top.addSpacing(8)
        top.addWidget(self._unit, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self._limits)
        bottom.addStretch(1)
        bottom.addWidget(self.detail_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.value_label, 1)
        layout.addLayout(bottom)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._apply_style()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Fit the value to the tile: as large as the tile allows (large screens), smaller in a narrow column."""
        super().resizeEvent(event)
        room_w = max(1, self.width() - 40)
        room_h = max(1, self.height() - 90)
        px = MIN_VALUE_PX
        for candidate in range(MIN_VALUE_PX, 400, 4):
            metrics = QFontMetrics(_font(candidate, bold=True))
            if metrics.horizontalAdvance(self._sample_text) > room_w or metrics.height() > room_h:
                break
            px = candidate
        if self.value_label.font().pixelSize() != px:
            self.value_label.setFont(_font(px, bold=True))

    def set_value(self, text: str) -> None:
        if self.value_label.text() != text:
            self.value_label.setText(text)

    def set_detail(self, text: str) -> None:
        if self.detail_label.text() != text:
            self.detail_label.setText(text)

    def set_limits_text(self, text: str) -> None:
        self._limits.setText(text)

    def set_alarm(self, priority: Priority | None, flash_on: bool = True) -> None:
        """Show the alarm colour of `priority` (None: within limits). `flash_on` False draws the off phase."""
        if priority == self.alarm_priority and flash_on == self.flash_on:
            return
        self.alarm_priority = priority
        self.flash_on = flash_on
        self._apply_style()

    def _apply_style(self) -> None:
        if self.alarm_priority is not None and self.flash_on:
            bg, fg, border = ALARM_COLOURS[self.alarm_priority], "#000000", ALARM_COLOURS[self.alarm_priority]
        elif self.alarm_priority is not None:
            bg, fg, border = theme.PANEL, self.colour, ALARM_COLOURS[self.alarm_priority]
        else:
            bg, fg, border = theme.PANEL, self.colour, theme.PANEL_BORDER
        self.setStyleSheet(
            f"QFrame#tile {{ background: {bg}; border: 3px solid {border}; border-radius: 8px; }}"
            f"QFrame#tile QLabel {{ color: {fg}; background: transparent; border: 0; }}"
        )
        palette = self.value_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(fg))
        self.value_label.setPalette(palette)

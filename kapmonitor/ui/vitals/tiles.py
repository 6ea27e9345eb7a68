"""Large numeric tiles for the nurse's screen, legible from two metres.

A tile shows its parameter's colour; the alarm system colours it (`set_alarm(priority, flash_on)`,
from alarms/presentation.py), so the tile and the alarm bar always agree. Each text has a line of
its own (name, unit and limits on top; the big value; a MANUAL mark and one detail line below), so
texts never run into each other: a text too long for its line is cut at a whole word with "…" and
shown whole on hover (ui/elided.py). GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.profile import Priority
from kapmonitor.ui import theme
from kapmonitor.ui.elided import ElidedLabel

ALARM_COLOURS = {Priority.HIGH: theme.ALARM_HIGH, Priority.MEDIUM: theme.ALARM_MEDIUM, Priority.LOW: theme.ALARM_LOW}
NO_VALUE = "\u2014"  # em dash: no valid value
MIN_VALUE_PX = 40
MANUAL_TEXT = "MANUAL"


def _font(px: int, bold: bool = False, scaled: bool = True) -> QFont:
    """`px` as designed for 1280x800, grown with the screen unless `scaled` is False (already fitted)."""
    font = QFont(theme.FONT_FAMILY)
    font.setPixelSize(theme.scaled_px(px) if scaled else px)
    font.setBold(bold)
    return font


class NumericTile(QFrame):
    """Name, unit and limits; the big value; a MANUAL mark and one line of detail (age, status)."""

    def __init__(self, label: str, unit: str, colour: str, value_px: int = 88, parent: QWidget | None = None,
                 compact: bool = False, defer_style: bool = False) -> None:
        """`compact`: a half-width tile (RR, EtCO2 side by side): smaller name and unit, narrower margins.
        `defer_style`: the owner calls `apply_style()` once the tile sits in its window (a style sheet set
        before is matched again when the tile moves into the window: ~10 ms more before the first paint);
        a tile shown before that call is coloured as it shows, never drawn without its colours."""
        super().__init__(parent)
        self.setObjectName("tile")
        self.colour = colour
        self.alarm_priority: Priority | None = None
        self.flash_on = False
        self.manual = False
        self._label = QLabel(label)
        self._label.setFont(_font(18 if compact else 22, bold=True))
        self._unit = QLabel(unit)
        self._unit.setFont(_font(14 if compact else 16))
        self.manual_label = QLabel(MANUAL_TEXT)
        self.manual_label.setObjectName("manual")
        self.manual_label.setFont(_font(13, bold=True))
        self.manual_label.setToolTip("entered by hand, not measured by the monitor")
        self.manual_label.setVisible(False)
        self.manual_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # border 2 + padding 4 on each side (style below), fixed: the text is never clipped
        self.manual_label.setFixedWidth(self.manual_label.fontMetrics().horizontalAdvance(MANUAL_TEXT) + 16)
        self._limits = ElidedLabel("", "medium-priority alarm limits")
        self._limits.setFont(_font(14))
        self._limits.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom)
        self.value_label = QLabel(NO_VALUE)
        self._min_value_px = value_px
        self._sample_text = "888/888" if value_px < 80 else "888"
        self.value_label.setFont(_font(value_px, bold=True))
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.detail_label = ElidedLabel("")
        self.detail_label.setFont(_font(16))
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        for fixed in (self._label, self._unit):  # only the limits give way
            fixed.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self._label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addWidget(self._unit, 0, Qt.AlignmentFlag.AlignBottom)
        top.addWidget(self._limits, 1, Qt.AlignmentFlag.AlignBottom)
        bottom = QHBoxLayout()
        bottom.setSpacing(8)
        bottom.addWidget(self.manual_label, 0, Qt.AlignmentFlag.AlignVCenter)
        bottom.addWidget(self.detail_label, 1)
        self._layout = QVBoxLayout(self)
        side = 10 if compact else 14
        self._layout.setContentsMargins(side, 8, side, 8)
        self._layout.setSpacing(0)
        self._layout.addLayout(top)
        self._layout.addWidget(self.value_label, 1)
        self._layout.addLayout(bottom)
        # a note with an action under the value (e.g. a pulse oximeter: "no NIBP from this monitor")
        self.note_label = QLabel("")
        self.note_label.setObjectName("note")
        self.note_label.setFont(_font(16, bold=True))
        self.note_label.setWordWrap(True)
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note_label.setVisible(False)
        self.note_button = QPushButton("")
        self.note_button.setFont(_font(16))
        self.note_button.setVisible(False)
        self.note_button.clicked.connect(self._on_note_action)
        self._note_action: Callable[[], object] | None = None
        self._layout.addWidget(self.note_label)
        self._layout.addWidget(self.note_button)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._styled = False
        if not defer_style:
            self._apply_style()
        self._fit_minimum_height()

    def _fit_minimum_height(self) -> None:
        """Never squeezed below a readable value: the name line, the smallest value, the detail line."""
        top_h = self._label.sizeHint().height()
        bottom_h = max(self.detail_label.sizeHint().height(), self.manual_label.sizeHint().height())
        value_h = QFontMetrics(_font(MIN_VALUE_PX, bold=True, scaled=False)).height()
        self.setMinimumHeight(8 + 8 + 6 + top_h + value_h + bottom_h)

    def apply_style(self) -> None:
        """Colour the tile now if it was made with `defer_style` and is not coloured yet."""
        if not self._styled:
            self._apply_style()
            self._fit_minimum_height()  # the MANUAL tag's frame comes with the style sheet

    def showEvent(self, event: QShowEvent) -> None:
        self.apply_style()  # a deferred tile shown before its owner styled it
        super().showEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Fit the value to the tile: as large as the tile allows (large screens), smaller in a narrow column."""
        super().resizeEvent(event)
        margins = self._layout.contentsMargins()
        top_h = self._label.sizeHint().height()
        inside = self.contentsRect()  # within the border
        room_w = max(1, inside.width() - margins.left() - margins.right() - 6)
        bottom_h = max(self.detail_label.sizeHint().height(), self.manual_label.sizeHint().height())
        note_h = sum(w.heightForWidth(room_w) if w.hasHeightForWidth() else w.sizeHint().height()
                     for w in (self.note_label, self.note_button) if not w.isHidden())
        room_h = max(1, inside.height() - margins.top() - margins.bottom() - top_h - bottom_h - note_h)
        px = MIN_VALUE_PX
        for candidate in range(MIN_VALUE_PX, 400, 4):
            metrics = QFontMetrics(_font(candidate, bold=True, scaled=False))
            if metrics.horizontalAdvance(self._sample_text) > room_w or metrics.height() > room_h:
                break
            px = candidate
        if self.value_label.font().pixelSize() != px:
            self.value_label.setFont(_font(px, bold=True, scaled=False))

    def label_text(self) -> str:
        return self._label.text()

    def set_label(self, text: str, tooltip: str = "") -> None:
        """Rename the tile (the HR tile says "PR" while it shows the pulse rate in place of HR)."""
        if self._label.text() != text:
            self._label.setText(text)
        if self._label.toolTip() != tooltip:
            self._label.setToolTip(tooltip)

    def set_value(self, text: str) -> None:
        if self.value_label.text() != text:
            self.value_label.setText(text)

    def set_detail(self, text: str) -> None:
        if self.detail_label.text() != text:
            self.detail_label.setText(text)

    def set_limits_text(self, text: str) -> None:
        self._limits.setText(text)

    def limits_text(self) -> str:
        return self._limits.text()

    def set_note(self, text: str, action_text: str = "", action: Callable[[], object] | None = None) -> None:
        """A wrapped note under the value and, with `action`, a button for it; "" hides both."""
        self.note_label.setText(text)
        self.note_label.setVisible(bool(text))
        self._note_action = action if text else None
        self.note_button.setText(action_text)
        self.note_button.setVisible(bool(text) and action is not None)
        self.resizeEvent(QResizeEvent(self.size(), self.size()))  # the value gives the note its room

    def _on_note_action(self) -> None:
        if self._note_action is not None:
            self._note_action()

    def set_manual(self, manual: bool) -> None:
        """Mark the value as entered by hand (a MANUAL tag on the detail line)."""
        if manual != self.manual:
            self.manual = manual
            self.manual_label.setVisible(manual)

    def set_alarm(self, priority: Priority | None, flash_on: bool = True) -> None:
        """Show the alarm colour of `priority` (None: no alarm). `flash_on` False draws the off phase."""
        if priority == self.alarm_priority and flash_on == self.flash_on:
            return
        self.alarm_priority = priority
        self.flash_on = flash_on
        self._apply_style()

    def _apply_style(self) -> None:
        self._styled = True
        if self.alarm_priority is not None and self.flash_on:
            bg, fg, border = ALARM_COLOURS[self.alarm_priority], "#000000", ALARM_COLOURS[self.alarm_priority]
        elif self.alarm_priority is not None:
            bg, fg, border = theme.PANEL, self.colour, ALARM_COLOURS[self.alarm_priority]
        else:
            bg, fg, border = theme.PANEL, self.colour, theme.PANEL_BORDER
        self.setStyleSheet(
            f"QFrame#tile {{ background: {bg}; border: 3px solid {border}; border-radius: 8px; }}"
            f"QFrame#tile QLabel {{ color: {fg}; background: transparent; border: 0; }}"
            f"QFrame#tile QLabel#manual {{ border: 2px solid {fg}; border-radius: 4px; padding: 0 4px; }}"
        )
        for label in (self.value_label, self.detail_label, self._limits):
            palette = label.palette()
            palette.setColor(QPalette.ColorRole.WindowText, QColor(fg))
            label.setPalette(palette)


class TileRow(QWidget):
    """Compact tiles side by side, stacked instead when the column is too narrow for their names
    (the nurse's column narrows when the session panel is beside it): nothing is ever cut."""

    SPACING = 6

    def __init__(self, tiles: list[NumericTile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles = tiles
        self._layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(self.SPACING)
        # the side-by-side minimum must not become the row's minimum width (see minimumSizeHint)
        self._layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        for tile in tiles:
            self._layout.addWidget(tile, 1)

    @property
    def stacked(self) -> bool:
        return self._layout.direction() is QBoxLayout.Direction.TopToBottom

    def _fits_side_by_side(self, width: int) -> bool:
        shown = [t for t in self.tiles if not t.isHidden()]
        need = sum(t.minimumSizeHint().width() for t in shown) + self.SPACING * max(0, len(shown) - 1)
        return width >= need

    def relayout(self) -> None:
        """Side by side or stacked for the current width (also after a tile is shown)."""
        direction = (QBoxLayout.Direction.LeftToRight if self._fits_side_by_side(self.width())
                     else QBoxLayout.Direction.TopToBottom)
        if self._layout.direction() is not direction:
            self._layout.setDirection(direction)

    def minimumSizeHint(self) -> QSize:
        # never ask for the side-by-side width: stacking is the answer to a narrow column
        hint = super().minimumSizeHint()
        shown = [t for t in self.tiles if not t.isHidden()]
        if shown:
            hint.setWidth(max(t.minimumSizeHint().width() for t in shown))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.relayout()

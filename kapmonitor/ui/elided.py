"""One-line labels that give way without ever showing a cut word.

`elide_words` is the rule (Qt-free, so it can be tested with any measure); `ElidedLabel` paints it.
A text too long for its room is shortened at a whole word and ends in "…", like an alarm row
(alarms/presentation.py): a limit cut inside its number ("≥16…" for "≥160") would read as another
number. The whole text is always `text()` and, while shortened, the tooltip. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QSize
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from kapmonitor.alarms.presentation import ELLIPSIS, longest_word_prefix


def elide_words(text: str, width_of: Callable[[str], float], available: float) -> str:
    """`text` when it fits `available`, else its longest start of whole words + " …" that fits.

    Never cuts inside a word and never ends on a bare symbol ("—", "/", "·"); when not even the
    first word fits, "…" alone (the whole text is on hover).
    """
    if width_of(text) <= available:
        return text
    words = text.split(" ")
    return longest_word_prefix(words, width_of, available, 1, len(words) - 1) or ELLIPSIS


class ElidedLabel(QLabel):
    """A one-line label that never pushes its neighbours: shortened at a whole word with "…" when
    short of room, the whole text on hover (otherwise `tooltip`, if any).

    `min_chars`: the narrowest it gets is that many characters (a status-bar field that must stay
    readable); 0 lets the layout give it any width. `text()` is always the full text.
    """

    def __init__(self, text: str = "", tooltip: str = "", parent: QWidget | None = None, min_chars: int = 0) -> None:
        super().__init__(text, parent)
        self.min_chars = min_chars
        self._base_tooltip = tooltip
        self.setToolTip(tooltip)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setWordWrap(False)

    def minimumSizeHint(self) -> QSize:
        chars = min(self.min_chars, len(self.text()))
        width = self.fontMetrics().horizontalAdvance("M" * chars) + 4 if chars else 0
        return QSize(width, self.fontMetrics().height())

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        extra = margins.left() + margins.right() + 2 * self.margin()
        return QSize(self.fontMetrics().horizontalAdvance(self.text()) + 2 + extra, self.fontMetrics().height())

    def room(self) -> int:
        """The width the text has."""
        return self._room()

    def _room(self) -> int:
        return max(0, self.contentsRect().width() - 2 * self.margin())

    def shown_text(self) -> str:
        """What is painted: the text, or its start at a whole word and "…"."""
        return elide_words(self.text(), self.fontMetrics().horizontalAdvance, self._room())

    def is_elided(self) -> bool:
        return self.shown_text() != self.text()

    def setText(self, text: str) -> None:
        super().setText(text)
        self.updateGeometry()
        self._update_tooltip()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tooltip()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() is QEvent.Type.FontChange:  # a larger font (a maximised window) may now elide
            self._update_tooltip()

    def set_hint(self, tooltip: str) -> None:
        """The tooltip shown while the text fits (while shortened, the whole text is shown instead)."""
        self._base_tooltip = tooltip
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        tip = self.text() if self.text() and self.is_elided() else self._base_tooltip
        if self.toolTip() != tip:
            self.setToolTip(tip)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.setFont(self.font())
        m = self.margin()
        painter.drawText(self.contentsRect().adjusted(m, m, -m, -m), int(self.alignment()), self.shown_text())
        painter.end()

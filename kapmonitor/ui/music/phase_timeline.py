"""The music phases laid out against the infusion clock (a small custom-painted strip).

Past phases are drawn where they really started; the current and later phases are projected
from the remaining track durations. The infusion (start → planned end) is a bar above them, and
a line marks now. A phase name too long for its block is cut with "…" (or left out when not even
three letters fit); hovering a block shows the phase's name and times. Painting only; all data
is handed in by `set_data()` from the GUI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from kapmonitor.ui import theme

PHASE_COLORS = ("#8fb8de", "#9fd3a8", "#e8c48f", "#c3a6dc", "#a8d8d8", "#e0b0b0")
MARGIN = 6.0
MIN_NAME_CHARS = 3


@dataclass(frozen=True)
class PhaseSpan:
    name: str
    start: float
    end: float
    current: bool


def _fmt_clock(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


class PhaseTimelineWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(84)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.spans: list[PhaseSpan] = []
        self.infusion: tuple[float, float] | None = None
        self.now = time.time()

    def set_data(self, spans: list[PhaseSpan], infusion: tuple[float, float] | None, now: float) -> None:
        self.spans = spans
        self.infusion = infusion
        self.now = now
        self.update()

    def time_range(self) -> tuple[float, float]:
        times = [self.now - 60.0, self.now + 600.0]
        for s in self.spans:
            times += [s.start, s.end]
        if self.infusion is not None:
            times += [self.infusion[0], self.infusion[1]]
        lo, hi = min(times), max(times)
        return lo, max(hi, lo + 60.0)

    def _x_of(self, t: float) -> float:
        lo, hi = self.time_range()
        return MARGIN + (t - lo) / (hi - lo) * (self.width() - 2 * MARGIN)

    def phase_blocks(self) -> list[tuple[QRectF, str]]:
        """Each phase's block and the name drawn in it ("" when too short): what the strip shows."""
        metrics = self.fontMetrics()
        out = []
        for s in self.spans:
            r = QRectF(self._x_of(s.start), 28, max(2.0, self._x_of(s.end) - self._x_of(s.start)), self.height() - 46)
            shown = metrics.elidedText(s.name, Qt.TextElideMode.ElideRight, int(r.width() - 6))
            if len(shown.rstrip("\u2026")) < min(MIN_NAME_CHARS, len(s.name)):
                shown = ""
            out.append((r, shown))
        return out

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            for (r, _), s in zip(self.phase_blocks(), self.spans, strict=True):
                if r.contains(event.pos().toPointF()):
                    QToolTip.showText(event.globalPos(), f"{s.name}  {_fmt_clock(s.start)}–{_fmt_clock(s.end)}", self)
                    return True
            QToolTip.hideText()
            event.ignore()
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            w, h = self.width(), self.height()
            lo, hi = self.time_range()
            x_of = self._x_of

            p.fillRect(self.rect(), QColor(theme.PANEL))
            if self.infusion is not None:
                a, b = self.infusion
                r = QRectF(x_of(a), 4, max(2.0, x_of(b) - x_of(a)), 18)
                p.fillRect(r, QColor(*theme.INFUSION_SHADE[:3], 110))
                p.setPen(QPen(QColor(theme.TEXT)))
                p.drawText(r.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter,
                           f"infusion {_fmt_clock(a)}–{_fmt_clock(b)}")
            for i, (s, (r, shown)) in enumerate(zip(self.spans, self.phase_blocks(), strict=True)):
                color = QColor(PHASE_COLORS[i % len(PHASE_COLORS)])
                if not s.current:
                    color.setAlpha(150)
                p.fillRect(r, color)
                p.setPen(QPen(QColor("#202020"), 2 if s.current else 1))
                p.drawRect(r)
                p.drawText(r.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, shown)
            x = x_of(self.now)
            p.setPen(QPen(QColor(theme.TEXT), 2))
            p.drawLine(int(x), 2, int(x), h - 16)
            p.setPen(QPen(QColor(theme.TEXT_DIM)))
            p.drawText(QRectF(0, h - 16, w, 16), Qt.AlignmentFlag.AlignLeft, _fmt_clock(lo))
            p.drawText(QRectF(0, h - 16, w, 16), Qt.AlignmentFlag.AlignHCenter, f"now {_fmt_clock(self.now)}")
            p.drawText(QRectF(0, h - 16, w, 16), Qt.AlignmentFlag.AlignRight, _fmt_clock(hi))
        finally:
            p.end()

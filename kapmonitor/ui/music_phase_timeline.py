"""The music phases laid out against the infusion clock (a small custom-painted strip).

Past phases are drawn where they really started; the current and later phases are projected
from the remaining track durations. The infusion (start → planned end) is a bar above them, and
a line marks now. Painting only; all data is handed in by `set_data()` from the GUI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from kapmonitor.ui import theme

PHASE_COLORS = ("#8fb8de", "#9fd3a8", "#e8c48f", "#c3a6dc", "#a8d8d8", "#e0b0b0")


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

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            w, h = self.width(), self.height()
            lo, hi = self.time_range()
            margin = 6.0

            def x_of(t: float) -> float:
                return margin + (t - lo) / (hi - lo) * (w - 2 * margin)

            p.fillRect(self.rect(), QColor(theme.PANEL))
            if self.infusion is not None:
                a, b = self.infusion
                r = QRectF(x_of(a), 4, max(2.0, x_of(b) - x_of(a)), 18)
                p.fillRect(r, QColor(*theme.INFUSION_SHADE[:3], 110))
                p.setPen(QPen(QColor(theme.TEXT)))
                p.drawText(r.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter,
                           f"infusion {_fmt_clock(a)}–{_fmt_clock(b)}")
            for i, s in enumerate(self.spans):
                r = QRectF(x_of(s.start), 28, max(2.0, x_of(s.end) - x_of(s.start)), h - 46)
                color = QColor(PHASE_COLORS[i % len(PHASE_COLORS)])
                if not s.current:
                    color.setAlpha(150)
                p.fillRect(r, color)
                p.setPen(QPen(QColor("#202020"), 2 if s.current else 1))
                p.drawRect(r)
                p.drawText(r.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, s.name)
            x = x_of(self.now)
            p.setPen(QPen(QColor(theme.TEXT), 2))
            p.drawLine(int(x), 2, int(x), h - 16)
            p.setPen(QPen(QColor(theme.TEXT_DIM)))
            p.drawText(QRectF(0, h - 16, w, 16), Qt.AlignmentFlag.AlignLeft, _fmt_clock(lo))
            p.drawText(QRectF(0, h - 16, w, 16), Qt.AlignmentFlag.AlignHCenter, f"now {_fmt_clock(self.now)}")
            p.drawText(QRectF(0, h - 16, w, 16), Qt.AlignmentFlag.AlignRight, _fmt_clock(hi))
        finally:
            p.end()

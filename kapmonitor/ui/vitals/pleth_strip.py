"""The pleth waveform strip, drawn as a sweep the way bedside monitors draw it.

The newest samples are drawn left to right into a pixmap at the column their sample index falls on
(wrapping at the right edge); a short erase bar ahead of the newest sample clears the previous
sweep. Each redraw draws only the samples that arrived since the last one and asks Qt to repaint
only that narrow band, so a frame costs the same whatever the strip's width, with no Python work per
sample (the path is built from numpy arrays). The amplitude follows the signal slowly; a new scale
applies from the next drawn samples on, so the trace never jumps. NaN (no signal) leaves a gap.

GUI thread only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPixmap, QResizeEvent, QStaticText
from PySide6.QtWidgets import QSizePolicy, QWidget

from kapmonitor.model.buffers import WaveBuffer
from kapmonitor.model.parameters import Parameter
from kapmonitor.ui import theme

ERASE_SECONDS = 0.3  # the gap ahead of the newest sample
SCALE_SECONDS = 0.5  # the amplitude scale is looked at again after this much new signal
_LABEL = QRect(6, 2, 80, 22)
_MARGIN = 4  # pixels above and below the trace


def percentiles_1_99(values: npt.NDArray[np.float32]) -> tuple[float, float]:
    """The 1st and 99th percentiles of finite, non-empty `values`, as np.percentile gives them (linear
    interpolation). np.percentile would load numpy.ma (~10 ms) on the first frame, before the first paint."""
    ordered = np.sort(values)
    out = []
    for q in (0.01, 0.99):
        pos = q * (len(ordered) - 1)
        below = int(pos)
        above = min(below + 1, len(ordered) - 1)
        lo, hi = float(ordered[below]), float(ordered[above])
        out.append(lo + (hi - lo) * (pos - below))
    return out[0], out[1]


class PlethStrip(QWidget):
    """Sweeping pleth wave with auto-scaled amplitude; only the newly drawn band is repainted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # the pixmap covers every pixel
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._colour = QColor(theme.PARAMETER_COLOURS[Parameter.PLETH])
        self._background = QColor(theme.BACKGROUND)
        self._pen = QPen(self._colour, 1.5)
        self._pen.setCosmetic(True)
        self._font = QFont(theme.FONT_FAMILY)
        self._font.setPixelSize(16)
        self._font.setBold(True)
        self._pixmap: QPixmap | None = None
        self._drawn_end: int | None = None  # absolute sample index one past the last one drawn
        self._low = 0.0
        self._high = 1.0
        self._scaled = False
        self._scaled_at = 0  # sample index at the last look at the scale
        self._label = QStaticText("Pleth")
        self.last_band = QRect()  # what the last refresh asked to repaint (tests, benchmarks)
        self.full_redraws = 0

    # -- drawing into the pixmap (on the GUI timer) ----------------------------------------------------
    def refresh(self, wave: WaveBuffer) -> None:
        """Draw what arrived in `wave` since the last call and repaint only that band."""
        end_t, values = wave.snapshot()
        n = len(values)
        if n == 0 or self.width() <= 0 or self.height() <= 0:
            return
        end = round(end_t * wave.rate_hz)
        if not self._scaled or end - self._scaled_at >= SCALE_SECONDS * wave.rate_hz or end < self._scaled_at:
            self._scaled_at = end
            self._follow_scale(values)
        if self._pixmap is None or self._drawn_end is None or end < self._drawn_end or end - self._drawn_end >= n:
            self._redraw_all(values, end, wave.rate_hz)
            return
        new = end - self._drawn_end
        if new == 0:
            self.last_band = QRect()
            return
        # the new samples, with the last drawn one before them so the trace joins up
        segment = values[n - new - 1:] if new < n else values
        band = self._draw(segment, end - len(segment), n, wave.rate_hz)
        self._drawn_end = end
        self.last_band = band
        self.update(band)

    def _follow_scale(self, values: npt.NDArray[np.float32]) -> None:
        finite = values[np.isfinite(values)]
        if not len(finite):
            return
        lo, hi = percentiles_1_99(finite)
        pad = max((hi - lo) * 0.15, 1e-3)
        if not self._scaled:
            self._low, self._high, self._scaled = lo - pad, hi + 3 * pad, True
            return
        # follow the signal smoothly so the strip does not jump with each beat
        self._low += 0.5 * ((lo - pad) - self._low)
        self._high += 0.5 * ((hi + 3 * pad) - self._high)  # headroom for the label

    def _redraw_all(self, values: npt.NDArray[np.float32], end: int, rate_hz: float) -> None:
        """A new pixmap with the whole buffer swept in (first frame, resize, or a long pause)."""
        self.full_redraws += 1
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(int(self.width() * ratio), int(self.height() * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(self._background)
        self._pixmap = pixmap
        self._drawn_end = end
        n = len(values)
        self._draw(values[1:], end - n + 1, n, rate_hz)  # leaves the erase bar ahead of the newest sample
        self.last_band = self.rect()
        self.update()

    def _draw(self, segment: npt.NDArray[np.float32], first: int, n: int, rate_hz: float) -> QRect:
        """Draw `segment` (absolute sample indices from `first`) and erase ahead; returns the band."""
        assert self._pixmap is not None
        w, h = self.width(), self.height()
        columns = w / n
        erase = max(2, round(ERASE_SECONDS * rate_hz))
        scale = (h - 2 * _MARGIN) / max(self._high - self._low, 1e-9)
        y = (h - _MARGIN) - (segment.astype(np.float64) - self._low) * scale
        index = np.arange(first, first + len(segment))
        pos = index % n
        # split where the sweep wraps to the left edge
        cuts = np.flatnonzero(np.diff(pos) < 0) + 1
        painter = QPainter(self._pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        band = QRect()
        for part in np.split(np.arange(len(segment)), cuts):
            if len(part) == 0:
                continue
            x = pos[part].astype(np.float64) * columns
            x0, x1 = float(x[0]), float(x[-1])
            clear = QRectF(x0 + 1, 0, x1 - x0, h) if len(part) > 1 else QRectF(x0, 0, 0, h)
            painter.fillRect(clear, self._background)  # the previous sweep under the new samples
            band = band.united(clear.toAlignedRect().adjusted(-2, 0, 2, 0))
            if len(part) > 1:
                painter.setPen(self._pen)
                painter.drawPath(pg.arrayToQPath(x, y[part], connect="finite"))
        # the erase bar ahead of the newest sample (wrapping too)
        ahead = (int(index[-1]) + 1) % n
        for start, stop in ((ahead, min(n, ahead + erase)), (0, max(0, ahead + erase - n))):
            if stop > start:
                bar = QRectF(start * columns + 1, 0, (stop - start) * columns, h)
                painter.fillRect(bar, self._background)
                band = band.united(bar.toAlignedRect().adjusted(-1, 0, 2, 0))
        painter.end()
        return band.intersected(self.rect())

    # -- Qt -----------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = event.rect()
        if self._pixmap is None:
            painter.fillRect(rect, self._background)
        else:
            painter.drawPixmap(rect, self._pixmap, self._source(rect))
        if rect.intersects(_LABEL):
            painter.setPen(self._colour)
            painter.setFont(self._font)
            painter.drawStaticText(_LABEL.topLeft(), self._label)
        painter.end()

    def _source(self, rect: QRect) -> QRect:
        ratio = self._pixmap.devicePixelRatio() if self._pixmap is not None else 1.0
        return QRect(int(rect.x() * ratio), int(rect.y() * ratio), int(rect.width() * ratio),
                     int(rect.height() * ratio))

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._pixmap = None  # swept in again at the new size on the next refresh
        self._drawn_end = None
        super().resizeEvent(event)

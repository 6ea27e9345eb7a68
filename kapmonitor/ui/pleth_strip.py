"""The pleth waveform strip: the last seconds of the plethysmogram, redrawn on the GUI timer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from kapmonitor.model.buffers import WaveBuffer
from kapmonitor.model.parameters import Parameter
from kapmonitor.ui import theme


class PlethStrip(pg.PlotWidget):
    """Scrolling pleth wave with auto-scaled amplitude; NaN (no signal) shows as a gap."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent=parent, background=theme.BACKGROUND)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.hideAxis("bottom")
        item.hideAxis("left")
        pen = pg.mkPen(theme.PARAMETER_COLOURS[Parameter.PLETH], width=1)
        pen.setCosmetic(True)
        self.curve = item.plot(pen=pen, connect="finite")
        self._label = pg.TextItem("Pleth", color=theme.PARAMETER_COLOURS[Parameter.PLETH], anchor=(0, 0))
        font = QFont(theme.FONT_FAMILY)
        font.setPixelSize(16)
        font.setBold(True)
        self._label.setFont(font)
        item.addItem(self._label, ignoreBounds=True)
        self._x: np.ndarray | None = None
        self._low = 0.0
        self._high = 1.0

    def refresh(self, wave: WaveBuffer) -> None:
        _, values = wave.snapshot()
        n = len(values)
        item = self.getPlotItem()
        if self._x is None or len(self._x) != n:
            self._x = np.arange(n, dtype=np.float64) / wave.rate_hz - n / wave.rate_hz
            # a fixed view (the wave is scaled into 0..1 below): moving the range on every redraw
            # made pyqtgraph paint the strip twice per frame (benchmarks/display)
            item.setXRange(float(self._x[0]), 0.0, padding=0)
            item.setYRange(0.0, 1.0, padding=0)
            self._label.setPos(float(self._x[0]), 1.0)
        finite = values[np.isfinite(values)]
        if len(finite):
            lo, hi = float(np.percentile(finite, 1)), float(np.percentile(finite, 99))
            pad = max((hi - lo) * 0.15, 1e-3)
            # follow the signal smoothly so the strip does not jump with each beat
            self._low += 0.3 * ((lo - pad) - self._low)
            self._high += 0.3 * ((hi + 3 * pad) - self._high)  # headroom for the label
        scale = 1.0 / max(self._high - self._low, 1e-9)
        self.curve.setData(self._x, (values.astype(np.float64) - self._low) * scale)

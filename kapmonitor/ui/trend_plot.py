"""The session trend plot: NIBP, heart rate and SpO2 on a minutes axis, against the alarm limits.

Three stacked plots share the time axis (minutes since the session started). NIBP is drawn as
a systolic–diastolic bar per measurement with its mean; HR and SpO2 as lines with NaN gaps
(a gap is drawn as a gap, never bridged). Limit lines take the colour of their priority; the
infusion window is shaded; phase changes, events and music bands are overlaid when given.
Curves are created once and fed with `setData`; GUI thread only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from kapmonitor.alarms.profile import AlarmProfile, Priority
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui import theme

GAP_SECONDS = 3.0  # continuous values further apart than this are not joined
LIMIT_COLOURS = {Priority.HIGH: theme.ALARM_HIGH, Priority.MEDIUM: theme.ALARM_MEDIUM, Priority.LOW: theme.ALARM_LOW}


@dataclass(frozen=True)
class Marker:
    """A vertical marker on the trend: a phase change, pause, event or intervention."""

    time: float
    label: str
    colour: str = "#c8c8c8"


@dataclass(frozen=True)
class Band:
    """A shaded time span at the bottom of the plot (a music track)."""

    start: float
    end: float
    label: str
    colour: tuple[int, int, int, int] = (120, 90, 200, 70)


def with_gaps(t: npt.NDArray[np.float64], v: npt.NDArray[np.float64], gap: float) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64]
]:
    """Insert a NaN wherever consecutive times are further apart than `gap` seconds."""
    if len(t) < 2:
        return t, v
    breaks = np.nonzero(np.diff(t) > gap)[0]
    if len(breaks) == 0:
        return t, v
    t2 = np.insert(t, breaks + 1, t[breaks] + gap / 2)
    v2 = np.insert(v, breaks + 1, np.nan)
    return t2, v2


def _pen(colour: str, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QColor | pg.QtGui.QPen:
    pen = pg.mkPen(colour, width=1, style=style)
    pen.setCosmetic(True)
    return pen


class TrendPlot(pg.GraphicsLayoutWidget):
    """NIBP (mmHg), HR (/min) and SpO2 (%) trends over the session."""

    def __init__(self, profile: AlarmProfile, parent: object = None) -> None:
        super().__init__(parent=parent)
        self.setBackground(theme.BACKGROUND)
        self.t0: float | None = None
        self._axis_font = QFont(theme.FONT_FAMILY)
        self._axis_font.setPixelSize(14)
        self._label_font = QFont(theme.FONT_FAMILY)
        self._label_font.setPixelSize(13)
        self.bp = self._make_plot(0, "NIBP", "mmHg", (40, 220))
        self.hr = self._make_plot(1, "HR", "/min", (25, 180))
        self.spo2 = self._make_plot(2, "SpO\u2082", "%", (80, 101))
        self.hr.setXLink(self.bp)
        self.spo2.setXLink(self.bp)
        self.ci.layout.setRowStretchFactor(0, 5)
        self.ci.layout.setRowStretchFactor(1, 3)
        self.ci.layout.setRowStretchFactor(2, 3)
        self.spo2.getAxis("bottom").setLabel("minutes since session start", color=theme.TEXT_DIM)
        for plot in (self.bp, self.hr):
            plot.getAxis("bottom").setStyle(showValues=False)

        white = theme.PARAMETER_COLOURS[Parameter.NIBP_SYS]
        self.nibp_bars = pg.PlotDataItem(connect="pairs", pen=_pen(white))
        self.nibp_sys = pg.ScatterPlotItem(symbol="t", size=13, brush=pg.mkBrush(white), pen=None)
        self.nibp_dia = pg.ScatterPlotItem(symbol="t1", size=13, brush=pg.mkBrush(white), pen=None)
        mean_colour = theme.PARAMETER_COLOURS[Parameter.NIBP_MEAN]
        self.nibp_mean = pg.ScatterPlotItem(symbol="o", size=8, brush=pg.mkBrush(mean_colour), pen=None)
        for item in (self.nibp_bars, self.nibp_sys, self.nibp_dia, self.nibp_mean):
            self.bp.addItem(item)
        self.hr_curve = pg.PlotDataItem(pen=_pen(theme.PARAMETER_COLOURS[Parameter.HR]), connect="finite")
        self.spo2_curve = pg.PlotDataItem(pen=_pen(theme.PARAMETER_COLOURS[Parameter.SPO2]), connect="finite")
        for curve, plot in ((self.hr_curve, self.hr), (self.spo2_curve, self.spo2)):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            plot.addItem(curve)

        self._regions: list[pg.LinearRegionItem] = []
        self._infusion_label = pg.TextItem("", color=theme.SIMULATED, anchor=(0, 0))
        self._infusion_label.setFont(self._axis_font)
        self.bp.addItem(self._infusion_label, ignoreBounds=True)
        self._now_lines = [pg.InfiniteLine(angle=90, pen=_pen("#5a6570", Qt.PenStyle.DotLine)) for _ in range(3)]
        for line, plot in zip(self._now_lines, (self.bp, self.hr, self.spo2), strict=True):
            plot.addItem(line, ignoreBounds=True)
        self._limit_items: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._marker_items: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self._band_items: list[pg.GraphicsObject] = []
        self._x_span: float | None = None
        self.set_profile(profile)

    def _make_plot(self, row: int, title: str, unit: str, y_range: tuple[float, float]) -> pg.PlotItem:
        plot: pg.PlotItem = self.addPlot(row=row, col=0)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.showGrid(x=True, y=True, alpha=0.18)
        plot.setYRange(*y_range, padding=0)
        plot.getViewBox().setLimits(yMin=y_range[0] - 20, yMax=y_range[1] + 20)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setTextPen(theme.TEXT_DIM)
            axis.setPen(theme.GRID)
            axis.setTickFont(self._axis_font)
        plot.getAxis("left").setWidth(62)
        plot.setLabel("left", f"{title} {unit}", color=theme.TEXT_DIM)
        return plot

    # -- configuration -------------------------------------------------------------------
    def set_profile(self, profile: AlarmProfile) -> None:
        """Draw the limit lines of `profile` (dashed, coloured by priority)."""
        for plot, line in self._limit_items:
            plot.removeItem(line)
        self._limit_items.clear()
        targets = (
            (self.bp, Parameter.NIBP_SYS, "SYS"),
            (self.bp, Parameter.NIBP_DIA, "DIA"),
            (self.hr, Parameter.HR, ""),
            (self.spo2, Parameter.SPO2, ""),
        )
        for plot, parameter, tag in targets:
            for value, priority in profile.limit_lines(parameter):
                style = Qt.PenStyle.DashLine if parameter is not Parameter.NIBP_DIA else Qt.PenStyle.DotLine
                label = f"{tag} {value:g}".strip()
                # medium labels at the right edge, high ones a little to the left: neighbours never collide
                position = 0.99 if priority is Priority.MEDIUM else 0.9
                line = pg.InfiniteLine(
                    pos=value,
                    angle=0,
                    pen=_pen(LIMIT_COLOURS[priority], style),
                    label=label,
                    labelOpts={"position": position, "color": LIMIT_COLOURS[priority], "anchors": [(1, 1), (1, 1)]},
                )
                line.label.setFont(self._label_font)
                plot.addItem(line, ignoreBounds=True)
                self._limit_items.append((plot, line))

    def set_infusion_window(self, window: tuple[float, float] | None, label: str = "Infusion") -> None:
        """Shade [start, end] (epoch seconds) on every plot; None removes the shading."""
        if window is None or self.t0 is None:
            for region, plot in zip(self._regions, (self.bp, self.hr, self.spo2), strict=False):
                plot.removeItem(region)
            self._regions.clear()
            self._infusion_label.setText("")
            return
        a, b = ((window[0] - self.t0) / 60.0, (window[1] - self.t0) / 60.0)
        if not self._regions:
            for plot in (self.bp, self.hr, self.spo2):
                region = pg.LinearRegionItem(
                    values=(a, b), movable=False, brush=pg.mkBrush(*theme.INFUSION_SHADE), pen=pg.mkPen(None)
                )
                region.setZValue(-10)
                plot.addItem(region, ignoreBounds=True)
                self._regions.append(region)
        for region in self._regions:
            region.setRegion((a, b))
        self._infusion_label.setText(label)
        self._infusion_label.setPos(a, 218)

    def set_markers(self, markers: Sequence[Marker]) -> None:
        """Vertical markers (phase changes, pauses, events) with their labels on the NIBP plot."""
        for plot, item in self._marker_items:
            plot.removeItem(item)
        self._marker_items.clear()
        if self.t0 is None:
            return
        for m in markers:
            x = (m.time - self.t0) / 60.0
            for plot in (self.bp, self.hr, self.spo2):
                line = pg.InfiniteLine(pos=x, angle=90, pen=_pen(m.colour, Qt.PenStyle.DashDotLine))
                plot.addItem(line, ignoreBounds=True)
                self._marker_items.append((plot, line))
            text = pg.TextItem(m.label, color=m.colour, anchor=(0, 1), angle=90)
            text.setFont(self._axis_font)
            text.setPos(x, 45)
            self.bp.addItem(text, ignoreBounds=True)
            self._marker_items.append((self.bp, text))

    def set_bands(self, bands: Sequence[Band]) -> None:
        """Music tracks as thin bands along the bottom of the SpO2 plot."""
        for item in self._band_items:
            self.spo2.removeItem(item)
        self._band_items.clear()
        if self.t0 is None:
            return
        for band in bands:
            a, b = (band.start - self.t0) / 60.0, (band.end - self.t0) / 60.0
            rect = pg.QtWidgets.QGraphicsRectItem(a, 80.2, max(b - a, 0.05), 1.6)
            rect.setBrush(pg.mkBrush(*band.colour))
            rect.setPen(pg.mkPen(None))
            self.spo2.addItem(rect, ignoreBounds=True)
            self._band_items.append(rect)
            text = pg.TextItem(band.label, color="#c9b8ff", anchor=(0, 1))
            text.setPos(a, 81.8)
            self.spo2.addItem(text, ignoreBounds=True)
            self._band_items.append(text)

    # -- data ------------------------------------------------------------------------------
    def minutes(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        assert self.t0 is not None
        return (t - self.t0) / 60.0

    def refresh(self, store: TrendStore, now: float) -> None:
        """Redraw from snapshots of `store` up to `now` (epoch seconds)."""
        if self.t0 is None:
            return
        t, v = store.trends[Parameter.HR].snapshot()
        t, v = with_gaps(t, v, GAP_SECONDS)
        self.hr_curve.setData(self.minutes(t), v)
        t, v = store.trends[Parameter.SPO2].snapshot()
        t, v = with_gaps(t, v, GAP_SECONDS)
        self.spo2_curve.setData(self.minutes(t), v)

        ts, sys_v = store.trends[Parameter.NIBP_SYS].snapshot()
        td, dia_v = store.trends[Parameter.NIBP_DIA].snapshot()
        tm, mean_v = store.trends[Parameter.NIBP_MEAN].snapshot()
        ok_s = np.isfinite(sys_v)
        ok_d = np.isfinite(dia_v)
        self.nibp_sys.setData(self.minutes(ts[ok_s]), sys_v[ok_s])
        self.nibp_dia.setData(self.minutes(td[ok_d]), dia_v[ok_d])
        ok_m = np.isfinite(mean_v)
        self.nibp_mean.setData(self.minutes(tm[ok_m]), mean_v[ok_m])
        # bars: pair each systolic with the diastolic of the same measurement time
        common, i_s, i_d = np.intersect1d(ts[ok_s], td[ok_d], return_indices=True)
        if len(common):
            xs = np.repeat(self.minutes(common), 2)
            ys = np.empty(2 * len(common))
            ys[0::2] = sys_v[ok_s][i_s]
            ys[1::2] = dia_v[ok_d][i_d]
            self.nibp_bars.setData(xs, ys)
        else:
            self.nibp_bars.setData([], [])

        now_min = (now - self.t0) / 60.0
        for line in self._now_lines:
            line.setValue(now_min)
        # the view grows in 5-minute steps: a range moved on every redraw makes pyqtgraph rebuild
        # all six axes and paint the plot twice, the largest cost of the live display (benchmarks)
        span = max(60.0, math.ceil((now_min + 10.0) / 5.0) * 5.0)
        if span != self._x_span:
            self._x_span = span
            self.bp.setXRange(-1.0, span, padding=0)

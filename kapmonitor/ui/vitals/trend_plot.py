"""The session trend plot: NIBP, heart rate and SpO2 on a minutes axis, against the alarm limits.

Three stacked plots share the time axis (minutes since the session started, then from the infusion
start once it has started, as in the PDF report). NIBP is drawn as
a systolic–diastolic bar per measurement with its mean; HR and SpO2 as lines with NaN gaps
(a gap is drawn as a gap, never bridged). Limit lines take the colour of their priority; the
infusion window is shaded; phase changes, events and music bands are overlaid when given; values
entered by hand are ringed (magenta) and say so on hover.
Curves are created once and fed with `setData`; GUI thread only.

Labels never overlap: their layout is `TrendLabels` (trend_labels.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem

from kapmonitor.alarms.profile import AlarmProfile, Priority
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui import theme
from kapmonitor.ui.vitals.trend_labels import (
    BAND_HEIGHT,
    BAND_Y,
    INFUSION_LABEL_Y,
    Band,
    LimitSpec,
    Marker,
    TrendLabels,
)

GAP_SECONDS = 3.0  # continuous values further apart than this are not joined
CURVE_REDRAW_S = 5.0  # a new value reaches the trend's curves within this (the tiles show it at once)
MANUAL_COLOUR = "#e040fb"  # rings around values entered by hand: a colour no parameter or alarm uses
LIMIT_COLOURS = {Priority.HIGH: theme.ALARM_HIGH, Priority.MEDIUM: theme.ALARM_MEDIUM, Priority.LOW: theme.ALARM_LOW}

__all__ = ["Band", "Marker", "TrendPlot", "with_gaps"]


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


def _manual_tip(x: float, y: float, data: object) -> str:
    return str(data)


def _pen(colour: str, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QColor | pg.QtGui.QPen:
    pen = pg.mkPen(colour, width=1, style=style)
    pen.setCosmetic(True)
    return pen


def _per_pixel_column(curve: pg.PlotDataItem) -> None:
    """Draw a curve as the highest and lowest value of each pixel column in view (a 4-h trend is
    ~1,700 points drawn, not 14,400 on every paint). After `addItem`: PlotItem.addItem resets an
    item's downsampling and clipping to the plot's own (off)."""
    curve.opts["autoDownsampleFactor"] = 1.0  # one bucket per pixel column (pyqtgraph's default: 5)
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)


class TrendPlot(TrendLabels, pg.GraphicsLayoutWidget):
    """NIBP (mmHg), HR (/min) and SpO2 (%) trends over the session; a fourth row for respiratory rate
    and EtCO2 appears once the monitor sends them (`resp` is None until then). Without HR from the
    monitor (a pulse oximeter alone) the HR row draws the pulse rate, labelled PR."""

    def __init__(self, profile: AlarmProfile, parent: object = None) -> None:
        super().__init__(parent=parent)
        self.setBackground(theme.BACKGROUND)
        self._t0: float | None = None
        self._session_start: float | None = None
        self._profile = profile
        self._origin_label = "minutes since session start"
        self.resp: pg.PlotItem | None = None  # RR and EtCO2, added when the first value arrives
        self.rr_curve: pg.PlotDataItem | None = None
        self.etco2_curve: pg.PlotDataItem | None = None
        self._hr_label = "HR"
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
        self.bp.setXRange(-1.0, 60.0, padding=0)  # the first hour until data arrives (refresh widens it)
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
            plot.addItem(curve)
            _per_pixel_column(curve)
        # values entered by hand: a ring around each, saying so on hover
        self.manual_marks: dict[str, pg.ScatterPlotItem] = {}
        self._manual_shown: dict[str, tuple[int, float | None]] = {}
        for key, plot in (("bp", self.bp), ("hr", self.hr), ("spo2", self.spo2)):
            ring = pg.ScatterPlotItem(symbol="o", size=18, pen=pg.mkPen(MANUAL_COLOUR, width=2),
                                      brush=pg.mkBrush(None), hoverable=True, tip=_manual_tip)
            ring.setZValue(5)
            plot.addItem(ring)
            self.manual_marks[key] = ring

        self._regions: list[pg.LinearRegionItem] = []
        self._infusion_label = pg.TextItem("", color=theme.SIMULATED, anchor=(0, 0))
        self._infusion_label.setFont(self._axis_font)
        self.bp.addItem(self._infusion_label, ignoreBounds=True)
        self._now_lines = [pg.InfiniteLine(angle=90, pen=_pen("#5a6570", Qt.PenStyle.DotLine)) for _ in range(3)]
        for line, plot in zip(self._now_lines, (self.bp, self.hr, self.spo2), strict=True):
            plot.addItem(line, ignoreBounds=True)
        self._limit_items: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._limit_specs: list[LimitSpec] = []
        self._limit_labels: list[tuple[pg.PlotItem, pg.TextItem]] = []
        self._markers: list[Marker] = []
        self._marker_items: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self._marker_labels: list[pg.TextItem] = []
        self._bands: list[Band] = []
        self._band_items: list[pg.GraphicsObject] = []
        self._band_labels: list[pg.TextItem] = []
        self._infusion_shown: tuple[float, float] | None = None
        self._x_span: float | None = None
        self._curves_at = -math.inf  # `now` of the last curve redraw
        self._nibp_drawn: tuple[object, ...] = ()
        self._marks_drawn: dict[int, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
        self._drawn_for: tuple[float | None, float | None] = (None, None)  # (origin, span) last drawn on
        self._drawn_store: TrendStore | None = None
        self._laying_out = False
        self._layout_timer = QTimer(self)
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(0)
        self._layout_timer.timeout.connect(self._layout_labels)
        self.set_profile(profile)
        for plot in (self.bp, self.hr, self.spo2):
            plot.getViewBox().sigResized.connect(self._on_view_changed)
            plot.getViewBox().sigRangeChanged.connect(self._on_view_changed)

    def _make_plot(self, row: int, title: str, unit: str, y_range: tuple[float, float]) -> pg.PlotItem:
        plot: pg.PlotItem = self.addPlot(row=row, col=0, enableMenu=False)  # no context menu built
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
            # the grid makes each axis cover its whole plot, so every trend update replayed the ticks,
            # grid and labels of all axes (~4 ms each, the live display's largest cost); cached as a
            # pixmap they are redrawn only when their range or text changes (pyqtgraph calls update())
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.getAxis("left").setWidth(62)
        plot.setLabel("left", f"{title} {unit}", color=theme.TEXT_DIM)
        return plot

    # -- configuration -------------------------------------------------------------------
    def _plots(self) -> tuple[pg.PlotItem, ...]:
        """The rows shown, top to bottom."""
        return (self.bp, self.hr, self.spo2) if self.resp is None else (self.bp, self.hr, self.spo2, self.resp)

    def _add_resp_row(self) -> None:
        """The RR / EtCO2 row under SpO2 (one axis: /min and mmHg share 0-70), with the time axis."""
        resp = self._make_plot(3, "RR \u00b7 EtCO\u2082", "", (0, 70))
        self.resp = resp
        resp.setXLink(self.bp)
        self.ci.layout.setRowStretchFactor(3, 3)
        self.rr_curve = pg.PlotDataItem(pen=_pen(theme.PARAMETER_COLOURS[Parameter.RESP_RATE]), connect="finite",
                                        name="RR")
        self.etco2_curve = pg.PlotDataItem(pen=_pen(theme.PARAMETER_COLOURS[Parameter.ETCO2]), connect="finite",
                                           name="EtCO2")
        for curve in (self.rr_curve, self.etco2_curve):
            resp.addItem(curve)
            _per_pixel_column(curve)
        self.spo2.getAxis("bottom").setStyle(showValues=False)
        self.spo2.getAxis("bottom").setLabel("")
        resp.getAxis("bottom").setLabel(self._origin_label, color=theme.TEXT_DIM)
        line = pg.InfiniteLine(angle=90, pen=_pen("#5a6570", Qt.PenStyle.DotLine))
        resp.addItem(line, ignoreBounds=True)
        self._now_lines.append(line)
        if self._regions:
            a, b = self._regions[0].getRegion()
            region = pg.LinearRegionItem(values=(a, b), movable=False, brush=pg.mkBrush(*theme.INFUSION_SHADE),
                                         pen=pg.mkPen(None))
            region.setZValue(-10)
            resp.addItem(region, ignoreBounds=True)
            self._regions.append(region)
        resp.getViewBox().sigResized.connect(self._on_view_changed)
        resp.getViewBox().sigRangeChanged.connect(self._on_view_changed)
        self.set_profile(self._profile)
        self.set_markers(list(self._markers))

    def set_profile(self, profile: AlarmProfile) -> None:
        """Draw the limit lines of `profile` (dashed, coloured by priority), labelled at the right edge."""
        self._profile = profile
        for plot, line in self._limit_items:
            plot.removeItem(line)
        self._limit_items.clear()
        self._limit_specs.clear()
        targets: tuple[tuple[pg.PlotItem, Parameter, str], ...] = (
            (self.bp, Parameter.NIBP_SYS, "SYS"),
            (self.bp, Parameter.NIBP_DIA, "DIA"),
            (self.hr, Parameter.HR, ""),
            (self.spo2, Parameter.SPO2, ""),
        )
        if self.resp is not None:
            targets += ((self.resp, Parameter.RESP_RATE, "RR"), (self.resp, Parameter.ETCO2, "EtCO\u2082"))
        for plot, parameter, tag in targets:
            for value, priority in profile.limit_lines(parameter):
                if plot is self.resp and priority is not Priority.MEDIUM:
                    continue  # two parameters share the row: their medium limits only, or it is a thicket
                style = Qt.PenStyle.DashLine if parameter is not Parameter.NIBP_DIA else Qt.PenStyle.DotLine
                line = pg.InfiniteLine(pos=value, angle=0, pen=_pen(LIMIT_COLOURS[priority], style))
                plot.addItem(line, ignoreBounds=True)
                self._limit_items.append((plot, line))
                self._limit_specs.append(LimitSpec(plot, value, f"{tag} {value:g}".strip(), LIMIT_COLOURS[priority]))
        self._layout_labels()

    @property
    def t0(self) -> float | None:
        """Minute 0 of the time axis: the session start, then the infusion start (`set_origin`)."""
        return self._t0

    @t0.setter
    def t0(self, session_start: float | None) -> None:
        """A (new) session start: minutes count from it until an infusion start is set."""
        self._t0 = session_start
        self._session_start = session_start
        self._to_origin(session_start, "minutes since session start")

    def set_origin(self, infusion_start: float) -> None:
        """Count minutes from the infusion start, as the PDF report does; the view still reaches
        back to the session start, so the baseline before the infusion stays visible."""
        if self._t0 != infusion_start:
            self._t0 = infusion_start
            self._to_origin(infusion_start, "minutes from the infusion start")

    def _to_origin(self, t0: float | None, label: str) -> None:
        self._origin_label = label
        self._plots()[-1].getAxis("bottom").setLabel(label, color=theme.TEXT_DIM)
        self._x_span = None  # the next refresh sets the range on the new origin
        self._infusion_shown = None
        if t0 is not None:
            self.set_markers(list(self._markers))
            self.set_bands(list(self._bands))

    def _x_start(self) -> float:
        """Left end of the view: -1 min, or the session start when it came earlier."""
        if self._session_start is None or self._t0 is None:
            return -1.0
        return min(-1.0, math.floor((self._session_start - self._t0) / 60.0))

    def set_infusion_window(self, window: tuple[float, float] | None, label: str = "Infusion") -> None:
        """Shade [start, end] (epoch seconds) on every plot; None removes the shading."""
        if window is None or self.t0 is None:
            for region, plot in zip(self._regions, self._plots(), strict=False):
                plot.removeItem(region)
            self._regions.clear()
            self._infusion_label.setText("")
            self._infusion_shown = None
            return
        a, b = ((window[0] - self.t0) / 60.0, (window[1] - self.t0) / 60.0)
        if not self._regions:
            for plot in self._plots():
                region = pg.LinearRegionItem(
                    values=(a, b), movable=False, brush=pg.mkBrush(*theme.INFUSION_SHADE), pen=pg.mkPen(None)
                )
                region.setZValue(-10)
                plot.addItem(region, ignoreBounds=True)
                self._regions.append(region)
        for region in self._regions:
            region.setRegion((a, b))
        self._infusion_label.setText(label)
        self._infusion_label.setPos(a, INFUSION_LABEL_Y)
        if self._infusion_shown != (a, b):
            self._infusion_shown = (a, b)
            self._layout_labels()  # event labels keep clear of the "Infusion" label

    def set_markers(self, markers: Sequence[Marker]) -> None:
        """Vertical markers (phase changes, pauses, events) with their labels on the NIBP plot."""
        for plot, item in self._marker_items:
            plot.removeItem(item)
        self._marker_items.clear()
        self._markers = sorted(markers, key=lambda m: m.time) if self.t0 is not None else []
        for m in self._markers:
            assert self.t0 is not None
            x = (m.time - self.t0) / 60.0
            for plot in self._plots():
                line = pg.InfiniteLine(pos=x, angle=90, pen=_pen(m.colour, Qt.PenStyle.DashDotLine))
                line.setToolTip(m.label)
                plot.addItem(line, ignoreBounds=True)
                self._marker_items.append((plot, line))
        self._layout_labels()

    def set_bands(self, bands: Sequence[Band]) -> None:
        """Music tracks as thin bands along the bottom of the SpO2 plot."""
        for item in self._band_items:
            self.spo2.removeItem(item)
        self._band_items.clear()
        self._bands = list(bands) if self.t0 is not None else []
        for band in self._bands:
            assert self.t0 is not None
            a, b = (band.start - self.t0) / 60.0, (band.end - self.t0) / 60.0
            rect = pg.QtWidgets.QGraphicsRectItem(a, BAND_Y, max(b - a, 0.05), BAND_HEIGHT)
            rect.setBrush(pg.mkBrush(*band.colour))
            rect.setPen(pg.mkPen(None))
            rect.setToolTip(band.label)
            self.spo2.addItem(rect, ignoreBounds=True)
            self._band_items.append(rect)
        self._layout_labels()

    def _show_manual(self, store: TrendStore) -> None:
        """Ring the values the nurse entered by hand (redrawn only when there are new ones)."""
        groups = {
            "bp": ((Parameter.NIBP_SYS, "NIBP sys"), (Parameter.NIBP_DIA, "NIBP dia")),
            "hr": ((Parameter.HR, "HR"),),
            "spo2": ((Parameter.SPO2, "SpO\u2082"),),
        }
        for key, parameters in groups.items():
            points = [(t, v, name) for parameter, name in parameters for t, v in store.manual_points(parameter)]
            shown = (len(points), self.t0)  # a new origin moves them too
            if shown == self._manual_shown.get(key, (0, self.t0)):
                continue
            self._manual_shown[key] = shown
            xs = self.minutes(np.asarray([p[0] for p in points], dtype=np.float64))
            ys = np.asarray([p[1] for p in points], dtype=np.float64)
            tips = [f"{name} {v:g} entered by hand" for _, v, name in points]
            self.manual_marks[key].setData(x=xs, y=ys, data=tips)

    # -- data ------------------------------------------------------------------------------
    def _refresh_resp(self, store: TrendStore) -> None:
        """RR and EtCO2 curves; the row is added with the first valid value of either."""
        tr, vr = store.trends[Parameter.RESP_RATE].snapshot()
        te, ve = store.trends[Parameter.ETCO2].snapshot()
        if self.resp is None:
            if not (np.isfinite(vr).any() or np.isfinite(ve).any()):
                return
            self._add_resp_row()
        assert self.rr_curve is not None and self.etco2_curve is not None
        tr, vr = with_gaps(tr, vr, GAP_SECONDS)
        self.rr_curve.setData(self.minutes(tr), vr)
        te, ve = with_gaps(te, ve, GAP_SECONDS)
        self.etco2_curve.setData(self.minutes(te), ve)

    def minutes(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        assert self.t0 is not None
        return (t - self.t0) / 60.0

    def _curve_interval(self) -> float:
        """Seconds between two redraws of the curves: one pixel column of the time axis (a new
        second of a 4-h trend moves nothing on screen), at least 1 s and at most CURVE_REDRAW_S."""
        (x0, x1), _ = self.bp.getViewBox().viewRange()
        width_px = max(1.0, float(self.bp.getViewBox().width()))
        return min(CURVE_REDRAW_S, max(1.0, float(x1 - x0) * 60.0 / width_px))

    def _nibp_key(self, store: TrendStore) -> tuple[object, ...]:
        """Changes whenever a NIBP value arrives (the bars are redrawn only then)."""
        return tuple((len(store.trends[p]), store.trends[p].last())
                     for p in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN))

    def refresh(self, store: TrendStore, now: float) -> None:
        """Redraw from snapshots of `store` up to `now` (epoch seconds).

        Called every second, it draws only what changed on screen: a NIBP measurement at once, the
        curves and the "now" line once per pixel column of the time axis (`_curve_interval`), so
        the GUI thread repaints the plots every few seconds instead of every second; a new origin
        or scale redraws everything at once."""
        if self.t0 is None:
            return
        # a new origin or scale moves everything; a new store (another kind of monitor) replaces it
        forced = (self.t0, self._x_span) != self._drawn_for or store is not self._drawn_store
        self._drawn_store = store
        resp_appears = self.resp is None and any(
            (latest := store.latest(p)) is not None and latest.value is not None
            for p in (Parameter.RESP_RATE, Parameter.ETCO2))
        if forced or resp_appears or now - self._curves_at >= self._curve_interval() or now < self._curves_at:
            self._curves_at = now
            self._refresh_curves(store, now)
        nibp = self._nibp_key(store)
        if forced or nibp != self._nibp_drawn:
            self._nibp_drawn = nibp
            self._refresh_nibp(store, forced)
        self._show_manual(store)
        self._drawn_for = (self.t0, self._x_span)
        # the view grows in 5-minute steps: a range moved on every redraw makes pyqtgraph rebuild
        # all six axes and paint the plot twice, the largest cost of the live display (benchmarks)
        now_min = (now - self.t0) / 60.0
        span = max(60.0, math.ceil((now_min + 10.0) / 5.0) * 5.0)
        if span != self._x_span:
            self._x_span = span
            self.bp.setXRange(self._x_start(), span, padding=0)
            self._layout_timer.stop()
            self._layout_labels()  # at once: the labels follow the new scale in this very frame
            self._curves_at = now
            self._refresh_curves(store, now)  # and the curves' pixel columns with it
            self._drawn_for = (self.t0, self._x_span)

    def _set_marks(self, item: pg.ScatterPlotItem, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                   forced: bool) -> None:
        """Draw the marks `x`, `y`: only the new ones when the drawn ones are their unchanged start
        (a new cuff reading adds one mark; redrawing all of them cost ~5 ms of the GUI thread)."""
        drawn = self._marks_drawn.get(id(item))
        n = 0 if drawn is None else len(drawn[0])
        if (not forced and drawn is not None and 0 < n <= len(x)
                and np.array_equal(x[:n], drawn[0]) and np.array_equal(y[:n], drawn[1])):
            if len(x) > n:
                item.addPoints(x=x[n:], y=y[n:])
        else:
            item.setData(x, y)
        self._marks_drawn[id(item)] = (x.copy(), y.copy())

    def _refresh_curves(self, store: TrendStore, now: float) -> None:
        """HR (or PR), SpO2, RR and EtCO2 curves and the "now" line, from snapshots of `store`."""
        assert self.t0 is not None
        t, v = store.trends[Parameter.HR].snapshot()
        hr_label = "HR"
        if not np.isfinite(v).any():  # no HR from the monitor: the pulse rate, judged on the HR limits
            tp, vp = store.trends[Parameter.PULSE_RATE].snapshot()
            if np.isfinite(vp).any():
                t, v, hr_label = tp, vp, "PR"
        if hr_label != self._hr_label:
            self._hr_label = hr_label
            self.hr.setLabel("left", f"{hr_label} /min", color=theme.TEXT_DIM)
        t, v = with_gaps(t, v, GAP_SECONDS)
        self.hr_curve.setData(self.minutes(t), v)
        self._refresh_resp(store)
        t, v = store.trends[Parameter.SPO2].snapshot()
        t, v = with_gaps(t, v, GAP_SECONDS)
        self.spo2_curve.setData(self.minutes(t), v)
        now_min = (now - self.t0) / 60.0
        for line in self._now_lines:
            line.setValue(now_min)

    def _refresh_nibp(self, store: TrendStore, forced: bool = True) -> None:
        """NIBP marks (systolic, diastolic, mean) and the bar of each cuff measurement."""
        for item, parameter in ((self.nibp_sys, Parameter.NIBP_SYS), (self.nibp_dia, Parameter.NIBP_DIA),
                                (self.nibp_mean, Parameter.NIBP_MEAN)):
            t, v = store.trends[parameter].snapshot()
            ok = np.isfinite(v)
            self._set_marks(item, self.minutes(t[ok]), v[ok], forced)
        # bars: the systolic and diastolic of one cuff measurement (model/nibp.py groups them)
        bars = [m for m in store.nibp_measurements() if m.has_pressure]
        if bars:
            xs = np.repeat(self.minutes(np.array([m.time for m in bars], dtype=np.float64)), 2)
            ys = np.array([v for m in bars for v in (m.systolic, m.diastolic)], dtype=np.float64)
            self.nibp_bars.setData(xs, ys)
        else:
            self.nibp_bars.setData([], [])

"""Page 2 painted: the trend chart. Maps the minutes and values of
`kapmonitor.export.report.chart.ChartContent` onto three panels (NIBP, HR, SpO2) with the event
and alarm strip above and the time axis and music strip below.

Thread-safety: runs on the one thread painting the report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainterPath, QPen, QPolygonF

from kapmonitor.export.report.chart import ChartContent, MusicStrip, PanelContent, Segment, Series
from kapmonitor.report_pdf.page import GREY, INK, LIGHT, PRIORITY_COLOURS, PX_PER_MM, Page, mm, tone

log = logging.getLogger(__name__)

SYS_COLOUR = QColor("#b01c1c")
DIA_COLOUR = QColor("#1c4fb0")
# the screen's colour for the NIBP mean (kapmonitor.ui.theme, #ffb347), darkened to read on white paper
MEAN_SCREEN_COLOUR = "#ffb347"
MEAN_COLOUR = QColor(MEAN_SCREEN_COLOUR).darker(135)
HR_COLOUR = QColor("#138a36")
SPO2_COLOUR = QColor("#0b6f8c")
INFUSION_COLOUR = QColor("#2a5db0")
INFUSION_FILL = QColor(70, 130, 220, 40)
PAUSE_FILL = QColor(120, 120, 120, 70)
MUSIC_COLOURS = [QColor("#cfe3f7"), QColor("#d9f0d3"), QColor("#fbe3c8"), QColor("#e8dcf2"), QColor("#f2f2c4")]
MARKER_H = 13.0  # event / alarm strip
LEGEND_H = 6.0


@dataclass
class Axis:
    x0: float
    x1: float
    m0: float  # minutes at x0
    m1: float

    def x(self, minute: float) -> float:
        return self.x0 + (minute - self.m0) / (self.m1 - self.m0) * (self.x1 - self.x0)


@dataclass
class Panel:
    top: float
    height: float
    content: PanelContent

    def y(self, value: float) -> float:
        lo, hi = self.content.lo, self.content.hi
        v = min(max(value, lo), hi)
        return self.top + self.height - (v - lo) / (hi - lo) * self.height


def draw_chart(pg: Page, c: ChartContent, y0: float) -> None:
    ax = Axis(20.0, pg.w - 14.0, c.m0, c.m1)
    pg.text(0, y0, pg.w, 5, c.title, 10, bold=True)
    y = y0 + 6
    _legend(pg, y)
    y += LEGEND_H
    music_h = 7.0 if c.music is not None else 0.0
    bottom = pg.h - 9 - 12 - music_h
    avail = bottom - y - MARKER_H
    bp = Panel(y + MARKER_H, avail * 0.48, c.bp)
    hr = Panel(bp.top + bp.height + 3, avail * 0.28 - 3, c.hr)
    sp = Panel(hr.top + hr.height + 3, avail * 0.24 - 3, c.spo2)
    panels = (bp, hr, sp)
    top, bot = bp.top, sp.top + sp.height
    _infusion(pg, c, ax, top, bot)
    for panel in panels:
        _panel_frame(pg, ax, panel)
    for panel in panels:
        _limits(pg, ax, panel)
    pg.p.save()
    pg.p.setClipRect(QRectF(mm(ax.x0), mm(top), mm(ax.x1 - ax.x0), mm(bot - top)))
    _nibp(pg, c, ax, bp)
    _curve(pg, ax, hr, c.hr_curve, HR_COLOUR)
    _curve(pg, ax, sp, c.spo2_curve, SPO2_COLOUR)
    pg.p.restore()
    _event_strip(pg, c, ax, bp.top - MARKER_H, MARKER_H, bot)
    _time_axis(pg, c, ax, panels, bot)
    if c.music is not None:
        _music_strip(pg, c.music, ax, bot + 10, music_h - 1)


def _infusion(pg: Page, c: ChartContent, ax: Axis, top: float, bot: float) -> None:
    """The infusion window and its pauses, behind everything."""
    if c.infusion is None:
        return
    start, end = c.infusion
    pg.rect(ax.x(start), top, ax.x(end) - ax.x(start), bot - top, fill=INFUSION_FILL)
    pg.text(ax.x(start) + 0.5, top + 0.5, 40, 4, "infusion", 7, bold=True, colour=INFUSION_COLOUR)
    for p0, p1 in c.pauses:
        pg.rect(ax.x(p0), top, ax.x(p1) - ax.x(p0), bot - top, fill=PAUSE_FILL)
        pg.text(ax.x(p0) + 0.3, top + 4.5, 20, 4, "pause", 6.5, colour=GREY)


def _panel_frame(pg: Page, ax: Axis, panel: Panel) -> None:
    c = panel.content
    pg.rect(ax.x0, panel.top, ax.x1 - ax.x0, panel.height, border=GREY, width=0.25)
    v = np.ceil(c.lo / c.step) * c.step
    while v <= c.hi + 1e-9:
        yy = panel.y(v)
        pg.line(ax.x0, yy, ax.x1, yy, LIGHT, 0.15)
        pg.text(ax.x0 - 11, yy - 2, 10, 4, f"{v:g}", 7, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
        v += c.step
    pg.p.save()
    pg.p.translate(mm(ax.x0 - 15), mm(panel.top + panel.height / 2))
    pg.p.rotate(-90)
    pg.font(8, bold=True)
    pg.p.setPen(QPen(INK))
    pg.p.drawText(QRectF(mm(-panel.height / 2), mm(-3), mm(panel.height), mm(6)), int(Qt.AlignmentFlag.AlignCenter),
                  c.label)  # fmt: skip
    pg.p.restore()


def _limits(pg: Page, ax: Axis, panel: Panel) -> None:
    for limit in panel.content.limits:
        colour = tone(limit.tone)
        style = Qt.PenStyle.DashLine if limit.dashed else Qt.PenStyle.SolidLine
        yy = panel.y(limit.value)
        pg.line(ax.x0, yy, ax.x1, yy, colour, 0.3, style)
        pg.text(ax.x1 + 0.6, yy - 2, 14, 4, limit.text, 6, colour=colour)


def _curve(pg: Page, ax: Axis, panel: Panel, segments: tuple[Segment, ...], colour: QColor) -> None:
    """A dense series: its (low, high) envelope per bucket, and the line through the middles.

    The buckets (export.report.chart) are about one printed pixel wide each: the envelope is their
    per-pixel min/max. Page coordinates are computed in numpy with the arithmetic of Axis.x,
    Panel.y and mm, so the drawing is the same as point by point."""
    env = QColor(colour)
    env.setAlpha(60)
    for seg in segments:
        m, lo, hi = (np.array(c, dtype=np.float64) for c in zip(*seg, strict=True))
        xs = _page_x(ax, m).tolist()
        if bool((hi - lo > 0).any()):
            top = _page_y(panel, hi).tolist()
            bottom = _page_y(panel, lo).tolist()
            poly = QPolygonF(
                [QPointF(x, y) for x, y in zip(xs, top, strict=True)]
                + [QPointF(x, y) for x, y in zip(reversed(xs), reversed(bottom), strict=True)]
            )
            pg.p.setPen(Qt.PenStyle.NoPen)
            pg.p.setBrush(QBrush(env))
            pg.p.drawPolygon(poly)
            pg.p.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath()
        mid = _page_y(panel, (lo + hi) / 2).tolist()
        path.moveTo(QPointF(xs[0], mid[0]))
        for x, y in zip(xs[1:], mid[1:], strict=True):
            path.lineTo(x, y)
        pg.p.setPen(QPen(colour, mm(0.3)))
        pg.p.drawPath(path)


def _page_x(ax: Axis, minutes: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """mm(ax.x(m)) for every m."""
    return (ax.x0 + (minutes - ax.m0) / (ax.m1 - ax.m0) * (ax.x1 - ax.x0)) * PX_PER_MM


def _page_y(panel: Panel, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """mm(panel.y(v)) for every v."""
    lo, hi = panel.content.lo, panel.content.hi
    v = np.minimum(np.maximum(values, lo), hi)
    return (panel.top + panel.height - (v - lo) / (hi - lo) * panel.height) * PX_PER_MM


def _nibp(pg: Page, c: ChartContent, ax: Axis, panel: Panel) -> None:
    n = c.nibp
    for minute, sys, dia in n.whiskers:
        x = ax.x(minute)
        pg.line(x, panel.y(sys), x, panel.y(dia), GREY, 0.2)
    _markers(pg, ax, panel, n.systolic, SYS_COLOUR, "v")
    _markers(pg, ax, panel, n.diastolic, DIA_COLOUR, "^")
    # manual readings: hollow diamonds on top, so a hand-entered value is never mistaken for the monitor's
    _markers(pg, ax, panel, n.manual_systolic, SYS_COLOUR, "d", size=1.6)
    _markers(pg, ax, panel, n.manual_diastolic, DIA_COLOUR, "d", size=1.6)
    if len(n.mean.minutes):
        path = QPainterPath()
        for i, (t, v) in enumerate(zip(n.mean.minutes.tolist(), n.mean.values.tolist(), strict=True)):
            pt = QPointF(mm(ax.x(t)), mm(panel.y(v)))
            path.moveTo(pt) if i == 0 else path.lineTo(pt)
        pg.p.setPen(QPen(MEAN_COLOUR, mm(0.25), Qt.PenStyle.DotLine))
        pg.p.drawPath(path)
        _markers(pg, ax, panel, n.mean, MEAN_COLOUR, "o")


def _markers(pg: Page, ax: Axis, panel: Panel, series: Series, colour: QColor, shape: str, size: float = 1.3) -> None:
    pg.p.setPen(QPen(colour, mm(0.25)))
    pg.p.setBrush(QBrush(colour))
    s = mm(size)
    for m, v in zip(series.minutes.tolist(), series.values.tolist(), strict=True):
        x, y = mm(ax.x(m)), mm(panel.y(v))
        if shape == "v":
            pg.p.drawPolygon(QPolygonF([QPointF(x - s, y - s), QPointF(x + s, y - s), QPointF(x, y)]))
        elif shape == "^":
            pg.p.drawPolygon(QPolygonF([QPointF(x - s, y + s), QPointF(x + s, y + s), QPointF(x, y)]))
        elif shape == "d":
            pg.p.setBrush(QBrush(QColor("white")))
            pg.p.drawPolygon(QPolygonF([QPointF(x, y - s), QPointF(x + s, y), QPointF(x, y + s), QPointF(x - s, y)]))
        else:
            pg.p.drawEllipse(QPointF(x, y), s * 0.5, s * 0.5)
    pg.p.setBrush(Qt.BrushStyle.NoBrush)


def _legend(pg: Page, y: float) -> None:
    """The key of the symbols and colours this painter uses."""
    items = [
        ("▼ systolic", SYS_COLOUR),
        ("▲ diastolic", DIA_COLOUR),
        ("● mean", MEAN_COLOUR),
        ("HR", HR_COLOUR),
        ("SpO₂", SPO2_COLOUR),
        ("limits: - - ** medium, — *** high", PRIORITY_COLOURS["high"]),
        ("▮ infusion", INFUSION_COLOUR),
        ("▮ pause", GREY),
        ("◇ manual", INK),
    ]
    x = 0.0
    for text, colour in items:
        f = pg.font(7.5, bold=True)
        w = QFontMetricsF(f, pg.p.device()).horizontalAdvance(text) / PX_PER_MM + 4
        pg.text(x, y, w, 4.5, text, 7.5, bold=True, colour=colour)
        x += w


def _event_strip(pg: Page, c: ChartContent, ax: Axis, y: float, h: float, bot: float) -> None:
    """Numbered event flags (see the events table) and alarm triangles by priority above the chart."""
    pg.text(ax.x0 - 19, y, 18, 8.7, "events", 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    pg.text(ax.x0 - 19, y + 8.5, 18, h - 10.5, "alarms", 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    row_end = [-1e9, -1e9, -1e9]  # right edge of the last label in each label row
    for minute, label in c.events:
        x = ax.x(minute)
        if not ax.x0 <= x <= ax.x1:
            continue
        free = [r for r in range(3) if x - 2.2 > row_end[r]]
        row = free[0] if free else int(np.argmin(row_end))
        row_end[row] = x + 2.2
        pg.line(x, y + 2.9 * (row + 1), x, bot, QColor(80, 80, 80, 120), 0.15, Qt.PenStyle.DotLine)
        pg.text(x - 2.2, y + 2.9 * row, 4.4, 2.9, label, 5, bold=True, colour=INK, align=Qt.AlignmentFlag.AlignHCenter)
    for minute, priority in c.alarms:
        x = ax.x(minute)
        if not ax.x0 <= x <= ax.x1:
            continue
        colour = tone(priority)
        pg.p.setPen(QPen(colour, mm(0.2)))
        pg.p.setBrush(QBrush(colour))
        yy = y + h - 1
        s = 1.5
        pg.p.drawPolygon(
            QPolygonF([QPointF(mm(x - s), mm(yy - 2 * s)), QPointF(mm(x + s), mm(yy - 2 * s)), QPointF(mm(x), mm(yy))])
        )
        pg.p.setBrush(Qt.BrushStyle.NoBrush)


def _time_axis(pg: Page, c: ChartContent, ax: Axis, panels: tuple[Panel, ...], bot: float) -> None:
    for m, minutes, clock in c.ticks:
        x = ax.x(m)
        pg.line(x, bot, x, bot + 1.2, GREY, 0.2)
        for panel in panels:
            pg.line(x, panel.top, x, panel.top + panel.height, LIGHT, 0.12)
        pg.text(x - 8, bot + 1.2, 16, 4, minutes, 7, align=Qt.AlignmentFlag.AlignHCenter)
        pg.text(x - 8, bot + 4.6, 16, 4, clock, 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignHCenter)
    pg.text(ax.x0 - 19, bot + 1.2, 12, 4, "min", 7, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    pg.text(ax.x0 - 19, bot + 4.6, 12, 4, "clock", 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignRight)


def _music_strip(pg: Page, music: MusicStrip, ax: Axis, y: float, h: float) -> None:
    pg.text(ax.x0 - 19, y, 18, h, "music", 6.5, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    for start, end, label, index in music.bands:
        x0 = max(ax.x(start), ax.x0)
        x1 = min(ax.x(end), ax.x1)
        if x1 <= x0:
            continue
        pg.rect(x0, y, x1 - x0, h, fill=MUSIC_COLOURS[index % len(MUSIC_COLOURS)], border=GREY, width=0.12)
        pg.text(x0 + 0.5, y, x1 - x0 - 1, h, label, 6.5)
    for t in music.track_starts:  # a tick at every track change
        x = ax.x(t)
        if ax.x0 <= x <= ax.x1:
            pg.line(x, y + h - 1.2, x, y + h, INK, 0.2)
    if not music.bands:
        pg.text(ax.x0, y, 60, h, "no music played", 6.5, colour=GREY)

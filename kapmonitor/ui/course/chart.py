"""The course chart on screen: every instrument's totals by date over the whole course, the
infusions as vertical lines, each instrument's response line (50 % of its baseline, dashed) and
remission threshold (dotted) labelled with their definition, and where response, remission and
relapse were first reached. Drawn from kapmonitor.course.report.CourseChart, the same content
the course PDF paints. GUI thread only.
"""

from __future__ import annotations

import datetime as dt
import logging

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPen

from kapmonitor.course.report import CourseChart
from kapmonitor.ui import theme

log = logging.getLogger(__name__)

INFUSION_COLOUR = "#d7a000"


def day_x(d: dt.date) -> float:
    """A date on the chart's time axis: local noon of that day (seconds)."""
    return dt.datetime(d.year, d.month, d.day, 12).timestamp()


class CourseChartWidget(pg.PlotWidget):
    """Scores over the course; `show_chart` redraws it. `labels` keeps every text drawn (tests)."""

    def __init__(self) -> None:
        super().__init__(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.setBackground(theme.BACKGROUND)
        self.setMinimumHeight(240)
        self.getPlotItem().showGrid(x=False, y=True, alpha=0.15)
        self.getPlotItem().setLabel("left", "total")
        self.getPlotItem().setMenuEnabled(False)
        self.getPlotItem().hideButtons()
        # top right: empty late in a course, when the scores have come down
        self.legend = self.getPlotItem().addLegend(offset=(-10, 10), labelTextSize="10pt")
        self.labels: list[str] = []
        self.curves: dict[str, pg.PlotDataItem] = {}

    def show_chart(self, c: CourseChart | None) -> None:
        item = self.getPlotItem()
        item.clear()
        self.legend.clear()
        self.labels = []
        self.curves = {}
        if c is None:
            return
        font = QFont()
        font.setPixelSize(theme.scaled_px(13))
        scale = 0
        for s in c.series:
            xs = [day_x(d) for d, _ in s.points]
            ys = [t for _, t in s.points]
            scale = max([scale, *ys])
            colour = QColor(s.colour).lighter(150)
            curve = item.plot(xs, ys, pen=pg.mkPen(colour, width=2.5), symbol="o", symbolSize=8,
                              symbolBrush=colour, symbolPen=None, name=f"{s.name} total")
            self.curves[s.instrument] = curve
            lines = [(s.remission_line, Qt.PenStyle.DotLine, f"{s.name} remission ≤ {s.remission_line:g}")]
            if s.response_line is not None:
                lines.append((s.response_line, Qt.PenStyle.DashLine,
                              f"{s.name} response ≤ {s.response_line:g} (−50 % of baseline)"))
            for value, style, text in lines:
                # a line across the course, named in the legend (top right, empty late in a course):
                # labels on the lines themselves collide with the scores at 590 px wide
                pen = QPen(colour, 1.5)
                pen.setStyle(style)
                pen.setCosmetic(True)
                item.plot([day_x(c.start) - 86400 * 5, day_x(c.end) + 86400 * 5], [value, value], pen=pen, name=text)
                self.labels.append(text)
            for day, what in ((s.response_reached, "response"), (s.remission_reached, "remission"),
                              (s.relapse, "relapse")):
                if day is None:
                    continue
                total = next(t for d, t in s.points if d == day)
                text = f"◆ {s.name} {what} {day.isoformat()}"
                mark = pg.TextItem(text, color=colour, anchor=(0, 0 if what != "relapse" else 1))
                mark.setFont(font)
                mark.setPos(day_x(day), total)
                item.addItem(mark)
                self.labels.append(text)
        for day, label in c.infusions:
            pen = QPen(QColor(INFUSION_COLOUR), 1.5)
            pen.setCosmetic(True)
            line = pg.InfiniteLine(day_x(day), angle=90, pen=pen)
            item.addItem(line)
            self.labels.append(f"{label} {day.isoformat()}")
        if c.infusions:
            text = f"▼ infusions 1–{len(c.infusions)}"
            mark = pg.TextItem(text, color=INFUSION_COLOUR, anchor=(0, 0))
            mark.setFont(font)
            mark.setPos(day_x(c.infusions[0][0]), scale + 4)
            item.addItem(mark)
        item.setXRange(day_x(c.start) - 86400 * 5, day_x(c.end) + 86400 * 5, padding=0)
        item.setYRange(0, scale + 5, padding=0)

"""The course report painted into a PDF (QPdfWriter + QPainter): page 1 the outcome, the chart of
the scores over the whole course (infusions marked, response and remission thresholds drawn and
labelled) and the definitions; then the scores, infusions, take-home playlists and follow-up tables.

The content comes from kapmonitor.course.report (Qt-free), the same as the course view shows.
Thread-safety: as report_pdf.writer (a worker thread once a QApplication exists).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from kapmonitor import __version__
from kapmonitor.course.report import CourseChart, CourseReport
from kapmonitor.export.report.content import Chrome
from kapmonitor.report_pdf.page import DPI, GREY, INK, LIGHT, PX_PER_MM, Page, content_top, draw_chrome, ensure_app, mm
from kapmonitor.report_pdf.summary import section
from kapmonitor.report_pdf.tables import draw_table, layout_rows, paginate

log = logging.getLogger(__name__)

PAPER_SIZES = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}
PAGE1_TITLE = "Course report — outcome"
TABLES_TITLE = "Course report — tables"
CHART_H = 95.0


def chrome(report: CourseReport) -> Chrome:
    return Chrome(report.header, f"kapmonitor {__version__} · course of {report.pseudonym} · scores entered by "
                  "clinicians; BDI-II items are never shown", report.simulated, False,
                  f"Course report {report.pseudonym}")


def write_course_pdf(report: CourseReport, path: Path, paper: str = "a4") -> None:
    """Paint `report` into the PDF file `path` (A4 or Letter). Raises OSError / ValueError."""
    ensure_app()
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}")
    ch = chrome(report)
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageSize(QPageSize(PAPER_SIZES[paper]))
    writer.setPageOrientation(QPageLayout.Orientation.Portrait)
    writer.setPageMargins(QMarginsF(14, 12, 14, 12), QPageLayout.Unit.Millimeter)
    writer.setTitle(ch.document_title)
    writer.setCreator(f"kapmonitor {__version__}")
    rect = writer.pageLayout().paintRectPixels(DPI)
    w_mm, h_mm = rect.width() / PX_PER_MM, rect.height() / PX_PER_MM
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write the PDF file {path}")
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pg = Page(painter, w_mm, h_mm)
        tables = (report.scores, report.infusions, report.playlists, report.follow_up)
        layouts = [layout_rows(pg, t) for t in tables]
        top = content_top(ch)
        pages = paginate([[h for _, h in lay] for lay in layouts], top, h_mm - 9 - top)
        total = 1 + len(pages)
        y = draw_chrome(pg, ch, PAGE1_TITLE, 1, total)
        _page1(pg, report, y)
        for n, page in enumerate(pages, start=2):
            writer.newPage()
            y = draw_chrome(pg, ch, TABLES_TITLE, n, total)
            for k, a, z in page:
                y = draw_table(pg, y, tables[k], layouts[k], a, z)
    finally:
        painter.end()
    log.debug("course PDF written to %s", path)


def _page1(pg: Page, r: CourseReport, y: float) -> None:
    y = section(pg, y, "Outcome")
    for line in r.outcome_lines:
        colour = QColor("#d01010") if line.startswith("SAFETY") or "RELAPSE" in line else INK
        y += pg.wrap(0, y, pg.w, line, 8.5, colour) + 1.2
    y = section(pg, y + 2, "Scores over the course")
    draw_course_chart(pg, r.chart, y, CHART_H)
    y += CHART_H + 4
    y = section(pg, y, "Definitions (kapmonitor.course.outcomes)")
    for line in r.definitions:
        y += pg.wrap(0, y, pg.w, line, 7.5, GREY) + 0.8


def draw_course_chart(pg: Page, c: CourseChart, y0: float, h: float) -> None:
    """Totals by date, one panel per instrument scale (0..max), infusions as vertical lines, the
    response line (50 % of baseline, dashed) and the remission threshold (dotted) labelled."""
    left, right = 12.0, pg.w - 50.0
    top, bot = y0 + 2, y0 + h - 10
    span = max((c.end - c.start).days, 1)

    def x(d: dt.date) -> float:
        return left + (d - c.start).days / span * (right - left)

    top_scale = max((s.max_total for s in c.series), default=27)
    scale = min(top_scale, max((t for s in c.series for _, t in s.points), default=0) + 6)

    def yv(v: float) -> float:
        return bot - v / max(scale, 1) * (bot - top)

    pg.rect(left, top, right - left, bot - top, border=GREY, width=0.2)
    for v in range(0, int(scale) + 1, 10 if scale > 30 else 5):
        pg.line(left, yv(v), right, yv(v), LIGHT, 0.15)
        pg.text(0, yv(v) - 2, left - 1, 4, str(v), 7, colour=GREY, align=Qt.AlignmentFlag.AlignRight)
    # months on the time axis
    d = dt.date(c.start.year, c.start.month, 1)
    while d <= c.end:
        if d >= c.start:
            pg.line(x(d), bot, x(d), bot + 1.2, GREY, 0.2)
            pg.text(x(d) - 8, bot + 1.2, 16, 4, d.strftime("%b %y"), 6.5, colour=GREY,
                    align=Qt.AlignmentFlag.AlignHCenter)
        d = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
    for inf_day, _label in c.infusions:
        pg.line(x(inf_day), top, x(inf_day), bot, QColor("#7a5200"), 0.35)
    if c.infusions:
        pg.text(x(c.infusions[0][0]) + 0.5, top, 40, 4, f"▼ {len(c.infusions)} infusions", 6.5,
                colour=QColor("#7a5200"))
    for s in c.series:
        colour = QColor(s.colour)
        lines = [(s.remission_line, Qt.PenStyle.DotLine, f"{s.name} remission ≤ {s.remission_line:g}")]
        if s.response_line is not None:
            lines.append((s.response_line, Qt.PenStyle.DashLine,
                          f"{s.name} response ≤ {s.response_line:g} (−50 % of baseline)"))
        for value, style, text in lines:
            pg.line(left, yv(value), right, yv(value), colour, 0.3, style)
            pg.text(right + 1, yv(value) - 2, pg.w - right - 1, 4, text, 6, colour=colour)
        pen = QPen(colour, mm(0.5))
        pg.p.setPen(pen)
        pts = [QPointF(mm(x(d)), mm(yv(t))) for d, t in s.points]
        for a, b in itertools.pairwise(pts):
            pg.p.drawLine(a, b)
        pg.p.setBrush(QBrush(colour))
        for p in pts:
            pg.p.drawEllipse(p, mm(0.8), mm(0.8))
        pg.p.setBrush(Qt.BrushStyle.NoBrush)
        marks = [(s.response_reached, "response"), (s.remission_reached, "remission"), (s.relapse, "relapse")]
        for mark, what in marks:
            if mark is None:
                continue
            total = next(t for d2, t in s.points if d2 == mark)
            pg.text(x(mark) + 1, yv(total) + (1 if what != "relapse" else -5), 50, 4,
                    f"◆ {s.name} {what} {mark.isoformat()}", 6,
                    bold=True, colour=colour)
    # legend under the axis
    lx = left
    for s in c.series:
        pg.line(lx, bot + 7.5, lx + 6, bot + 7.5, QColor(s.colour), 0.6)
        pg.text(lx + 7, bot + 5.5, 40, 4, f"{s.name} total", 7, colour=QColor(s.colour))
        lx += 40

"""The record tables painted: long cells wrap (at most three lines, then elided), tables continue
over as many pages as their rows need, and no row is ever lost between pages.

Thread-safety: runs on the one thread painting the report.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen

from kapmonitor.export.report.tables import TableContent
from kapmonitor.report_pdf.page import FONT_FAMILY, GREY, INK, LIGHT, PX_PER_MM, Page, mm, tone

log = logging.getLogger(__name__)

ROW_H = 4.6
HEAD_H = 12.0
TABLE_PT = 7.5
MAX_LINES = 3  # a cell wraps onto at most this many lines, then it is elided

Layout = list[tuple[list[str], float]]  # every row's cell texts and its height (mm)
PageSlices = list[list[tuple[int, int, int]]]  # per page: (table index, first row, end row)


def _cell_lines(fm: QFontMetricsF, text: str, width_mm: float) -> tuple[str, int]:
    """(text to draw, number of lines) of one table cell wrapped to `width_mm`."""
    width = mm(width_mm)
    if fm.horizontalAdvance(text) <= width:
        return text, 1
    flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
    lines = round(fm.boundingRect(QRectF(0, 0, width, 1e6), flags, text).height() / fm.lineSpacing())
    if lines > MAX_LINES:
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, width * MAX_LINES * 0.92)
        lines = MAX_LINES
    return text, max(lines, 1)


def layout_rows(pg: Page, table: TableContent) -> Layout:
    """Every row's cell texts and its height in mm (long cells wrap instead of being cut)."""
    f = QFont(FONT_FAMILY)
    f.setPointSizeF(TABLE_PT)
    f.setBold(True)  # highlighted rows are bold: size for the wider face
    fm = QFontMetricsF(f, pg.p.device())
    line_mm = fm.lineSpacing() / PX_PER_MM
    out = []
    for r in table.rows:
        texts, lines = [], 1
        for (_, width), cell in zip(table.columns, r.cells, strict=True):
            text, n = _cell_lines(fm, cell, width * pg.w - 1.5)
            texts.append(text)
            lines = max(lines, n)
        out.append((texts, ROW_H if lines == 1 else lines * line_mm + 1.2))
    return out


def paginate(heights: list[list[float]], first_y: float, usable_h: float) -> PageSlices:
    """Split tables into pages: a list of (table index, first row, end row) per page."""
    pages: PageSlices = []
    page: list[tuple[int, int, int]] = []
    bottom = first_y + usable_h
    y = first_y
    for k, hs in enumerate(heights):
        n = len(hs)
        i = 0
        while True:
            # start the table on a new page unless its title and a few rows fit here
            need = HEAD_H + sum(hs[i : i + 3]) if n else HEAD_H + ROW_H
            if y + need > bottom and page:
                pages.append(page)
                page, y = [], first_y
            y += HEAD_H
            j = i
            while j < n and (y + hs[j] <= bottom - 2 or j == i):
                y += hs[j]
                j += 1
            page.append((k, i, j))
            y += (ROW_H if not n else 0) + 4
            i = j
            if i >= n:
                break
            pages.append(page)
            page, y = [], first_y
    if page:
        pages.append(page)
    return pages


def _heading(pg: Page, y: float, table: TableContent, continued: bool) -> float:
    cont = " (continued)" if continued else ""
    title = f"{table.title}{cont} — {len(table.rows)} rows" if table.rows else table.title
    pg.rect(0, y, pg.w, 6, fill=LIGHT)
    pg.text(1.5, y, pg.w - 3, 6, title, 10, bold=True)
    y += 6.5
    x = 0.0
    for name, width in table.columns:
        pg.text(x + 1, y, width * pg.w - 1.5, 5, name, 7.5, bold=True, colour=GREY)
        x += width * pg.w
    y += 5.5
    pg.line(0, y - 0.3, pg.w, y - 0.3, GREY, 0.2)
    return y


def draw_table(pg: Page, y: float, table: TableContent, layout: Layout, a: int, z: int) -> float:
    """Rows a..z of `table` from `y` (mm); returns the y below them."""
    y = _heading(pg, y, table, a > 0)
    if not table.rows:
        pg.text(1, y, pg.w, ROW_H, "none recorded", 8.5, colour=GREY)
        return y + ROW_H + 4
    wrap = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)
    for i in range(a, z):
        row = table.rows[i]
        texts, h = layout[i]
        if (i - a) % 2 == 1:
            pg.rect(0, y, pg.w, h, fill=QColor("#f5f5f5"))
        colour = tone(row.tone) if row.tone is not None else None
        x = 0.0
        for (_, width), text in zip(table.columns, texts, strict=True):
            if h == ROW_H:
                pg.text(x + 1, y, width * pg.w - 1.5, ROW_H, text, TABLE_PT, colour=colour or INK,
                        bold=colour is not None, elide=False)  # fmt: skip
            else:
                pg.font(TABLE_PT, bold=colour is not None)
                pg.p.setPen(QPen(colour or INK))
                pg.p.drawText(QRectF(mm(x + 1), mm(y + 0.6), mm(width * pg.w - 1.5), mm(h)), wrap, text)
            x += width * pg.w
        y += h
    return y + 4

"""Page 1 painted: the summary's sections laid out top to bottom, the events list cut where the
discharge block needs its room. Draws only what `kapmonitor.export.report.summary` says.

Thread-safety: runs on the one thread painting the report.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from kapmonitor.export.report import summary as content
from kapmonitor.export.report.summary import DischargeContent, Pairs, SummaryContent
from kapmonitor.report_pdf.page import GREY, INK, LIGHT, PRIORITY_COLOURS, Page, tone

log = logging.getLogger(__name__)

LINE_H = 4.8  # one events line
DISCHARGE_ROOM = 48.0  # kept free for the discharge block at the bottom of the page


def section(pg: Page, y: float, title: str) -> float:
    pg.rect(0, y, pg.w, 6, fill=LIGHT)
    pg.text(1.5, y, pg.w - 3, 6, title, 10, bold=True)
    return y + 7.5


def _pairs(pg: Page, y: float, pairs: Pairs, columns: int = 2, label_w: float = 30.0) -> float:
    col_w = pg.w / columns
    row_h = 5.2
    for i, (label, value) in enumerate(pairs):
        col, row = i % columns, i // columns
        x = col * col_w
        yy = y + row * row_h
        pg.text(x + 1.5, yy, label_w, row_h, label, 8.5, colour=GREY)
        pg.text(x + 1.5 + label_w, yy, col_w - label_w - 3, row_h, value, 9.5, bold=True)
    rows = (len(pairs) + columns - 1) // columns
    return y + rows * row_h + 2


def draw_summary(pg: Page, s: SummaryContent, y: float) -> None:
    y = section(pg, y, content.PATIENT_TITLE)
    y = _pairs(pg, y, s.patient, label_w=36)
    y = section(pg, y, content.DRUG_TITLE)
    y = _pairs(pg, y, s.drug, label_w=30)
    for note in s.notes:
        y += pg.wrap(4, y - 1, pg.w - 6, note.text, note.size, colour=tone(note.tone)) + 0.5
    for line in s.pauses:
        pg.text(4, y - 1, pg.w - 6, 5, line, 8.5)
        y += 4.6
    y += 1.5
    y = _vitals(pg, s, y)
    y = _alarms(pg, s, y)
    y = _events(pg, s, y)
    y = section(pg, y, content.DISCHARGE_TITLE)
    _discharge(pg, s.discharge, y)


def _vitals(pg: Page, s: SummaryContent, y: float) -> float:
    y = section(pg, y, content.VITALS_TITLE)
    cols = (0.0, 40.0, 105.0)
    pg.text(cols[0] + 1.5, y, 38, 5, "", 8.5)
    pg.text(cols[1] + 1.5, y, 60, 5, content.VITALS_HEADERS[0], 8.5, colour=GREY)
    pg.text(cols[2] + 1.5, y, pg.w - cols[2], 5, content.VITALS_HEADERS[1], 8.5, colour=GREY)
    y += 5
    for row in s.vitals:
        pg.text(cols[0] + 1.5, y, 38, 5.2, row.label, 9, bold=True)
        pg.text(cols[1] + 1.5, y, 62, 5.2, row.baseline, 9.5)
        colour = tone(row.tone)
        pg.text(cols[2] + 1.5, y, pg.w - cols[2] - 3, 5.2, row.peak, 9.5, bold=colour != INK, colour=colour)
        y += 5.2
    return y + 2


def _alarms(pg: Page, s: SummaryContent, y: float) -> float:
    y = section(pg, y, content.ALARMS_TITLE)
    x = 1.5
    for priority, label, count in s.alarms.counts:
        colour = PRIORITY_COLOURS[priority]
        pg.rect(x, y, 40, 7, fill=colour if count else None, border=colour)
        pg.text(x, y, 40, 7, label, 10, bold=True, colour=QColor("white") if count else INK,
                align=Qt.AlignmentFlag.AlignHCenter)  # fmt: skip
        x += 43
    pg.text(x + 2, y - 0.5, pg.w - x - 3, 4, s.alarms.technical, 8.5, colour=GREY)
    pg.text(x + 2, y + 3.5, pg.w - x - 3, 4, s.alarms.limit_changes, 8.5, colour=GREY)
    return y + 9.5


def _events(pg: Page, s: SummaryContent, y: float) -> float:
    """As many event lines as leave room for the discharge block; the rest are in the events table."""
    y = section(pg, y, s.events_title)
    footer_room = pg.h - 9 - DISCHARGE_ROOM
    shown = 0
    for e in s.events:
        if y > footer_room - 5:
            break
        pg.text(1.5, y, 30, LINE_H, e.when, 8.5, colour=GREY)
        pg.text(32, y, pg.w - 34, LINE_H, e.text, 9)
        y += LINE_H
        shown += 1
    if shown < len(s.events):
        pg.text(32, y, pg.w - 34, LINE_H, f"… {len(s.events) - shown} more in the events table", 8.5, colour=GREY)
        y += LINE_H
    if not s.events:
        pg.text(1.5, y, pg.w, LINE_H, "no events recorded", 9, colour=GREY)
        y += LINE_H
    if s.scales and y < footer_room:
        pg.text(1.5, y, 30, LINE_H, "Scales", 8.5, colour=GREY)
        pg.text(32, y, pg.w - 34, LINE_H, s.scales, 9)
        y += LINE_H
    return y + 2


def _discharge(pg: Page, d: DischargeContent, y: float) -> None:
    if not d.discharged:
        pg.text(1.5, y, pg.w - 3, 5, d.headline, 9.5, bold=True, colour=PRIORITY_COLOURS["high"])
        return
    pg.text(1.5, y, pg.w - 3, 5, d.headline, 9.5, bold=True)
    y += 5.5
    for note in d.notes:
        y += pg.wrap(1.5, y, pg.w - 3, note.text, note.size, colour=tone(note.tone)) + 0.5

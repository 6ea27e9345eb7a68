"""Drawing on one PDF page in millimetres, the report's colours, and the chrome of every page
(header, SIMULATED / DE-IDENTIFIED banners, footer, watermark).

Layout is in millimetres on the page's paint rectangle, so A4 and Letter both fit.

Thread-safety: a `Page` belongs to the one thread painting it; `ensure_app` is locked.
"""

from __future__ import annotations

import logging
import os
import threading

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QApplication

from kapmonitor.export.report.content import DEIDENTIFIED_BANNER, SIMULATED_BANNER, SIMULATED_WATERMARK, Chrome
from kapmonitor.export.report.text import Tone

log = logging.getLogger(__name__)

DPI = 300
PX_PER_MM = DPI / 25.4
FONT_FAMILY = "DejaVu Sans"

INK = QColor("#111111")
GREY = QColor("#666666")
LIGHT = QColor("#e6e6e6")
PRIORITY_COLOURS = {"high": QColor("#d01010"), "medium": QColor("#c89400"), "low": QColor("#0096b4")}
TONES: dict[Tone, QColor] = {
    "ink": INK,
    "grey": GREY,
    "high": PRIORITY_COLOURS["high"],
    "medium": PRIORITY_COLOURS["medium"],
    "low": PRIORITY_COLOURS["low"],
}

_app: QApplication | None = None
_app_lock = threading.Lock()


def ensure_app() -> None:
    """Fonts need a Qt application; the command line has none, so make an offscreen one.

    A QApplication (not just a QGuiApplication) so that widgets created later in the same process
    (tests, or the GUI) find the kind of application they need.
    """
    global _app
    with _app_lock:
        if QApplication.instance() is not None:
            return
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the PDF report needs a Qt application created on the main thread")
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _app = QApplication([])


def mm(x: float) -> float:
    return x * PX_PER_MM


def tone(name: Tone | None) -> QColor:
    return TONES[name] if name is not None else INK


class Page:
    """Drawing helpers in millimetres on one painter."""

    def __init__(self, painter: QPainter, width_mm: float, height_mm: float) -> None:
        self.p = painter
        self.w = width_mm
        self.h = height_mm

    def font(self, size_pt: float, bold: bool = False, mono: bool = False) -> QFont:
        f = QFont("DejaVu Sans Mono" if mono else FONT_FAMILY)
        f.setPointSizeF(size_pt)
        f.setBold(bold)
        self.p.setFont(f)
        return f

    def text(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        text: str,
        size: float = 9.0,
        bold: bool = False,
        colour: QColor = INK,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
        elide: bool = True,
    ) -> None:
        f = self.font(size, bold)
        self.p.setPen(QPen(colour))
        rect = QRectF(mm(x), mm(y), mm(w), mm(h))
        if elide:
            text = QFontMetricsF(f, self.p.device()).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        self.p.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), text)

    def wrap(self, x: float, y: float, w: float, text: str, size: float = 9.0, colour: QColor = INK) -> float:
        """Word-wrapped text; returns its height in mm."""
        f = self.font(size)
        self.p.setPen(QPen(colour))
        fm = QFontMetricsF(f, self.p.device())
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
        bound = fm.boundingRect(QRectF(0, 0, mm(w), 1e6), flags, text)
        self.p.drawText(QRectF(mm(x), mm(y), mm(w), bound.height() + 2), flags, text)
        return bound.height() / PX_PER_MM

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        colour: QColor = INK,
        width: float = 0.25,
        style: Qt.PenStyle = Qt.PenStyle.SolidLine,
    ) -> None:
        pen = QPen(colour, mm(width))
        pen.setStyle(style)
        self.p.setPen(pen)
        self.p.drawLine(QPointF(mm(x1), mm(y1)), QPointF(mm(x2), mm(y2)))

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: QColor | None = None,
        border: QColor | None = None,
        width: float = 0.25,
    ) -> None:
        self.p.setPen(QPen(border, mm(width)) if border is not None else Qt.PenStyle.NoPen)
        self.p.setBrush(QBrush(fill) if fill is not None else Qt.BrushStyle.NoBrush)
        self.p.drawRect(QRectF(mm(x), mm(y), mm(w), mm(h)))
        self.p.setBrush(Qt.BrushStyle.NoBrush)


def content_top(chrome: Chrome) -> float:
    """Where a page's content starts (mm), below the header and banners that `draw_chrome` draws."""
    return 10.0 + (11 if chrome.simulated else 0) + (8 if chrome.deidentified else 0)


def draw_chrome(pg: Page, chrome: Chrome, title: str, page_no: int, total_pages: int) -> float:
    """Header, simulated banner and footer; returns the y (mm) where content starts."""
    if chrome.simulated:
        _watermark(pg)
    pg.text(0, 0, pg.w * 0.56, 7, title, 13, bold=True)
    pg.text(pg.w * 0.5, 0, pg.w * 0.5, 7, chrome.header, 8.5, align=Qt.AlignmentFlag.AlignRight)
    pg.line(0, 8, pg.w, 8, INK, 0.4)
    y = 10.0
    if chrome.simulated:
        pg.rect(0, y, pg.w, 9, fill=QColor("#d01010"))
        pg.text(0, y, pg.w, 9, SIMULATED_BANNER, 14, bold=True, colour=QColor("white"),
                align=Qt.AlignmentFlag.AlignHCenter)  # fmt: skip
        y += 11
    if chrome.deidentified:
        pg.rect(0, y, pg.w, 6, fill=QColor("#eeeeee"), border=GREY)
        pg.text(2, y, pg.w - 4, 6, DEIDENTIFIED_BANNER, 8.5, bold=True)
        y += 8
    pg.line(0, pg.h - 7, pg.w, pg.h - 7, GREY, 0.2)
    pg.text(0, pg.h - 6, pg.w * 0.75, 5, chrome.footer, 7, colour=GREY)
    pg.text(pg.w * 0.7, pg.h - 6, pg.w * 0.3, 5, f"page {page_no} of {total_pages}", 7, colour=GREY,
            align=Qt.AlignmentFlag.AlignRight)  # fmt: skip
    return y


def _watermark(pg: Page) -> None:
    pg.p.save()
    pg.p.translate(mm(pg.w / 2), mm(pg.h / 2))
    pg.p.rotate(-35)
    f = QFont(FONT_FAMILY)
    f.setPointSizeF(54)
    f.setBold(True)
    pg.p.setFont(f)
    pg.p.setPen(QPen(QColor(208, 16, 16, 40)))
    pg.p.drawText(QRectF(mm(-150), mm(-20), mm(300), mm(40)), int(Qt.AlignmentFlag.AlignCenter), SIMULATED_WATERMARK)
    pg.p.restore()

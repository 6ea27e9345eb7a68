"""The PDF writer of the export registry (`kapmonitor.export.formats`, format "pdf").

Builds the report's content (`kapmonitor.export.report`, Qt-free) and paints it with Qt
(QPdfWriter + QPainter; no external programs): page 1 the summary, page 2 the trend chart, then the
record tables, every page with its header, banners and "page n of N" footer.

Thread-safety: `paint_report` may run on a worker thread (QPainter on a QPdfWriter is allowed off
the GUI thread) once a QApplication exists; from the command line `ensure_app` creates an
offscreen one, which must then happen on the main thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

from kapmonitor import __version__
from kapmonitor.alarms.profile import AlarmProfile
from kapmonitor.export.data import SessionData
from kapmonitor.export.errors import ExportError
from kapmonitor.export.formats import ExportJob
from kapmonitor.export.report.content import CHART_TITLE, SUMMARY_TITLE, TABLES_TITLE, ReportContent, build_report
from kapmonitor.report_pdf.chart import draw_chart
from kapmonitor.report_pdf.page import DPI, PX_PER_MM, Page, content_top, draw_chrome, ensure_app
from kapmonitor.report_pdf.summary import draw_summary
from kapmonitor.report_pdf.tables import draw_table, layout_rows, paginate

log = logging.getLogger(__name__)

PAPER_SIZES = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}


def write_pdf_report(job: ExportJob) -> list[str]:
    """Stage `<base>_report.pdf`; any drawing failure is one line (ExportError)."""
    name = f"{job.base}_report.pdf"
    try:
        write_report(job.data, job.staging.path(name), paper=job.paper)
    except ExportError:
        raise
    except Exception as exc:
        log.debug("PDF report failed", exc_info=True)
        raise ExportError(f"the PDF report could not be drawn: {exc}") from None
    return [name]


def write_report(data: SessionData, path: Path, paper: str = "a4", profile: AlarmProfile | None = None) -> None:
    """Draw the report of `data` into the PDF file `path` (A4 or Letter)."""
    paint_report(build_report(data, profile), path, paper)


def _pdf_writer(content: ReportContent, path: Path, paper: str) -> QPdfWriter:
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageSize(QPageSize(PAPER_SIZES[paper]))
    writer.setPageOrientation(QPageLayout.Orientation.Portrait)
    writer.setPageMargins(QMarginsF(14, 12, 14, 12), QPageLayout.Unit.Millimeter)
    writer.setTitle(content.chrome.document_title)
    writer.setCreator(f"kapmonitor {__version__}")
    return writer


def paint_report(content: ReportContent, path: Path, paper: str = "a4") -> None:
    """Paint `content` into the PDF file `path` (A4 or Letter)."""
    ensure_app()
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}")
    writer = _pdf_writer(content, path, paper)
    rect = writer.pageLayout().paintRectPixels(DPI)
    w_mm, h_mm = rect.width() / PX_PER_MM, rect.height() / PX_PER_MM
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write the PDF file {path}")
    try:
        pg = Page(painter, w_mm, h_mm)
        top = content_top(content.chrome)
        layouts = [layout_rows(pg, table) for table in content.tables]
        table_pages = paginate([[h for _, h in lay] for lay in layouts], top, h_mm - 9 - top)
        total = 2 + len(table_pages)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        draw_summary(pg, content.summary, draw_chrome(pg, content.chrome, SUMMARY_TITLE, 1, total))
        writer.newPage()
        draw_chart(pg, content.chart, draw_chrome(pg, content.chrome, CHART_TITLE, 2, total))
        for n, page in enumerate(table_pages, start=3):
            writer.newPage()
            y = draw_chrome(pg, content.chrome, TABLES_TITLE, n, total)
            for k, a, z in page:
                y = draw_table(pg, y, content.tables[k], layouts[k], a, z)
    finally:
        painter.end()
    log.debug("PDF report written to %s (%s, %d pages)", path, paper, total)

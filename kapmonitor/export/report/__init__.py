"""The session report's content (texts, rows, buckets, tables, summary facts, chart series and
bands), Qt-free; painted by `kapmonitor.report_pdf`."""

from kapmonitor.export.report.content import ReportContent, build_report

__all__ = ["ReportContent", "build_report"]

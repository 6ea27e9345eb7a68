"""The session report painted as a PDF with Qt: a layer that only draws the content built by
`kapmonitor.export.report` (like napari's _vispy/ layer draws model state). Outside ui/; loaded by
the export registry (`kapmonitor.export.formats`) only when a PDF is asked for."""

from kapmonitor.report_pdf.writer import paint_report, write_pdf_report, write_report

__all__ = ["paint_report", "write_pdf_report", "write_report"]

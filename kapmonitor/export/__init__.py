"""Session export: CSV, JSON, FHIR R4 and (through kapmonitor.ui.report_pdf) a PDF report.

No Qt here. Entry point: `run_export(db_path, out_dir, ExportOptions(...), progress, cancel)`.
"""

from kapmonitor.export.errors import ExportCancelled, ExportError
from kapmonitor.export.runner import FORMATS, PAPERS, ExportOptions, ExportResult, parse_formats, run_export

__all__ = [
    "FORMATS",
    "PAPERS",
    "ExportCancelled",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "parse_formats",
    "run_export",
]

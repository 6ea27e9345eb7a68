"""Session export: CSV, JSON, FHIR R4 and a PDF report, formats registered in `formats`.

No Qt here: the report's content is built Qt-free in `kapmonitor.export.report`; the PDF painter
(`kapmonitor.report_pdf`) is loaded by the registry only when a PDF is asked for.
Entry point: `run_export(db_path, out_dir, ExportOptions(...), progress, cancel)`.

The names below load on first use, so `kapmonitor.export.formats` (read by the command line at
start-up to list the formats) does not pull in numpy and the exporters.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kapmonitor.export.errors import ExportCancelled, ExportError
    from kapmonitor.export.formats import available_formats, export_format
    from kapmonitor.export.runner import FORMATS, PAPERS, ExportOptions, ExportResult, parse_formats, run_export

_WHERE = {
    "ExportCancelled": "errors",
    "ExportError": "errors",
    "available_formats": "formats",
    "export_format": "formats",
    "FORMATS": "runner",
    "PAPERS": "runner",
    "ExportOptions": "runner",
    "ExportResult": "runner",
    "parse_formats": "runner",
    "run_export": "runner",
}

__all__ = [
    "FORMATS",
    "PAPERS",
    "ExportCancelled",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "available_formats",
    "export_format",
    "parse_formats",
    "run_export",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"kapmonitor.export.{_WHERE[name]}"), name)

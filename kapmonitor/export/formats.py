"""Export formats registered by name, each with its writer, imported only when that format is
asked for (like `kapmonitor.drivers.registry`): CSV, JSON and FHIR never load Qt, and the PDF
writer (`kapmonitor.report_pdf`, which draws with Qt) is loaded only for a PDF.

A writer takes one `ExportJob` and stages its files, returning their names. To add a format:
write `def write_x(job: ExportJob) -> list[str]` and register it in `_FORMATS`.

Thread-safety: the registry is read-only after import; an `ExportJob` belongs to one export run.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kapmonitor.export.errors import ExportError

if TYPE_CHECKING:  # the registry itself stays light: the command line lists formats at start-up
    from kapmonitor.export.data import SessionData
    from kapmonitor.export.records import Table
    from kapmonitor.export.staging import Staging
    from kapmonitor.export.vitals_text import VitalsText

log = logging.getLogger(__name__)


@dataclass
class ExportJob:
    """One session being written: its data, the staging folder, the file name stem and the options."""

    data: SessionData
    staging: Staging
    base: str
    waves: bool = False
    paper: str = "a4"
    exported_at: str = ""
    _vitals: Table | None = field(default=None, init=False, repr=False)
    _vitals_text: VitalsText | None = field(default=None, init=False, repr=False)

    def vitals(self) -> Table:
        """The vitals table, built once and shared by the CSV and JSON writers (the largest table)."""
        if self._vitals is None:
            from kapmonitor.export import records

            self._vitals = records.vitals(self.data)
        return self._vitals

    def vitals_text(self) -> VitalsText:
        """The vitals encoded in bulk, built once and shared by the CSV and JSON writers."""
        if self._vitals_text is None:
            from kapmonitor.export.vitals_text import VitalsText

            self._vitals_text = VitalsText.of(self.data)
        return self._vitals_text


Writer = Callable[[ExportJob], list[str]]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str  # what the export dialog offers
    writer: str  # "module:function", imported on first use
    step: float  # progress fraction when it starts; formats are written in this order (slowest last)
    message: str  # progress message while it is written
    needs: str = ""  # what its module needs, named when it cannot be loaded


# in the order the command line, the dialog and the manifest list them
_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("csv", "CSV (spreadsheet tables)", "kapmonitor.export.writers:write_csv_files", 0.15,
                     "writing CSV"),
        ExportFormat("json", "JSON (whole session, for programs)", "kapmonitor.export.writers:write_json_file",
                     0.35, "writing JSON"),
        ExportFormat("pdf", "PDF report (chart and tables)", "kapmonitor.report_pdf.writer:write_pdf_report", 0.7,
                     "drawing the PDF report", needs="PySide6"),
        ExportFormat("fhir", "FHIR R4 bundle (hospital systems)", "kapmonitor.export.writers:write_fhir_file",
                     0.55, "writing FHIR bundle"),
    )
}  # fmt: skip


def available_formats() -> tuple[str, ...]:
    """Names of every registered format, in their canonical order."""
    return tuple(_FORMATS)


def export_format(name: str) -> ExportFormat:
    """The format registered under `name`. Raises ExportError."""
    try:
        return _FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown export format {name!r} ({', '.join(_FORMATS)})") from None


def load_writer(name: str) -> Writer:
    """Import the writer of format `name`. Raises ExportError (one line) when it cannot be loaded."""
    fmt = export_format(name)
    module_name, _, function = fmt.writer.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        what = fmt.label.split(" (")[0]
        if fmt.needs:
            raise ExportError(f"the {what} needs {fmt.needs}, which cannot be loaded: {exc}") from None
        raise ExportError(f"the {what} export cannot be loaded: {exc}") from None
    writer: Writer = getattr(module, function)
    return writer

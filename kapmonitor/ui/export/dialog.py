"""The export dialog: choose formats, de-identification, paper and folder; export on a worker thread.

The export itself (`kapmonitor.export.run_export`) runs on a plain Python thread; it reports
progress through a small QObject whose signals are delivered to the GUI thread (queued), so the
GUI never waits for the disk and never freezes. Cancel sets an event the runner checks between
steps; a cancelled or failed export writes nothing.

Signals (GUI thread): `export_finished(list[str])` with the written paths, `export_failed(str)`.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.export import ExportCancelled, ExportError, ExportOptions, ExportResult, run_export
from kapmonitor.export.formats import available_formats, export_format
from kapmonitor.export.runner import default_out_dir

log = logging.getLogger(__name__)


class _Bridge(QObject):
    """Carries the worker's reports to the GUI thread (signals emitted from the worker are queued)."""

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)


class ExportDialog(QDialog):
    """Export one session database. Thread-safety: GUI thread only (the worker talks through signals)."""

    export_finished = Signal(list)
    export_failed = Signal(str)

    def __init__(self, db_path: Path | None = None, parent: QWidget | None = None, out_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export session")
        self.setMinimumWidth(560)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._bridge = _Bridge(self)
        self._bridge.progressed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._bridge.succeeded.connect(self._on_success, Qt.ConnectionType.QueuedConnection)
        self._bridge.failed.connect(self._on_failure, Qt.ConnectionType.QueuedConnection)
        self.result_files: list[Path] = []
        self.last_error: str | None = None

        self.session_edit = QLineEdit(str(db_path) if db_path else "")
        browse_db = QPushButton("Choose…")
        browse_db.clicked.connect(self._choose_db)
        self.out_edit = QLineEdit(str(out_dir) if out_dir else (str(default_out_dir(db_path)) if db_path else ""))
        browse_out = QPushButton("Choose…")
        browse_out.clicked.connect(self._choose_out)

        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.session_edit, 1)
        row.addWidget(browse_db)
        form.addRow("Session", row)
        row = QHBoxLayout()
        row.addWidget(self.out_edit, 1)
        row.addWidget(browse_out)
        form.addRow("Output folder", row)

        formats = QGroupBox("Formats")
        fl = QVBoxLayout(formats)
        self.format_boxes: dict[str, QCheckBox] = {}
        for key in available_formats():  # every registered export format
            box = QCheckBox(export_format(key).label)
            box.setChecked(True)
            box.toggled.connect(self._update_buttons)
            self.format_boxes[key] = box
            fl.addWidget(box)

        # a short box and its explanation wrapped below: the dialog beside the vitals is narrow
        self.deidentify_box = QCheckBox("De-identify")
        self.deidentify_box.toggled.connect(self._follow_default_folder)
        self.deidentify_note = QLabel("Hashes the pseudonym, removes staff and free text, dates from day 0.")
        self.deidentify_note.setWordWrap(True)
        self.deidentify_note.setStyleSheet("padding-left: 26px;")
        self.waves_box = QCheckBox("Include waveforms (large files)")
        self.paper_combo = QComboBox()
        self.paper_combo.addItem("A4", "a4")
        self.paper_combo.addItem("Letter", "letter")
        options = QFormLayout()
        options.addRow(self.deidentify_box)
        options.addRow(self.deidentify_note)
        options.addRow(self.waves_box)
        options.addRow("PDF paper", self.paper_combo)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_export)
        self.open_button = QPushButton("Open folder")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_folder)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(formats)
        layout.addLayout(options)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- state -----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def options(self) -> ExportOptions:
        formats = tuple(k for k, box in self.format_boxes.items() if box.isChecked())
        return ExportOptions(
            formats=formats,
            deidentify=self.deidentify_box.isChecked(),
            waves=self.waves_box.isChecked(),
            paper=str(self.paper_combo.currentData()),
        )

    def _update_buttons(self) -> None:
        busy = self.running
        any_format = any(box.isChecked() for box in self.format_boxes.values())
        self.export_button.setEnabled(not busy and any_format)
        self.cancel_button.setEnabled(busy)
        self.close_button.setEnabled(not busy)
        for w in (
            *self.format_boxes.values(),
            self.deidentify_box,
            self.waves_box,
            self.paper_combo,
            self.session_edit,
            self.out_edit,
        ):
            w.setEnabled(not busy)

    # -- actions ---------------------------------------------------------------------------------------
    def _follow_default_folder(self, deidentified: bool) -> None:
        """Keep the suggested folder name free of the pseudonym when de-identifying."""
        db_text = self.session_edit.text().strip()
        if not db_text:
            return
        db = Path(db_text)
        if self.out_edit.text() in (str(default_out_dir(db)), str(default_out_dir(db, True))):
            self.out_edit.setText(str(default_out_dir(db, deidentified)))

    def _choose_db(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Session database", self.session_edit.text(), "Session databases (*.db *.sqlite);;All files (*)"
        )
        if path:
            self.session_edit.setText(path)
            if not self.out_edit.text():
                self.out_edit.setText(str(default_out_dir(Path(path))))

    def _choose_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.out_edit.text())
        if path:
            self.out_edit.setText(path)

    @Slot()
    def start_export(self) -> None:
        """Start the export on a worker thread; returns at once."""
        if self.running:
            return
        db_text = self.session_edit.text().strip()
        if not db_text:
            self._on_failure("choose a session database first")
            return
        db_path = Path(db_text)
        out_text = self.out_edit.text().strip()
        out_dir = Path(out_text) if out_text else default_out_dir(db_path)
        options = self.options()
        self._cancel = threading.Event()
        self.result_files = []
        self.open_button.setEnabled(False)
        self.last_error = None
        self.progress.setValue(0)
        self.status.setText("starting…")
        bridge, cancel = self._bridge, self._cancel

        def work() -> None:
            try:
                result = run_export(db_path, out_dir, options, lambda f, m: bridge.progressed.emit(f, m), cancel)
            except ExportCancelled as exc:
                bridge.failed.emit(str(exc))
            except ExportError as exc:
                bridge.failed.emit(str(exc))
            except Exception as exc:
                log.exception("export failed")
                bridge.failed.emit(f"export failed: {exc}")
            else:
                bridge.succeeded.emit(result)

        self._thread = threading.Thread(target=work, name="session-export", daemon=True)
        self._thread.start()
        self._update_buttons()

    def _open_folder(self) -> None:
        if self.result_files:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result_files[0].parent)))

    @Slot()
    def cancel_export(self) -> None:
        if self.running:
            self._cancel.set()
            self.status.setText("cancelling…")

    # -- worker reports (GUI thread) -------------------------------------------------------------------
    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(fraction * 100))
        self.status.setText(message)

    @Slot(object)
    def _on_success(self, result: ExportResult) -> None:
        self._join()
        self.result_files = list(result.files)
        self.open_button.setEnabled(bool(self.result_files))
        self.progress.setValue(100)
        self.status.setText(f"{len(result.files)} files written to {result.out_dir} in {result.seconds:.1f} s")
        self._update_buttons()
        self.export_finished.emit([str(p) for p in result.files])

    @Slot(str)
    def _on_failure(self, message: str) -> None:
        self._join()
        self.last_error = message
        self.progress.setValue(0)
        self.status.setText(f"<b>Not exported:</b> {message}")
        self._update_buttons()
        self.export_failed.emit(message)

    def _join(self) -> None:
        # the worker has emitted its last signal; it ends right after
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def reject(self) -> None:
        if self.running:
            self.cancel_export()
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running:
            self.cancel_export()
            event.ignore()
            return
        super().closeEvent(event)


def open_export_dialog(parent: QWidget | None, db_path: Path | None) -> ExportDialog:
    """Show the export dialog for `db_path` (non-modal) and return it."""
    dialog = ExportDialog(db_path, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog

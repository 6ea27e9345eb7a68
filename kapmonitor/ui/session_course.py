"""The course view (the sessions of one pseudonym) and a read-only view of one session's record.

Reading goes through read-only connections; nothing here modifies a database. The scan runs in
the GUI thread: a course is a handful of small files. GUI thread only.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.recording.reader import RecordReader
from kapmonitor.session import figures
from kapmonitor.session.storage import SessionSummary, course_sessions, read_info
from kapmonitor.ui.session_common import ERROR, FieldBox, apply_session_style, keep_units_together, make_label

log = logging.getLogger(__name__)

COLUMNS = ["Date", "Session", "Dose", "Infusion", "Peak BP", "Alarms\nH/M/L", "Status"]  # of summary_row
# the view, narrow beside the vitals: the status goes under the session number
VIEW_COLUMNS = ["Date", "Session", "Dose", "Infusion", "Peak\nBP", "Alarms\nH/M/L"]


def _date(t: float | None) -> str:
    return "—" if t is None else time.strftime("%Y-%m-%d\n%H:%M", time.localtime(t))


def summary_row(s: SessionSummary) -> list[str]:
    """One course-view row; every figure comes from `session.figures`, as in the PDF."""
    if s.dose is not None:
        dose = figures.dose_given_short(s.dose)  # the full text (as in the PDF) on hover
    else:
        dose = "—" if s.dose_mg_per_kg is None else f"{s.dose_mg_per_kg:g} mg/kg"
        if s.total_mg is not None:
            dose += f", {s.total_mg:.0f} mg"
        if s.dose_mg_per_kg is not None:
            dose += ", planned"
    peak = "—" if s.peak_sys is None else f"{s.peak_sys:.0f}/{s.peak_dia:.0f}" if s.peak_dia else f"{s.peak_sys:.0f}/—"
    alarms = figures.alarm_counts_text(s.alarms_by_priority)
    course = figures.course_text(s.course_number, s.course_total)
    status = s.status + (" (simulated)" if s.simulated else "")
    infusion = "—" if s.infusion is None else figures.infusion_time_text(s.infusion)
    return [_date(s.created_at), course, dose, infusion, peak, alarms, status]


class CourseView(QDialog):
    """Sessions of one pseudonym in a table; a row opens the record read-only."""

    def __init__(self, pseudonym: str = "", folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.setWindowTitle("Course of sessions")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.pseudonym_edit = QLineEdit(pseudonym)
        self.pseudonym_edit.setPlaceholderText("pseudonym")
        self.pseudonym_edit.returnPressed.connect(self.load)
        self.box = FieldBox("Patient pseudonym", self.pseudonym_edit)
        show = QPushButton("Show")
        show.clicked.connect(self.load)
        row.addWidget(self.box, 1)
        row.addWidget(show)
        layout.addLayout(row)
        self.table = QTableWidget(0, len(VIEW_COLUMNS))
        self.table.setHorizontalHeaderLabels(VIEW_COLUMNS)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open read-only")
        self.open_button.clicked.connect(self.open_selected)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.sessions: list[SessionSummary] = []
        self.record_dialog: SessionRecordDialog | None = None
        self.resize(1000, 500)
        if pseudonym:
            self.load()

    def load(self) -> None:
        pseudonym = self.pseudonym_edit.text().strip()
        self.box.set_error(None)
        if not pseudonym:
            self.box.set_error("enter a pseudonym")
            return
        self.sessions = course_sessions(pseudonym, self.folder)
        if not self.sessions:
            self.box.set_error(f"no sessions of {pseudonym} on this computer")
        self.table.setRowCount(len(self.sessions))
        for i, s in enumerate(self.sessions):
            flagged = {
                2: s.dose is not None and (s.dose.flagged or not s.dose.confirmed),  # dose off plan / unconfirmed
                3: s.infusion is not None and s.infusion.closed_mid_infusion,
            }
            row = summary_row(s)
            row[1] = f"{row[1]}\n{row.pop()}"
            for col, text in enumerate(row):
                # beside the vitals the view is narrow: one figure a line, units never split
                item = QTableWidgetItem(keep_units_together(text).replace(", ", "\n").replace(" (", "\n("))
                item.setToolTip(figures.dose_given_text(s.dose) if col == 2 and s.dose is not None else text)
                if flagged.get(col):
                    item.setForeground(QColor(ERROR))
                self.table.setItem(i, col, item)
        self.table.resizeRowsToContents()

    def open_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        s = self.sessions[rows[0].row()]
        self.record_dialog = SessionRecordDialog(s.path, self)
        self.record_dialog.open()


def record_text(path: Path) -> str:
    """A plain-text rendering of one session's nurse record (read-only). Raises SessionDatabaseError."""
    try:
        with RecordReader.open(path) as reader:
            return _record_text(reader, path)
    except sqlite3.Error as exc:
        raise SessionDatabaseError(f"{path.name}: {exc}") from exc


def _t(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def _record_text(reader: RecordReader, path: Path) -> str:
    info = read_info(reader)
    lines = [f"Session record {path.name} (read-only)", ""]
    for key in (
        "pseudonym",
        "course_number",
        "course_total",
        "nurse_initials",
        "therapist_initials",
        "prescriber_initials",
        "weight_kg",
        "drug",
        "dose_mg_per_kg",
        "concentration_mg_per_ml",
        "duration_min",
        "lot",
        "concomitant",
        "plan_total_mg",
        "plan_volume_ml",
        "plan_rate_ml_per_h",
        "volume_infused_ml",
        "volume_infused_confirmed",
        "volume_computed_ml",
        "prestart_message",
        "prestart_override_by",
        "prestart_override_reason",
        "status",
    ):
        if key in info:
            lines.append(f"{key.replace('_', ' ')}: {info[key]}")
    lines += ["", "Infusion:"]
    for inf in sorted(reader.infusion_events(), key=lambda e: e.id):
        lines.append(f"  {_t(inf.t)}  {inf.action}{' — ' + inf.reason if inf.reason else ''}  ({inf.who or ''})")
    lines += ["", "Events:"]
    for ev in reader.clinical_events():
        text = " ".join(str(x) for x in (ev.category, ev.drug or ev.name, ev.dose, ev.route, ev.severity, ev.note) if x)
        lines.append(f"  {_t(ev.t)}  {text}  ({ev.who or ''}){'  [removed]' if ev.deleted else ''}")
    lines += ["", "Scales:"]
    for sc in reader.scales():
        lines.append(f"  {_t(sc.t)}  {sc.scale} {sc.score:g}  ({sc.who or ''})")
    for dis in reader.discharges():
        lines += ["", f"Discharged {_t(dis.t)} by {dis.who}"]
        checklist = dis.checklist
        try:
            data = json.loads(checklist)
            for item in data.get("items", {}).values():
                lines.append(f"  [{'x' if item.get('checked') else ' '}] {item.get('label')}  {item.get('detail', '')}")
            if data.get("early"):
                lines.append(f"  EARLY: {float(data.get('observation_s') or 0) / 60:.0f} min observed")
            if data.get("override_reason"):
                lines.append(f"  override: {data['override_reason']}")
        except (ValueError, AttributeError):
            lines.append(f"  {checklist}")
    lines += ["", "Audit:"]
    for a in reader.audit():
        lines.append(
            f"  {_t(a.t)}  {a.who or ''} {a.action} {a.table_name}{'#' + str(a.row_id) if a.row_id else ''}"
            f"{' — ' + a.reason if a.reason else ''}"
        )
    return "\n".join(lines)


class SessionRecordDialog(QDialog):
    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Session record — {path.name}")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        try:
            self.text.setPlainText(record_text(path))
        except SessionDatabaseError as exc:
            self.text.setPlainText(f"Cannot open this record: {exc}")
        layout.addWidget(self.text)
        layout.addWidget(make_label("Read-only", "dim"))
        self.resize(900, 700)

"""The course view: one patient's course beside the vitals — the outcome (response, remission,
relapse), the chart of the scores over the whole course with the infusions and the response and
remission thresholds, the infusions (dose given, infusion time, peak BP, alarms by priority, side
effects, interventions, the take-home playlist), the scores and the follow-ups; score entry, the
PHQ-9 on screen, the item-9 safety prompts and the course PDF. And a read-only view of one
session's record.

Everything shown comes from kapmonitor.course.report (the course PDF's content) and
kapmonitor.session.figures (the session PDF's figures), so screen and paper agree. Reading goes
through read-only connections; the scan runs in the GUI thread (a course is a handful of small
files); the PDF is painted on a worker thread. GUI thread only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.course.report import CourseReport, SessionDetail, build_course_report, read_sessions, session_detail
from kapmonitor.course.report import session_row as summary_row
from kapmonitor.course.schedule import DONE, ScheduleSettingsError, load_settings
from kapmonitor.course.sessions import read_session
from kapmonitor.course.store import CourseStore, CourseStoreError, default_path
from kapmonitor.course.summary import CourseSummary, build
from kapmonitor.export.report.tables import TableContent
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.recording.reader import RecordReader
from kapmonitor.session import figures
from kapmonitor.session.storage import SessionSummary, course_sessions, read_info
from kapmonitor.ui.course.chart import CourseChartWidget
from kapmonitor.ui.course.scores import SafetyPromptDialog, ScoreEntryDialog, safety_text
from kapmonitor.ui.session.common import (
    ERROR,
    FieldBox,
    apply_session_style,
    big_font,
    keep_units_together,
    make_label,
)

log = logging.getLogger(__name__)

__all__ = ["COLUMNS", "VIEW_COLUMNS", "CourseView", "SessionRecordDialog", "record_text", "summary_row"]

COLUMNS = ["Date", "Session", "Dose", "Infusion", "Peak BP", "Alarms\nH/M/L", "Status"]  # of summary_row
# the view, narrow beside the vitals: the status goes under the session number
VIEW_COLUMNS = ["Date", "Session", "Dose", "Infusion", "Peak\nBP", "Alarms\nH/M/L", "Side\neffects",
                "Inter-\nventions", "Take-home\nplaylist"]


def _table(columns: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(True)
    table.verticalHeader().setVisible(False)
    return table


def fill_table(table: QTableWidget, content: TableContent) -> None:
    """A report table's rows, cell for cell as the PDF prints them (a raised row in red)."""
    table.setColumnCount(len(content.columns))
    table.setHorizontalHeaderLabels([name for name, _ in content.columns])
    table.setRowCount(len(content.rows))
    for i, row in enumerate(content.rows):
        for col, text in enumerate(row.cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            if row.tone is not None:
                item.setForeground(QColor(ERROR))
            table.setItem(i, col, item)
    table.resizeRowsToContents()


class _PdfDone(QObject):
    finished = Signal(str)


class CourseView(QDialog):
    """One patient's course (see the module docstring); a session row opens its record read-only.

    `folder`: the sessions folder; `store_path`: the clinic's course database (default: the user
    data folder's); `today`: the date follow-ups are judged against."""

    def __init__(self, pseudonym: str = "", folder: Path | None = None, parent: QWidget | None = None,
                 store_path: Path | None = None, today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.store_path = store_path or default_path()
        self.today = today or dt.date.today()
        self.setWindowTitle("Course")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.pseudonym_edit = QLineEdit(pseudonym)
        self.pseudonym_edit.setPlaceholderText("patient pseudonym")
        self.pseudonym_edit.returnPressed.connect(self.load)
        self.box = FieldBox("", self.pseudonym_edit)
        show = QPushButton("Show")
        show.clicked.connect(self.load)
        row.addWidget(self.box, 1)
        row.addWidget(show, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)
        safety_row = QHBoxLayout()
        self.safety_label = make_label("", "prompt")
        self.safety_label.setWordWrap(True)
        self.ack_button = QPushButton("Acknowledge…")
        self.ack_button.setObjectName("danger")
        self.ack_button.clicked.connect(self.acknowledge_next)
        safety_row.addWidget(self.safety_label, 1)
        safety_row.addWidget(self.ack_button)
        layout.addLayout(safety_row)
        # beside the vitals at 1280x800 the view gets about 590x610 px: one page at a time
        self.tabs = QTabWidget()
        self.tabs.setUsesScrollButtons(True)
        self.chart = CourseChartWidget()
        self.tabs.addTab(self.chart, "Chart")
        outcome_page = QScrollArea()
        outcome_page.setWidgetResizable(True)
        inner = QWidget()
        outcome_col = QVBoxLayout(inner)
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setFont(big_font(17, bold=False))
        self.definitions = make_label("", "dim")
        self.definitions.setWordWrap(True)
        outcome_col.addWidget(self.outcome)
        outcome_col.addWidget(make_label("Definitions", "dim"))
        outcome_col.addWidget(self.definitions)
        outcome_col.addStretch(1)
        outcome_page.setWidget(inner)
        self.tabs.addTab(outcome_page, "Outcome")
        self.table = _table(VIEW_COLUMNS)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.tabs.addTab(self.table, "Infusions")
        self.scores_table = _table([])
        self.tabs.addTab(self.scores_table, "Scores")
        self.follow_table = _table([])
        self.tabs.addTab(self.follow_table, "Follow-ups")
        layout.addWidget(self.tabs, 1)
        buttons = QHBoxLayout()
        self.open_course_button = QPushButton("Open a course…")
        self.open_course_button.clicked.connect(self.open_course)
        self.score_button = QPushButton("&Score…")
        self.score_button.setToolTip("Enter a BDI-II, PHQ-9 or MADRS score, or give the PHQ-9 on screen")
        self.score_button.setObjectName("primary")
        self.score_button.clicked.connect(self.enter_score)
        self.pdf_button = QPushButton("&PDF…")
        self.pdf_button.setToolTip("The course report as a PDF file")
        self.pdf_button.clicked.connect(self.export_pdf)
        self.open_button = QPushButton("&Record")
        self.open_button.setToolTip("Open the selected session's record, read-only")
        self.open_button.clicked.connect(self.open_selected)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        for b in (self.open_course_button, self.score_button, self.pdf_button, self.open_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.sessions: list[SessionSummary] = []
        self.details: list[SessionDetail] = []
        self.summary: CourseSummary | None = None
        self.report: CourseReport | None = None
        self.record_dialog: SessionRecordDialog | None = None
        self.entry: ScoreEntryDialog | None = None
        self.prompt_dialog: SafetyPromptDialog | None = None
        self.pdf_status = _PdfDone()
        self.pdf_status.finished.connect(self._pdf_finished)
        self.pdf_thread: threading.Thread | None = None
        self.resize(1000, 640)
        if pseudonym:
            self.load()
        else:
            self._show_course(None)

    # -- loading ------------------------------------------------------------------------------------
    def _course_summary(self, pseudonym: str) -> CourseSummary | None:
        if not self.store_path.exists():
            return None
        try:
            settings = load_settings()
            with CourseStore.open_read_only(self.store_path) as store:
                if store.course(pseudonym) is None:
                    return None
                return build(store, pseudonym, self.today, settings, self.folder)
        except (CourseStoreError, ScheduleSettingsError) as exc:
            self.box.set_error(str(exc))
            return None

    def load(self) -> None:
        pseudonym = self.pseudonym_edit.text().strip()
        self.box.set_error(None)
        if not pseudonym:
            self.box.set_error("enter a pseudonym")
            return
        self.summary = self._course_summary(pseudonym)
        if self.summary is not None:
            pairs = read_sessions(self.summary)
            self.report = build_course_report(self.summary, pairs)
        else:
            self.report = None
            pairs = []
            for s in course_sessions(pseudonym, self.folder):
                try:
                    pairs.append((s, session_detail(s.path)))
                except SessionDatabaseError as exc:
                    log.warning("course view: %s", exc)
        self.sessions = [s for s, _ in pairs]
        self.details = [d for _, d in pairs]
        if not self.sessions and self.summary is None and not self.box.message:
            self.box.set_error(f"no sessions of {pseudonym} on this computer")
        self._fill_sessions()
        self._show_course(pseudonym)

    def _fill_sessions(self) -> None:
        self.table.setRowCount(len(self.sessions))
        for i, (s, d) in enumerate(zip(self.sessions, self.details, strict=True)):
            flagged = {
                2: s.dose is not None and (s.dose.flagged or not s.dose.confirmed),  # dose off plan / unconfirmed
                3: s.infusion is not None and s.infusion.closed_mid_infusion,
            }
            row = summary_row(s)
            row[1] = f"{row[1]}\n{row.pop()}"
            row += ["\n".join(d.side_effects) or "none", "\n".join(d.interventions) or "none",
                    "\n".join(d.playlist) or "no music recorded"]
            for col, text in enumerate(row):
                # beside the vitals the view is narrow: one figure a line, units never split
                shown = text if col >= 6 else keep_units_together(text).replace(", ", "\n").replace(" (", "\n(")
                item = QTableWidgetItem(shown)
                item.setToolTip(figures.dose_given_text(s.dose) if col == 2 and s.dose is not None else text)
                if flagged.get(col):
                    item.setForeground(QColor(ERROR))
                self.table.setItem(i, col, item)
        self.table.resizeRowsToContents()

    def _show_course(self, pseudonym: str | None) -> None:
        r = self.report
        has_course = r is not None
        self.score_button.setEnabled(has_course)
        self.pdf_button.setEnabled(has_course)
        self.open_course_button.setVisible(bool(pseudonym) and not has_course)
        if r is None:
            self.outcome.setText(f"No course opened for {pseudonym}: open one to record scores and follow-ups."
                                 if pseudonym else "")
            self.chart.show_chart(None)
            fill_table(self.scores_table, TableContent("", (), ()))
            fill_table(self.follow_table, TableContent("", (), ()))
            self.definitions.setText("")
            self._show_prompts()
            return
        self.setWindowTitle(f"Course — {r.pseudonym}")
        self.outcome.setText("\n\n".join(keep_units_together(line) for line in r.outcome_lines
                                           if not line.startswith("SAFETY")))
        self.chart.show_chart(r.chart)
        fill_table(self.scores_table, r.scores)
        fill_table(self.follow_table, r.follow_up)
        open_items = sum(1 for f in self.summary.follow_up if f.status != DONE) if self.summary else 0
        self.tabs.setTabText(4, f"Follow-ups ({open_items} open)")
        self.tabs.setTabToolTip(0, "\n".join(r.outcome_lines))
        self.definitions.setText("\n".join(r.definitions))
        self._show_prompts()

    def outstanding_prompts(self) -> list[tuple[int, str]]:
        """(prompt id, its text) of every item-9 prompt not yet acknowledged."""
        if self.summary is None:
            return []
        by_score = {s.id: s for s in self.summary.scores}
        return [(p.id, safety_text(by_score[p.score_id].instrument, int(by_score[p.score_id].item9 or 0)) +
                 f" (score of {by_score[p.score_id].date.isoformat()})")
                for p in self.summary.prompts if not p.acknowledged and p.score_id in by_score]

    def _show_prompts(self) -> None:
        prompts = self.outstanding_prompts()
        self.safety_label.setVisible(bool(prompts))
        self.ack_button.setVisible(bool(prompts))
        if prompts:
            self.safety_label.setText(f"{len(prompts)} item-9 safety prompt(s) not acknowledged: {prompts[0][1]}")

    # -- actions ------------------------------------------------------------------------------------
    def open_course(self) -> None:
        """Open a course at screening: today, or the day of the pseudonym's first session here."""
        pseudonym = self.pseudonym_edit.text().strip()
        who = self._ask_initials()
        if not pseudonym or not who:
            return
        days = [dt.date.fromtimestamp(s.created_at) for s in self.sessions if s.created_at is not None]
        opened = min([self.today, *days])
        try:
            with CourseStore.open(self.store_path) as store:
                store.add_course(pseudonym, who, opened)
                for s in self.sessions:  # they join it, as with `kapmonitor course add`
                    try:
                        store.link_session(pseudonym, read_session(s.path).link, who)
                    except (SessionDatabaseError, sqlite3.Error, OSError) as exc:
                        log.warning("session %s not linked to the course: %s", s.path, exc)
        except CourseStoreError as exc:
            self.box.set_error(str(exc))
            return
        self.load()

    def _ask_initials(self) -> str:
        from PySide6.QtWidgets import QInputDialog

        text, ok = QInputDialog.getText(self, "Open a course", "Your initials (recorded as who opened it):")
        return text.strip() if ok else ""

    def enter_score(self) -> ScoreEntryDialog | None:
        if self.summary is None:
            return None
        choices = list(dict.fromkeys(f.timepoint for f in self.summary.follow_up if f.status != DONE))
        infusions = self.summary.infusion_dates
        self.entry = ScoreEntryDialog(self.store_path, self.summary.course.pseudonym, choices, self.today,
                                      infusions[0] if infusions else None, self, self.parentWidget() or self)
        self.entry.saved.connect(self._score_saved)
        self.entry.open()
        return self.entry

    def _score_saved(self, _score_id: int) -> None:
        self.load()

    def acknowledge_next(self) -> SafetyPromptDialog | None:
        prompts = self.outstanding_prompts()
        if not prompts or self.summary is None:
            return None
        prompt_id, text = prompts[0]
        self.prompt_dialog = SafetyPromptDialog(self.store_path, self.summary.course.pseudonym, prompt_id, text,
                                                self.parentWidget() or self)
        self.prompt_dialog.panel.acknowledged.connect(self.load)
        self.prompt_dialog.show()
        return self.prompt_dialog

    def export_pdf(self, path: Path | None = None) -> None:
        """Paint the course PDF on a worker thread (the file is chosen here when `path` is None)."""
        if self.report is None or (self.pdf_thread is not None and self.pdf_thread.is_alive()):
            return
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, "Course PDF", f"course-{self.report.pseudonym}.pdf",
                                                  "PDF (*.pdf)")
            if not name:
                return
            path = Path(name)
        report, status = self.report, self.pdf_status
        self.pdf_button.setEnabled(False)
        self.pdf_button.setText("Writing…")

        def work() -> None:
            from kapmonitor.report_pdf.course import write_course_pdf

            try:
                write_course_pdf(report, path)
                status.finished.emit(f"Course PDF written: {path}")
            except Exception as exc:  # reported in the view, never lost silently
                log.exception("course PDF failed")
                status.finished.emit(f"The course PDF could not be written: {exc}")

        self.pdf_thread = threading.Thread(target=work, name="course-pdf", daemon=True)
        self.pdf_thread.start()

    def _pdf_finished(self, message: str) -> None:
        self.pdf_button.setEnabled(self.report is not None)
        self.pdf_button.setText("&PDF…")
        self.pdf_button.setToolTip(message)
        self.box.set_error(message if "could not" in message else None)
        self.outcome.setToolTip(message)
        log.info("%s", message)

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

"""The resume offer at start-up: unfinished sessions (not discharged, not closed) are listed;
the nurse resumes one, closes one (audited, with initials and a reason), or decides later.
GUI thread only.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.session.storage import SessionSummary, mark_abandoned
from kapmonitor.ui.session.common import FieldBox, apply_session_style, enter_presses, make_label

log = logging.getLogger(__name__)


def describe(s: SessionSummary) -> str:
    when = "?" if s.created_at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created_at))
    sim = " [simulated]" if s.simulated else ""
    return f"{when}  {s.pseudonym}  session {s.course_number} of {s.course_total}  — {s.phase}{sim}"


class ResumeOfferDialog(QDialog):
    """After accept: `chosen` is the path to resume. Closing a record keeps the dialog open."""

    def __init__(self, sessions: list[SessionSummary], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unfinished session")
        apply_session_style(self)
        self.sessions = list(sessions)
        self.chosen: Path | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(
            make_label(
                "kapmonitor was closed during a session. Resume it? The infusion clock, "
                "pauses and entries are restored from the record."
            )
        )
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        layout.addWidget(self.list)
        self.who_edit = QLineEdit()
        self.reason_edit = QLineEdit()
        self.who_box = FieldBox("Initials (to close a record without resuming)", self.who_edit)
        self.reason_box = FieldBox("Reason for closing it", self.reason_edit)
        layout.addWidget(self.who_box)
        layout.addWidget(self.reason_box)
        self.error = make_label("", "error")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        self.later_button = QPushButton("Later")
        self.later_button.clicked.connect(self.reject)
        self.close_button = QPushButton("Close record")
        self.close_button.clicked.connect(self.close_selected)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("primary")
        self.resume_button.clicked.connect(self.accept)
        row.addWidget(self.later_button)
        row.addStretch(1)
        row.addWidget(self.close_button)
        row.addWidget(self.resume_button)
        enter_presses(None, self.later_button, self.close_button, self.resume_button)  # each needs a click
        layout.addLayout(row)
        self._fill()

    def _fill(self) -> None:
        self.list.clear()
        for s in self.sessions:
            self.list.addItem(describe(s))
        if self.sessions:
            self.list.setCurrentRow(0)
        self.resume_button.setEnabled(bool(self.sessions))
        self.close_button.setEnabled(bool(self.sessions))

    def _selected(self) -> SessionSummary | None:
        row = self.list.currentRow()
        return self.sessions[row] if 0 <= row < len(self.sessions) else None

    def close_selected(self) -> None:
        s = self._selected()
        if s is None:
            return
        who, reason = self.who_edit.text().strip(), self.reason_edit.text().strip()
        self.who_box.set_error(None if who else "enter your initials")
        self.reason_box.set_error(None if reason else "say why the record is closed without resuming")
        if not (who and reason):
            return
        try:
            mark_abandoned(s.path, who, reason)
        except SessionDatabaseError as exc:
            self.error.setText(str(exc))
            return
        self.sessions.remove(s)
        self._fill()
        if not self.sessions:
            self.reject()

    def accept(self) -> None:
        s = self._selected()
        if s is None:
            return
        self.chosen = s.path
        super().accept()

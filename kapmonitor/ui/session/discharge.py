"""Discharge: the configurable checklist with what the program can assess shown next to each item,
signed with initials; afterwards the session is closed to edits except audited addenda.
GUI thread only.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.entries import DischargeError, SessionError
from kapmonitor.session.infusion import format_duration
from kapmonitor.session.model import ValidationError
from kapmonitor.session.session import NurseSession
from kapmonitor.ui.session.common import ERROR, OK, FieldBox, apply_session_style, enter_presses, make_label

log = logging.getLogger(__name__)


class DischargeDialog(QDialog):
    def __init__(self, session: NurseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Discharge")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        layout.addWidget(
            make_label("Tick each criterion you have checked. The program's assessment is shown next to it.", "dim")
        )
        grid = QGridLayout()
        self.checks: dict[str, QCheckBox] = {}
        self.details: dict[str, QLabel] = {}
        for row, check in enumerate(session.discharge_assessment()):
            cb = QCheckBox(check.item.label)
            cb.setObjectName(check.item.key)
            self.checks[check.item.key] = cb
            detail = QLabel(check.detail)
            detail.setWordWrap(True)
            colour = OK if check.met is True else ERROR if check.met is False else "#a0a8b0"
            detail.setStyleSheet(f"color: {colour};")
            self.details[check.item.key] = detail
            grid.addWidget(cb, row, 0)
            grid.addWidget(detail, row, 1)
        layout.addLayout(grid)
        remaining = session.infusion.observation_remaining_s(session.now()) or 0.0
        # before the minimum observation time a reason is required, whatever is ticked
        self.early_label = make_label(
            f"Minimum observation time not elapsed ({format_duration(remaining)} of "
            f"{session.observation_min:g} min to go): discharging now needs a reason."
            if remaining > 0
            else "",
            "error",
        )
        self.early_label.setWordWrap(True)
        self.early_label.setVisible(remaining > 0)
        layout.addWidget(self.early_label)
        self.who_edit = QLineEdit()
        self.override_edit = QLineEdit()
        self.who_box = FieldBox("Signed by (initials)", self.who_edit)
        self.override_box = FieldBox(
            "Reason to discharge anyway (a criterion not met, or before the minimum observation time)",
            self.override_edit,
        )
        layout.addWidget(self.who_box)
        layout.addWidget(self.override_box)
        self.error = make_label("", "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        row_l = QHBoxLayout()
        row_l.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.sign_button = QPushButton("Sign discharge")
        self.sign_button.setObjectName("primary")
        self.sign_button.clicked.connect(self.accept)
        row_l.addWidget(cancel)
        row_l.addWidget(self.sign_button)
        enter_presses(None, cancel, self.sign_button)  # Enter neither signs nor throws the ticks away
        layout.addLayout(row_l)

    def accept(self) -> None:
        self.who_box.set_error(None)
        self.error.setText("")
        checked = {key: cb.isChecked() for key, cb in self.checks.items()}
        try:
            self.session.discharge(self.who_edit.text(), checked, override_reason=self.override_edit.text() or None)
        except ValidationError as exc:
            self.who_box.set_error(exc.message)
            return
        except DischargeError as exc:
            self.error.setText(f"Cannot discharge: {exc}")
            return
        except SessionError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class AddendumDialog(QDialog):
    """After discharge: an addendum (audited) is the only change allowed."""

    def __init__(self, session: NurseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Addendum")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        self.text_edit = QPlainTextEdit()
        self.who_edit = QLineEdit()
        self.text_box = FieldBox("Addendum", self.text_edit)
        self.who_box = FieldBox("Your initials", self.who_edit)
        layout.addWidget(self.text_box)
        layout.addWidget(self.who_box)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.ok_button = QPushButton("Add")
        self.ok_button.setObjectName("primary")
        self.ok_button.clicked.connect(self.accept)
        row.addWidget(cancel)
        row.addWidget(self.ok_button)
        layout.addLayout(row)

    def accept(self) -> None:
        self.text_box.set_error(None)
        self.who_box.set_error(None)
        try:
            self.session.add_addendum(self.text_edit.toPlainText(), self.who_edit.text())
        except ValidationError as exc:
            (self.who_box if exc.field == "who" else self.text_box).set_error(exc.message)
            return
        super().accept()

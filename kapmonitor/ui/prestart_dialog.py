"""The pre-start check before "start infusion": findings, and an override with initials and reason.

Shown only when `check_prestart` found something. "block" findings are red, "confirm" findings
(a physician's OK) yellow; starting anyway needs initials and a reason, which the caller logs
with the infusion start. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.prestart import PrestartResult


class PrestartDialog(QDialog):
    """Accepted only with initials and a reason; `initials()` and `reason()` give them."""

    def __init__(self, result: PrestartResult, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = result
        blocked = result.blocked
        self.setWindowTitle("Pre-start check: vitals outside the pre-start limits")
        self.setMinimumWidth(600)
        head = QLabel(
            "Starting is blocked: override only with a physician's decision and a reason."
            if blocked else "A physician's OK is needed before starting the infusion."
        )
        head.setWordWrap(True)
        head.setStyleSheet(f"font-size: 18px; font-weight: bold; color: {'#ff2020' if blocked else '#ffd400'};")
        self.findings = QListWidget()
        for f in result.findings:
            item = QListWidgetItem(("\u26d4 " if f.action == "block" else "\u26a0 ") + f.message)
            item.setForeground(QBrush(QColor("#ff2020" if f.action == "block" else "#ffd400")))
            self.findings.addItem(item)
        self.initials_edit = QLineEdit()
        self.initials_edit.setMaxLength(8)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("e.g. Dr X agreed by phone: known hypertension, treated")
        form = QFormLayout()
        form.addRow("Initials", self.initials_edit)
        form.addRow("Reason", self.reason_edit)
        self.buttons = QDialogButtonBox()
        self.start_button = QPushButton("Override and start" if blocked else "Confirmed: start")
        self.buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.findings)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.initials_edit.textChanged.connect(self._update)
        self.reason_edit.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.start_button.setEnabled(bool(self.initials()) and bool(self.reason()))

    def initials(self) -> str:
        return self.initials_edit.text().strip()

    def reason(self) -> str:
        return self.reason_edit.text().strip()

    def accept(self) -> None:
        if not (self.initials() and self.reason()):
            return
        super().accept()

    def override_text(self) -> str:
        """What the caller records with the infusion start."""
        return f"pre-start override by {self.initials()}: {self.reason()} [{self.check.summary()}]"

"""Manual vitals: for monitors without a data port, or a manual re-check. The values go through
the same pipeline as the monitor's (alarm limits, plot, record), marked as manual.
GUI thread only.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kapmonitor.model.parameters import PARAMETER_INFO, Parameter
from kapmonitor.session.model import ValidationError
from kapmonitor.session.session import NurseSession
from kapmonitor.ui.session.common import (
    FieldBox,
    NumberInputError,
    apply_session_style,
    enter_presses,
    make_label,
    parse_number,
)

log = logging.getLogger(__name__)

FIELDS = (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.HR, Parameter.SPO2)


class ManualVitalsDialog(QDialog):
    """Enter one set of manual readings; empty fields are not recorded."""

    def __init__(self, session: NurseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Manual vitals")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        layout.addWidget(
            make_label("Values entered here are marked MANUAL and checked against the alarm limits.", "dim")
        )
        grid = QGridLayout()
        self.edits: dict[Parameter, QLineEdit] = {}
        self.boxes: dict[str, FieldBox] = {}
        for i, p in enumerate(FIELDS):
            info = PARAMETER_INFO[p]
            edit = QLineEdit()
            edit.setObjectName(p.value)
            self.edits[p] = edit
            self.boxes[p.value] = FieldBox(f"{info.label} ({info.display_unit})", edit)
            grid.addWidget(self.boxes[p.value], i // 2, i % 2)
        layout.addLayout(grid)
        self.who_edit = QLineEdit(session.on_duty or "")  # the nurse on duty, never the set-up nurse by default
        self.who_edit.setPlaceholderText(session.acting())
        self.boxes["who"] = FieldBox("Entered by (initials)", self.who_edit)
        layout.addWidget(self.boxes["who"])
        self.general = make_label("", "error")
        layout.addWidget(self.general)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.ok_button = QPushButton("Record")
        self.ok_button.setObjectName("primary")
        self.ok_button.clicked.connect(self.accept)
        row.addWidget(cancel)
        row.addWidget(self.ok_button)
        enter_presses(self.ok_button, cancel)  # Enter records (checked), never cancels the typed values
        layout.addLayout(row)
        self.recorded = 0

    def accept(self) -> None:
        for box in self.boxes.values():
            box.set_error(None)
        self.general.setText("")
        values: dict[Parameter, float] = {}
        bad = False
        for p, edit in self.edits.items():
            try:
                v = parse_number(edit.text(), PARAMETER_INFO[p].label, allow_empty=True)
            except NumberInputError as exc:
                self.boxes[p.value].set_error(str(exc))
                bad = True
                continue
            if v is not None:
                values[p] = v
        # never refused for missing initials (a manual BP feeds the alarms): the nurse on duty,
        # else recorded as "not signed in"
        who = self.who_edit.text().strip() or None
        if bad:
            return
        try:
            samples = self.session.submit_manual_vitals(values, who=who)
        except ValidationError as exc:
            field_box = self.boxes.get(exc.field)
            if field_box is not None:
                field_box.set_error(exc.message)
            else:
                self.general.setText(exc.message)
            return
        self.recorded = len(samples)
        super().accept()

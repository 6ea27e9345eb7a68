"""Events: one-tap side effects with severity, interventions with quick picks, notes, and the list
of entries with audited edit / delete (who and why). After discharge only addenda can be added.

A drug is never recorded by one tap: a quick pick only fills the form, and the nurse confirms with
"Record drug" (or Enter in the form) seeing what, by whom and when, right under the form. Every
entry is credited to the nurse on duty ("not signed in" when nobody is).

GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.catalogues import QUICK_INTERVENTIONS, ROUTES, SEVERITIES, SIDE_EFFECTS, QuickIntervention
from kapmonitor.session.entries import ClinicalEvent, SessionError
from kapmonitor.session.model import ValidationError
from kapmonitor.session.session import NurseSession
from kapmonitor.ui.session.common import (
    OK,
    WARN,
    FieldBox,
    NumberInputError,
    ReservedLabel,
    SessionBridge,
    apply_session_style,
    clock_text,
    enter_presses,
    make_label,
    parse_clock_time,
)

log = logging.getLogger(__name__)


class EditEventDialog(QDialog):
    """Edit (or, with `delete=True`, remove) one entry: initials and a reason are required."""

    def __init__(self, event: ClinicalEvent, delete: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = event
        self.delete = delete
        self.setWindowTitle("Remove entry" if delete else "Edit entry")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        layout.addWidget(make_label(f"{clock_text(event.t)}  {event.label}"))
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        self.boxes: dict[str, FieldBox] = {}
        if not delete:
            if event.category == "side_effect":
                sev = QComboBox()
                sev.addItems(list(SEVERITIES))
                sev.setCurrentText(event.severity or "mild")
                self.fields["severity"] = sev
                self.fields["note"] = QLineEdit(event.note or "")
            elif event.category == "intervention":
                self.fields["drug"] = QLineEdit(event.drug or "")
                self.fields["dose"] = QLineEdit(event.dose or "")
                route = QComboBox()
                route.setEditable(True)
                route.addItems(list(ROUTES))
                route.setCurrentText(event.route or "")
                self.fields["route"] = route
                self.fields["note"] = QLineEdit(event.note or "")
            else:
                self.fields["note"] = QLineEdit(event.note or "")
            for key, widget in self.fields.items():
                self.boxes[key] = FieldBox(key.capitalize(), widget)
                layout.addWidget(self.boxes[key])
            self.time_edit = QLineEdit(clock_text(event.t))
            self.boxes["t"] = FieldBox("Time (HH:MM:SS)", self.time_edit)
            layout.addWidget(self.boxes["t"])
        self.who_edit = QLineEdit()
        self.reason_edit = QLineEdit()
        self.boxes["who"] = FieldBox("Your initials", self.who_edit)
        self.boxes["reason"] = FieldBox("Reason for the change", self.reason_edit)
        layout.addWidget(self.boxes["who"])
        layout.addWidget(self.boxes["reason"])
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.ok_button = QPushButton("Remove" if delete else "Save")
        self.ok_button.setObjectName("danger" if delete else "primary")
        self.ok_button.clicked.connect(self.accept)
        row.addWidget(cancel)
        row.addWidget(self.ok_button)
        # Enter saves an edit; a removal needs an explicit click (or Space on the button)
        enter_presses(None if delete else self.ok_button, cancel, self.ok_button)
        layout.addLayout(row)
        self.session: NurseSession | None = None

    def changes(self) -> dict[str, object]:
        """Fields that differ from the entry. Raises NumberInputError for a bad time."""
        out: dict[str, object] = {}
        if not self.delete and self.time_edit.text().strip() != clock_text(self.entry.t):
            t = parse_clock_time(self.time_edit.text(), self.entry.t)
            if self.session is not None and t > self.session.now():
                raise NumberInputError("the time is in the future")
            out["t"] = t
        for key, widget in self.fields.items():
            value = widget.currentText() if isinstance(widget, QComboBox) else widget.text()
            value = value.strip()
            old = getattr(self.entry, key)
            if value != (old or ""):
                out[key] = value or None
        return out

    def accept(self) -> None:
        assert self.session is not None
        for box in self.boxes.values():
            box.set_error(None)
        who, reason = self.who_edit.text().strip(), self.reason_edit.text().strip()
        if not who:
            self.boxes["who"].set_error("enter your initials")
            return
        if not reason:
            self.boxes["reason"].set_error("say why the entry is changed")
            return
        try:
            if self.delete:
                self.session.delete_event(self.entry.id, who, reason)
            else:
                try:
                    changes = self.changes()
                except NumberInputError as exc:
                    self.boxes["t"].set_error(str(exc))
                    return
                if not changes:
                    self.boxes["reason"].set_error("nothing was changed")
                    return
                if "dose" in changes and not any(ch.isdigit() for ch in str(changes["dose"] or "")):
                    self.boxes["dose"].set_error("the dose needs a number (e.g. 4 mg)")
                    return
                self.session.edit_event(self.entry.id, who, reason, **changes)
        except ValidationError as exc:
            self.boxes.get(exc.field, self.boxes["reason"]).set_error(exc.message)
            return
        except SessionError as exc:
            self.boxes["reason"].set_error(str(exc))
            return
        super().accept()


class EventsPanel(QWidget):
    """Side effects, interventions, notes, and the list of entries."""

    def __init__(self, session: NurseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        apply_session_style(self)
        self.bridge = SessionBridge(session, self)
        self.bridge.changed.connect(self.refresh)
        self.dialog: QDialog | None = None
        layout = QVBoxLayout(self)
        # what was just recorded (or refused), at the top: the side panel shows it above the scrolling
        self.status = ReservedLabel("", 1, "dim", elide=True)  # one line (whole text on hover)
        layout.addWidget(self.status)

        side = QGroupBox("Side effect (one tap)")
        sl = QVBoxLayout(side)
        sev_row = QHBoxLayout()
        self.severity_group = QButtonGroup(self)
        self.severity_buttons: dict[str, QPushButton] = {}
        for sev in SEVERITIES:
            b = QPushButton(sev.capitalize())
            b.setCheckable(True)
            self.severity_group.addButton(b)
            self.severity_buttons[sev] = b
            sev_row.addWidget(b)
        self.severity_buttons["mild"].setChecked(True)
        sl.addLayout(sev_row)
        grid = QGridLayout()
        self.side_buttons: dict[str, QPushButton] = {}
        for i, name in enumerate(SIDE_EFFECTS):
            b = QPushButton(name.capitalize())
            b.setMinimumHeight(44)
            b.clicked.connect(lambda _c=False, n=name: self.add_side_effect(n))
            grid.addWidget(b, i // 3, i % 3)
            self.side_buttons[name] = b
        sl.addLayout(grid)
        layout.addWidget(side)

        inter = QGroupBox("Intervention")
        il = QVBoxLayout(inter)
        quick = QGridLayout()
        self.quick_buttons: list[QPushButton] = []
        for i, q in enumerate(QUICK_INTERVENTIONS):
            b = QPushButton(q.label)
            b.setToolTip("fills the form below; Record drug records it")
            b.clicked.connect(lambda _c=False, q=q: self.pick_intervention(q))
            quick.addWidget(b, i // 2, i % 2)
            self.quick_buttons.append(b)
        il.addLayout(quick)
        custom = QHBoxLayout()
        self.drug_edit = QLineEdit()
        self.drug_edit.setPlaceholderText("drug")
        self.dose_edit = QLineEdit()
        self.dose_edit.setPlaceholderText("dose, e.g. 4 mg")
        self.route_combo = QComboBox()
        self.route_combo.setEditable(True)
        self.route_combo.addItems(list(ROUTES))
        self.add_intervention_button = QPushButton("Record drug")
        self.add_intervention_button.setObjectName("primary")
        self.add_intervention_button.clicked.connect(self.confirm_intervention)
        for edit in (self.drug_edit, self.dose_edit):
            edit.returnPressed.connect(self.confirm_intervention)  # Enter records what the form shows
            edit.textEdited.connect(lambda _t: self._form_changed())
        self.route_combo.currentTextChanged.connect(lambda _t: self._form_changed())
        self.drug_box = FieldBox("", self.drug_edit)
        self.dose_box = FieldBox("", self.dose_edit)
        custom.addWidget(self.drug_box, 2)
        custom.addWidget(self.dose_box, 2)
        custom.addWidget(self.route_combo, 1, Qt.AlignmentFlag.AlignTop)
        custom.addWidget(self.add_intervention_button, 0, Qt.AlignmentFlag.AlignTop)
        il.addLayout(custom)
        # what Record drug will record (who, when), then what was recorded: right under the form
        self.intervention_check = ReservedLabel("", 1, "dim", elide=True)  # whole text on hover
        il.addWidget(self.intervention_check)
        layout.addWidget(inter)

        note_row = QHBoxLayout()
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("note (also used as detail of a side effect; required for 'Other')")
        self.note_box = FieldBox("", self.note_edit)
        self.add_note_button = QPushButton("Add note")
        self.add_note_button.clicked.connect(self.add_note)
        self.note_edit.textEdited.connect(lambda _t: self.note_box.set_error(None))
        note_row.addWidget(self.note_box, 1)
        note_row.addWidget(self.add_note_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(note_row)

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Time", "Entry", "By"])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(160)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.edit_button = QPushButton("Edit…")
        self.delete_button = QPushButton("Remove…")
        self.edit_button.clicked.connect(lambda: self.request_edit(delete=False))
        self.delete_button.clicked.connect(lambda: self.request_edit(delete=True))
        row.addWidget(self.edit_button)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        layout.addLayout(row)
        self._rows: list[ClinicalEvent] = []
        self.refresh()

    # -- actions ----------------------------------------------------------------------------
    @property
    def severity(self) -> str:
        for sev, b in self.severity_buttons.items():
            if b.isChecked():
                return sev
        return "mild"

    def _clear_errors(self) -> None:
        for box in (self.note_box, self.drug_box, self.dose_box):
            box.set_error(None)

    def _field_error(self, exc: ValidationError) -> None:
        box = {"note": self.note_box, "drug": self.drug_box, "dose": self.dose_box}.get(exc.field, self.note_box)
        box.set_error(exc.message)

    def _record(self, action: Callable[[], ClinicalEvent]) -> ClinicalEvent | None:
        """Run one recording action; a refusal is shown at its field and nothing is recorded."""
        self._clear_errors()
        try:
            return action()
        except ValidationError as exc:
            self._field_error(exc)
        except SessionError as exc:
            self.note_box.set_error(str(exc))
        return None

    def add_side_effect(self, name: str) -> None:
        e = self._record(lambda: self.session.add_side_effect(name, self.severity, self.note_edit.text()))
        if e is not None:
            self.note_edit.clear()
            self.status.setText(f"\u2713 Recorded {e.label} at {clock_text(e.t)} by {e.who}")

    def pick_intervention(self, q: QuickIntervention) -> None:
        """A quick pick fills the form only; nothing is recorded until the nurse confirms."""
        self._clear_errors()
        self.drug_edit.setText(q.drug)
        self.dose_edit.setText(q.dose)
        self.route_combo.setCurrentText(q.route)
        self._form_changed()
        self.add_intervention_button.setFocus(Qt.FocusReason.OtherFocusReason)
        self._ensure_visible()

    def _form_changed(self) -> None:
        drug, dose = self.drug_edit.text().strip(), self.dose_edit.text().strip()
        if not (drug or dose):
            self._check_text("", "")
            return
        what = " ".join(x for x in (drug, dose, self.route_combo.currentText().strip()) if x)
        self._check_text(
            f"Record drug? {what} \u00b7 now \u00b7 by {self.session.acting()}", f"color: {WARN}; font-weight: bold;"
        )

    def _check_text(self, text: str, style: str) -> None:
        self.intervention_check.setText(text)
        self.intervention_check.setStyleSheet(style)

    @property
    def pending_intervention(self) -> str:
        """What the confirmation line says now (empty when the form is empty)."""
        return self.intervention_check.text()

    def confirm_intervention(self) -> None:
        self.add_intervention(self.drug_edit.text(), self.dose_edit.text(), self.route_combo.currentText())

    def add_intervention(self, drug: str, dose: str, route: str) -> None:
        e = self._record(lambda: self.session.add_intervention(drug, dose, route))
        if e is not None:
            self.drug_edit.clear()
            self.dose_edit.clear()
            text = f"\u2713 Recorded {e.label} at {clock_text(e.t)} by {e.who}"
            self._check_text(text, f"color: {OK}; font-weight: bold;")
            self.status.setText(text)
            self._ensure_visible()

    def _ensure_visible(self) -> None:
        """Scroll the events tab so that the form's Record button and the confirmation line under
        it are on screen (the line first, when the tab is too short for both)."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if not isinstance(parent, QScrollArea):
            return
        top = self.add_intervention_button.mapTo(self, QPoint(0, 0)).y()
        check = self.intervention_check
        bottom = check.mapTo(self, QPoint(0, check.height())).y()
        room = parent.viewport().height()
        if bottom - top + 8 > room:
            top = bottom - room + 8
        parent.ensureVisible(0, (top + bottom) // 2, 0, (bottom - top) // 2 + 4)

    def add_note(self) -> None:
        text = self.note_edit.text()
        if self.session.closed:
            e = self._record(lambda: self.session.add_addendum(text, who=self.session.acting()))
        else:
            e = self._record(lambda: self.session.add_note(text))
        if e is not None:
            self.note_edit.clear()
            self.status.setText(f"\u2713 Recorded at {clock_text(e.t)} by {e.who}")

    def selected_event(self) -> ClinicalEvent | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        index = rows[0].row()
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def request_edit(self, delete: bool = False) -> None:
        event = self.selected_event()
        if event is None:
            self.status.setText("Select an entry in the list first")
            return
        dialog = EditEventDialog(event, delete, self)
        dialog.session = self.session
        dialog.who_edit.setText(self.session.on_duty or "")  # the nurse on duty, unless she types another
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()

    # -- display -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        events = self.session.events()
        self._rows = events
        self.table.setRowCount(len(events))
        for i, e in enumerate(events):
            for col, text in enumerate((clock_text(e.t), e.label, e.who or "")):
                self.table.setItem(i, col, QTableWidgetItem(text))
        closed = self.session.closed
        for b in [
            *self.side_buttons.values(),
            *self.quick_buttons,
            self.add_intervention_button,
            self.edit_button,
            self.delete_button,
        ]:
            b.setEnabled(not closed)
        self.add_note_button.setText("Add addendum" if closed else "Add note")

    @property
    def row_texts(self) -> list[str]:
        return [
            item.text() if (item := self.table.item(i, 1)) is not None else "" for i in range(self.table.rowCount())
        ]

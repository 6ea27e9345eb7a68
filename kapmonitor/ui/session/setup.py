"""The new-session form: who, what, how much; the dose plan shown large for the pump double-check.

Every field is checked as it is typed; the message appears under the field, and nothing is
accepted until every field is valid (`SessionSetup` validation is the single source of truth).
GUI thread only.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.model import (
    CONCOMITANT_FLAGS,
    DOSE_USUAL_RANGE,
    Drug,
    SessionSetup,
    dose_plan,
    validation_errors,
)
from kapmonitor.session.storage import suggest_course
from kapmonitor.ui.session.common import (
    FieldBox,
    NumberInputError,
    apply_session_style,
    big_font,
    enter_presses,
    parse_number,
)

log = logging.getLogger(__name__)

_NUMBER_FIELDS = {
    "weight_kg": "weight",
    "dose_mg_per_kg": "dose",
    "concentration_mg_per_ml": "concentration",
    "duration_min": "infusion duration",
    "pump_rate_ml_per_h": "pump rate",
}


class NewSessionDialog(QDialog):
    """Collects a valid `SessionSetup`; after `accept()`, `result_setup` holds it."""

    def __init__(
        self,
        parent: QWidget | None = None,
        folder: Path | None = None,
        initial: SessionSetup | None = None,
        simulated: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New session")
        apply_session_style(self)
        self.folder = folder
        self.simulated = simulated
        self.result_setup: SessionSetup | None = None
        self._touched: set[str] = set()
        self.boxes: dict[str, FieldBox] = {}

        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.grid = QGridLayout(body)
        self.grid.setHorizontalSpacing(18)

        def line(key: str, label: str, text: str = "", hint: str = "", placeholder: str = "") -> QLineEdit:
            edit = QLineEdit(text)
            edit.setObjectName(key)
            edit.setPlaceholderText(placeholder)
            edit.textChanged.connect(lambda _t, k=key: self._changed(k))
            self.boxes[key] = FieldBox(label, edit, hint)
            return edit

        self.pseudonym = line("pseudonym", "Patient pseudonym (no names)", placeholder="e.g. KAP-017")
        self.pseudonym.editingFinished.connect(self._suggest_course)
        self.course_number = QSpinBox()
        self.course_number.setRange(1, 50)
        self.course_total = QSpinBox()
        self.course_total.setRange(1, 50)
        self.course_total.setValue(3)  # a KAP course is usually three infusions
        for spin, key in ((self.course_number, "course_number"), (self.course_total, "course_total")):
            spin.valueChanged.connect(lambda _v, k=key: self._changed(k))
        course_row = QWidget()
        cr = QHBoxLayout(course_row)
        cr.setContentsMargins(0, 0, 0, 0)
        cr.addWidget(self.course_number)
        cr.addWidget(QLabel("of"))
        cr.addWidget(self.course_total)
        self.boxes["course_number"] = FieldBox("Session in course", course_row)
        self.course_hint = QLabel("")
        self.course_hint.setObjectName("dim")

        self.nurse = line("nurse_initials", "Nurse (initials)")
        self.therapist = line("therapist_initials", "Therapist (initials)")
        self.prescriber = line("prescriber_initials", "Prescriber (initials)")
        self.weight = line("weight_kg", "Weight (kg)")
        self.drug = QComboBox()
        for d in Drug:
            self.drug.addItem(f"{d.label} (observe {d.observation_min:g} min)", d)
        self.drug.currentIndexChanged.connect(lambda _i: self._changed("drug"))
        self.boxes["drug"] = FieldBox("Drug", self.drug)
        lo, hi = DOSE_USUAL_RANGE
        self.dose = line("dose_mg_per_kg", "Dose (mg/kg)", "0.5", hint=f"usual {lo:g}–{hi:g} mg/kg")
        self.dose_confirm = QCheckBox("I confirm this dose outside the usual range")
        self.dose_confirm.setVisible(False)
        self.dose_confirm.toggled.connect(lambda _c: self._changed("dose_mg_per_kg"))
        self.concentration = line("concentration_mg_per_ml", "Concentration (mg/mL)", "10")
        self.duration = line("duration_min", "Infusion duration (min)", "40")
        self.pump_rate = line("pump_rate_ml_per_h", "Rate set on the pump (mL/h)", hint="optional read-back check")
        self.lot = line("lot", "Lot number")
        self.flags: dict[str, QCheckBox] = {}
        flag_row = QWidget()
        fr = QHBoxLayout(flag_row)
        fr.setContentsMargins(0, 0, 0, 0)
        for key, label in CONCOMITANT_FLAGS.items():
            cb = QCheckBox(label)
            cb.setObjectName(f"flag_{key}")
            self.flags[key] = cb
            fr.addWidget(cb)
        fr.addStretch(1)
        self.boxes["concomitant"] = FieldBox("Concomitant medication", flag_row)
        self.consent = QCheckBox("Consent confirmed")
        self.escort = QCheckBox("Escort home confirmed")
        self.consent.toggled.connect(lambda _c: self._changed("consent"))
        self.escort.toggled.connect(lambda _c: self._changed("escort"))
        self.boxes["consent"] = FieldBox("", self.consent)
        self.boxes["escort"] = FieldBox("", self.escort)

        left = [
            "pseudonym",
            "course_number",
            "nurse_initials",
            "therapist_initials",
            "prescriber_initials",
            "concomitant",
            "consent",
            "escort",
        ]
        right = [
            "weight_kg",
            "drug",
            "dose_mg_per_kg",
            "concentration_mg_per_ml",
            "duration_min",
            "pump_rate_ml_per_h",
            "lot",
        ]
        # two columns where the dialog is wide enough, else one (the form scrolls; nothing is cut)
        self._columns: list[list[QWidget]] = [
            [*(self.boxes[k] for k in left), self.course_hint],
            [w for k in right for w in ((self.boxes[k], self.dose_confirm) if k == "dose_mg_per_kg"
                                        else (self.boxes[k],))],
        ]
        self._two_columns: bool | None = None
        self._arrange(True)

        # the dose plan, large, for the double-check against the pump
        plan = QFrame()
        plan.setFrameShape(QFrame.Shape.StyledPanel)
        pl = QHBoxLayout(plan)
        self.total_label = QLabel("— mg")
        self.volume_label = QLabel("— mL")
        self.rate_label = QLabel("— mL/h")
        for caption, value_label in (
            ("Total dose", self.total_label),
            ("Volume", self.volume_label),
            ("Pump rate", self.rate_label),
        ):
            col = QVBoxLayout()
            cap = QLabel(caption)
            cap.setObjectName("dim")
            value_label.setFont(big_font(34))
            value_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            col.addWidget(cap, alignment=Qt.AlignmentFlag.AlignCenter)
            col.addWidget(value_label)
            pl.addLayout(col)
        outer.addWidget(plan)

        self.summary = QLabel("")
        self.summary.setObjectName("error")
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.create_button = QPushButton("Create session")
        self.create_button.setObjectName("primary")
        self.cancel_button.clicked.connect(self.reject)
        self.create_button.clicked.connect(self.accept)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.create_button)
        enter_presses(self.create_button, self.cancel_button)  # Enter checks the form, never throws it away
        outer.addLayout(buttons)
        self.resize(1000, 760)

        if initial is not None:
            self.load(initial)
        self._refresh()

    def _arrange(self, two: bool) -> None:
        if two == self._two_columns:
            return
        self._two_columns = two
        for column in self._columns:
            for widget in column:
                self.grid.removeWidget(widget)
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 0)
        if two:
            for c, column in enumerate(self._columns):
                for r, widget in enumerate(column):
                    self.grid.addWidget(widget, r, c)
            last = max(len(c) for c in self._columns)
        else:
            hint = self._columns[0][-1]  # the course suggestion, right under the course number
            widgets: list[QWidget] = []
            for widget in self._columns[0][:-1]:
                widgets += [widget, hint] if widget is self.boxes["course_number"] else [widget]
            widgets += self._columns[1]
            for r, widget in enumerate(widgets):
                self.grid.addWidget(widget, r, 0)
            last = len(widgets)
        self.grid.setRowStretch(last, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # the two-column form needs about twice the widest field; below that, one column
        widest = max(w.minimumSizeHint().width() for column in self._columns for w in column)
        self._arrange(self.width() >= 2 * widest + 90)

    # -- filling --------------------------------------------------------------------------
    def load(self, s: SessionSetup) -> None:
        self.pseudonym.setText(s.pseudonym)
        self.course_total.setValue(s.course_total)
        self.course_number.setValue(s.course_number)
        self.nurse.setText(s.nurse_initials)
        self.therapist.setText(s.therapist_initials)
        self.prescriber.setText(s.prescriber_initials)
        self.weight.setText(f"{s.weight_kg:g}")
        self.drug.setCurrentIndex(list(Drug).index(s.drug))
        self.dose.setText(f"{s.dose_mg_per_kg:g}")
        self.dose_confirm.setChecked(s.dose_confirmed)
        self.concentration.setText(f"{s.concentration_mg_per_ml:g}")
        self.duration.setText(f"{s.duration_min:g}")
        self.pump_rate.setText("" if s.pump_rate_ml_per_h is None else f"{s.pump_rate_ml_per_h:g}")
        self.lot.setText(s.lot)
        for key, cb in self.flags.items():
            cb.setChecked(key in s.concomitant)
        self.consent.setChecked(s.consent)
        self.escort.setChecked(s.escort)
        self.simulated = s.simulated

    def _suggest_course(self) -> None:
        pseudonym = self.pseudonym.text().strip()
        if not pseudonym:
            return
        try:
            found = suggest_course(pseudonym, self.folder)
        except OSError as exc:
            log.warning("cannot look up earlier sessions: %s", exc)
            found = None
        if found is None:
            self.course_hint.setText("No earlier sessions of this pseudonym on this computer")
            return
        number, total = found
        self.course_total.setValue(total)
        self.course_number.setValue(number)
        self.course_hint.setText(f"Suggested from earlier sessions: {number} of {total}")

    # -- checking -------------------------------------------------------------------------------
    def _changed(self, key: str) -> None:
        self._touched.add(key)
        self._refresh()

    def _collect(self) -> tuple[SessionSetup | None, dict[str, str]]:
        """The set-up as typed, and messages by field (parse errors and validation errors)."""
        errors: dict[str, str] = {}
        numbers: dict[str, float | None] = {}
        edits = {
            "weight_kg": self.weight,
            "dose_mg_per_kg": self.dose,
            "concentration_mg_per_ml": self.concentration,
            "duration_min": self.duration,
            "pump_rate_ml_per_h": self.pump_rate,
        }
        for key, edit in edits.items():
            try:
                numbers[key] = parse_number(edit.text(), _NUMBER_FIELDS[key], allow_empty=key == "pump_rate_ml_per_h")
            except NumberInputError as exc:
                errors[key] = str(exc)
                numbers[key] = None
        placeholder = {"weight_kg": 70.0, "dose_mg_per_kg": 0.5, "concentration_mg_per_ml": 10.0, "duration_min": 40.0}
        drug = self.drug.currentData()
        setup = SessionSetup(
            pseudonym=self.pseudonym.text().strip(),
            course_number=self.course_number.value(),
            course_total=self.course_total.value(),
            nurse_initials=self.nurse.text().strip(),
            therapist_initials=self.therapist.text().strip(),
            prescriber_initials=self.prescriber.text().strip(),
            weight_kg=numbers["weight_kg"] if numbers["weight_kg"] is not None else placeholder["weight_kg"],
            drug=drug if isinstance(drug, Drug) else Drug.RACEMIC_KETAMINE_IV,
            dose_mg_per_kg=numbers["dose_mg_per_kg"] if numbers["dose_mg_per_kg"] is not None else 0.5,
            concentration_mg_per_ml=(
                numbers["concentration_mg_per_ml"] if numbers["concentration_mg_per_ml"] is not None else 10.0
            ),
            duration_min=numbers["duration_min"] if numbers["duration_min"] is not None else 40.0,
            lot=self.lot.text().strip(),
            concomitant=frozenset(k for k, cb in self.flags.items() if cb.isChecked()),
            consent=self.consent.isChecked(),
            escort=self.escort.isChecked(),
            dose_confirmed=self.dose_confirm.isChecked(),
            pump_rate_ml_per_h=numbers["pump_rate_ml_per_h"],
            simulated=self.simulated,
        )
        for err in validation_errors(setup):
            errors.setdefault(err.field, err.message)
        return (None if errors else setup), errors

    def _refresh(self, show_all: bool = False) -> tuple[SessionSetup | None, dict[str, str]]:
        setup, errors = self._collect()
        for key, box in self.boxes.items():
            shown = show_all or key in self._touched or (key == "course_number" and "course_total" in self._touched)
            message = errors.get(key) or (errors.get("course_total") if key == "course_number" else None)
            box.set_error(message if shown else None)
        # the confirmation box appears only for a dose outside the usual range
        try:
            dose = parse_number(self.dose.text(), "dose")
        except NumberInputError:
            dose = None
        lo, hi = DOSE_USUAL_RANGE
        self.dose_confirm.setVisible(dose is not None and dose > 0 and not lo <= dose <= hi)
        plan_fields = ("weight_kg", "dose_mg_per_kg", "concentration_mg_per_ml", "duration_min")
        plan_ok = not any(k in errors and "confirm" not in errors[k] for k in plan_fields)
        if plan_ok:
            candidate = setup if setup is not None else self._collect_for_plan()
            p = dose_plan(candidate) if candidate is not None else None
        else:
            p = None
        if p is None:
            self.total_label.setText("— mg")
            self.volume_label.setText("— mL")
            self.rate_label.setText("— mL/h")
        else:
            self.total_label.setText(f"{p.total_mg:.1f} mg")
            self.volume_label.setText(f"{p.volume_ml:.2f} mL")
            self.rate_label.setText(f"{p.rate_ml_per_h:.2f} mL/h")
        if show_all and errors:
            self.summary.setText(f"{len(errors)} field(s) need attention (see the messages in red)")
        elif not errors:
            self.summary.setText("")
        return setup, errors

    def _collect_for_plan(self) -> SessionSetup | None:
        try:
            return SessionSetup(
                pseudonym="x",
                course_number=1,
                course_total=1,
                nurse_initials="x",
                therapist_initials="x",
                prescriber_initials="x",
                weight_kg=float(parse_number(self.weight.text(), "weight") or 0),
                dose_mg_per_kg=float(parse_number(self.dose.text(), "dose") or 0),
                concentration_mg_per_ml=float(parse_number(self.concentration.text(), "concentration") or 1),
                duration_min=float(parse_number(self.duration.text(), "duration") or 1),
            )
        except NumberInputError:
            return None

    @property
    def field_errors(self) -> dict[str, str]:
        """Messages currently shown at the fields (for tests and the summary)."""
        return {k: b.message for k, b in self.boxes.items() if b.message}

    def accept(self) -> None:
        setup, errors = self._refresh(show_all=True)
        if setup is None:
            first = next(iter(errors))
            box = self.boxes.get(first) or self.boxes.get("course_number")
            if box is not None:
                box.editor.setFocus()
            return
        self.result_setup = setup
        super().accept()

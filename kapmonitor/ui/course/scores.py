"""Depression scores entered at the bedside: the clinician's score entry (BDI-II total and item 9
— never its copyrighted items —, PHQ-9 total, MADRS total), the PHQ-9 administered on screen to the
patient item by item, and the item-9 safety prompt a clinician must acknowledge.

Every score goes through kapmonitor.course.store (`check_new_score`, `add_scores`): one
transaction, the safety prompt raised with it, who and when recorded. The PHQ-9 form saves the
answers the moment the ninth is given, so a positive item 9 can never be lost by closing a window;
the patient-facing pages ignore Escape and the window's close button, and only the clinician's
page (after the hand-back) shows the total, the band and the safety prompt. A raised prompt stays
outstanding in the course (course view banner, `kapmonitor course due`) until acknowledged.

The writes are small SQLite transactions on the local course database, done in the GUI thread.
GUI thread only.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.course import timepoints
from kapmonitor.course.instruments import INSTRUMENTS, PHQ9_ANSWERS, PHQ9_ITEMS, PHQ9_QUESTION, PHQ_9
from kapmonitor.course.store import CourseStore, CourseStoreError, check_baseline, check_new_score
from kapmonitor.ui import theme
from kapmonitor.ui.session.common import FieldBox, apply_session_style, big_font, enter_presses, make_label

log = logging.getLogger(__name__)

DIGIT_KEYS = {Qt.Key.Key_0: 0, Qt.Key.Key_1: 1, Qt.Key.Key_2: 2, Qt.Key.Key_3: 3}


@dataclass(frozen=True)
class ScoreContext:
    """Where a score goes and what the clinician set before it is taken."""

    store_path: Path
    pseudonym: str
    date: dt.date
    timepoint: str
    who: str
    note: str | None
    today: dt.date
    first_infusion: dt.date | None = None


def save_score(ctx: ScoreContext, instrument: str, total: int, item9: int | None,
               items: Sequence[int] | None = None, source: str = "entered") -> tuple[int, int | None]:
    """Check and store one score; (score id, safety prompt id or None). Raises CourseStoreError."""
    score = check_new_score(ctx.pseudonym, instrument, total, item9, items, ctx.date, ctx.timepoint, ctx.who,
                            ctx.note, ctx.today, source)
    check_baseline(score, ctx.first_infusion)
    with CourseStore.open(ctx.store_path) as store:
        ((score_id, prompt_id),) = store.add_scores([score])
    if prompt_id is not None:
        log.warning("%s: %s item 9 = %s, safety prompt %d raised", ctx.pseudonym, instrument, score.item9, prompt_id)
    return score_id, prompt_id


class SafetyPanel(QWidget):
    """The item-9 safety prompt: a clinician's initials (and what was done) acknowledge it in the
    course store. `acknowledged` is emitted once it is recorded."""

    acknowledged = Signal()

    def __init__(self, store_path: Path, pseudonym: str, prompt_id: int, text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store_path, self.pseudonym, self.prompt_id = store_path, pseudonym, prompt_id
        self.done = False
        layout = QVBoxLayout(self)
        self.banner = QLabel(text)
        self.banner.setWordWrap(True)
        self.banner.setObjectName("prompt")
        self.banner.setFont(big_font(20))
        layout.addWidget(self.banner)
        row = QHBoxLayout()
        self.who_edit = QLineEdit()
        self.who_edit.setPlaceholderText("initials")
        self.who_box = FieldBox("Clinician acknowledging", self.who_edit)
        self.action_edit = QLineEdit()
        self.action_edit.setPlaceholderText("e.g. risk assessed, safety plan reviewed")
        self.action_box = FieldBox("What was done", self.action_edit)
        row.addWidget(self.who_box, 1)
        row.addWidget(self.action_box, 3)
        layout.addLayout(row)
        self.ack_button = QPushButton("Acknowledge (clinician)")
        self.ack_button.setObjectName("danger")
        self.ack_button.clicked.connect(self.acknowledge)
        layout.addWidget(self.ack_button)
        self.status = make_label("Not yet acknowledged: it stays on the course and on `kapmonitor course due`.",
                                 "error")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

    def acknowledge(self) -> None:
        who = self.who_edit.text().strip()
        if not who:
            self.who_box.set_error("your initials")
            return
        try:
            with CourseStore.open(self.store_path) as store:
                p = store.acknowledge(self.pseudonym, self.prompt_id, who, self.action_edit.text() or None)
        except CourseStoreError as exc:
            self.who_box.set_error(str(exc))
            return
        self.done = True
        self.who_box.set_error(None)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.acknowledged_t or time.time()))
        self.status.setText(f"Acknowledged by {p.acknowledged_by} at {when}")
        self.status.setObjectName("dim")
        self.status.setStyleSheet("color: #4cd964;")
        for w in (self.who_edit, self.action_edit, self.ack_button):
            w.setEnabled(False)
        self.acknowledged.emit()


def safety_text(instrument: str, item9: int) -> str:
    inst = INSTRUMENTS[instrument]
    answer = f" — “{PHQ9_ANSWERS[item9][1]}”" if instrument == PHQ_9.key else ""
    return (f"SAFETY: {inst.name} item 9 (thoughts of being better off dead or of hurting oneself) answered "
            f"{item9}{answer}. A clinician must assess the patient now and acknowledge here.")


class SafetyPromptDialog(QDialog):
    """The safety prompt on its own (after a score entry, or an outstanding one from the course).
    It closes only once acknowledged; it is not modal, so the nurse's window stays usable."""

    def __init__(self, store_path: Path, pseudonym: str, prompt_id: int, text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Safety prompt — {pseudonym}")
        self.setModal(False)
        apply_session_style(self)
        layout = QVBoxLayout(self)
        self.panel = SafetyPanel(store_path, pseudonym, prompt_id, text, self)
        layout.addWidget(self.panel)
        self.close_button = QPushButton("Close")
        self.close_button.setEnabled(False)
        self.close_button.clicked.connect(self.accept)
        self.panel.acknowledged.connect(lambda: self.close_button.setEnabled(True))
        layout.addWidget(self.close_button)
        enter_presses(None, self.close_button, self.panel.ack_button)

    def reject(self) -> None:  # Escape: only once acknowledged
        if self.panel.done:
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.panel.done:
            super().closeEvent(event)
        else:
            event.ignore()


class ScoreEntryDialog(QDialog):
    """A score entered by the clinician: instrument, total (and item 9), date, time point, who, note.
    The PHQ-9 can be handed to the patient on screen instead (`phq9_button`)."""

    saved = Signal(int)

    def __init__(self, store_path: Path, pseudonym: str, choices: Sequence[str], today: dt.date,
                 first_infusion: dt.date | None = None, parent: QWidget | None = None,
                 host: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store_path, self.pseudonym, self.today, self.first_infusion = store_path, pseudonym, today, first_infusion
        # the PHQ-9 form and the safety prompt belong to `host` (the nurse's window): they outlive this
        # dialog and the course view, so a patient mid-questionnaire or an open prompt is never closed with them
        self.host = host or parent
        self.setWindowTitle(f"Enter a score — {pseudonym}")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        self.instrument = QComboBox()
        for inst in INSTRUMENTS.values():
            self.instrument.addItem(f"{inst.name} (0–{inst.max_total})", inst.key)
        self.instrument.currentIndexChanged.connect(self._instrument_changed)
        self.total_edit = QLineEdit()
        self.item9_edit = QLineEdit()
        self.item9_edit.setPlaceholderText("0–3")
        self.date_edit = QLineEdit(today.isoformat())
        self.timepoint = QComboBox()
        self.timepoint.setEditable(True)
        for key in [*choices, timepoints.UNSCHEDULED]:
            self.timepoint.addItem(timepoints.label(key), key)
        self.who_edit = QLineEdit()
        self.who_edit.setPlaceholderText("initials")
        self.note_edit = QLineEdit()
        self.boxes = {
            "instrument": FieldBox("Instrument", self.instrument),
            "total": FieldBox("Total", self.total_edit),
            "item9": FieldBox("Item 9 (suicidal thoughts)", self.item9_edit),
            "date": FieldBox("Date (YYYY-MM-DD)", self.date_edit),
            "timepoint": FieldBox("Time point", self.timepoint),
            "who": FieldBox("Entered by", self.who_edit),
        }
        for key, mnemonic in (("instrument", "&Instrument"), ("total", "&Total"),
                              ("item9", "Item &9 (suicidal thoughts)"), ("date", "&Date (YYYY-MM-DD)"),
                              ("who", "&Entered by")):
            self.boxes[key].label.setText(mnemonic)
            self.boxes[key].label.setBuddy(self.boxes[key].editor)
        for n, box in enumerate(self.boxes.values()):
            grid.addWidget(box, n // 2, n % 2)
        layout.addLayout(grid)
        layout.addWidget(FieldBox("Note", self.note_edit))
        self.hint = make_label("", "dim")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        buttons = QHBoxLayout()
        self.phq9_button = QPushButton("&PHQ-9 on screen for the patient…")
        self.phq9_button.clicked.connect(self.administer_phq9)
        self.save_button = QPushButton("&Save score")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        buttons.addWidget(self.phq9_button)
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        enter_presses(self.save_button, self.phq9_button, cancel)
        self.score_id: int | None = None
        self.prompt_dialog: SafetyPromptDialog | None = None
        self.form: Phq9Form | None = None
        self._instrument_changed()

    def _instrument_changed(self) -> None:
        key = str(self.instrument.currentData())
        inst = INSTRUMENTS[key]
        self.item9_edit.setEnabled(inst.item9)
        self.phq9_button.setEnabled(key == PHQ_9.key)
        self.hint.setText({
            "bdi-ii": "BDI-II: enter the total and the answer to item 9 from the paper form; its questions are "
                      "copyrighted and never shown here.",
            "phq-9": "PHQ-9: enter the total and item 9, or hand the screen to the patient to answer it item by item.",
            "madrs": "MADRS: the clinician-rated total.",
        }[key])

    def _int(self, edit: QLineEdit, box: str, allow_empty: bool) -> int | None:
        text = edit.text().strip()
        if not text and allow_empty:
            return None
        try:
            return int(text)
        except ValueError:
            self.boxes[box].set_error("a whole number")
            raise

    def context(self) -> ScoreContext:
        """What the clinician set (date, time point, who, note); raises ValueError with the field marked."""
        for box in self.boxes.values():
            box.set_error(None)
        try:
            day = dt.date.fromisoformat(self.date_edit.text().strip())
        except ValueError:
            self.boxes["date"].set_error("a date, YYYY-MM-DD")
            raise
        data = self.timepoint.currentData()
        text = self.timepoint.currentText().strip()
        key = str(data) if data is not None and self.timepoint.itemText(self.timepoint.currentIndex()) == text else text
        try:
            tp = timepoints.parse(key)
        except timepoints.TimepointError as exc:
            self.boxes["timepoint"].set_error(str(exc))
            raise
        if not self.who_edit.text().strip():
            self.boxes["who"].set_error("your initials")
            raise ValueError("who")
        return ScoreContext(self.store_path, self.pseudonym, day, tp, self.who_edit.text().strip(),
                            self.note_edit.text().strip() or None, self.today, self.first_infusion)

    def save(self) -> None:
        try:
            ctx = self.context()
            total = self._int(self.total_edit, "total", False)
            item9 = self._int(self.item9_edit, "item9", True) if self.item9_edit.isEnabled() else None
        except ValueError:
            return
        if self.item9_edit.isEnabled() and item9 is None:
            # the suicidal-thoughts answer is never left out of a score taken at the bedside
            self.boxes["item9"].set_error("needed: the answer to item 9 (0–3)")
            return
        key = str(self.instrument.currentData())
        assert total is not None
        try:
            self.score_id, prompt_id = save_score(ctx, key, total, item9)
        except CourseStoreError as exc:
            self.boxes["total"].set_error(str(exc))
            return
        self.saved.emit(self.score_id)
        if prompt_id is not None and item9 is not None:
            self.prompt_dialog = SafetyPromptDialog(self.store_path, self.pseudonym, prompt_id,
                                                    safety_text(key, item9), self.host)
            self.prompt_dialog.show()
        self.accept()

    def administer_phq9(self) -> None:
        try:
            ctx = self.context()
        except ValueError:
            return
        form = self.form = Phq9Form(ctx, self.host)
        form.saved.connect(self._form_saved)  # a bound slot: dropped if this dialog is gone first
        view = self.parentWidget()
        if view is not None and view is not self.host and view.isVisible():
            # the course view steps aside while the patient answers: she does not see her course, and the
            # window manager cannot give the course view the keyboard back over her form
            view.hide()
            form.finished.connect(view.show)
        form.show()
        self.accept()
        QTimer.singleShot(0, form, form.bring_to_front)

    def _form_saved(self, score_id: int) -> None:
        self.saved.emit(score_id)


class Phq9Form(QDialog):
    """The PHQ-9 for the patient: one item a page in large type, answered with the keys 0–3 or the
    mouse, Back/Next (keys Left/Right too). The ninth answer saves the questionnaire; then the
    screen asks to be handed back, and the clinician's page shows the total, the band and, for an
    item 9 above 0, the safety prompt to acknowledge before the form can close."""

    saved = Signal(int)

    def bring_to_front(self) -> None:
        """Above every other kapmonitor window, with the keyboard (the patient answers here)."""
        self.raise_()
        self.activateWindow()

    def __init__(self, ctx: ScoreContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("PHQ-9 questionnaire")
        self.setModal(False)
        apply_session_style(self)
        self.answers: list[int | None] = [None] * len(PHQ9_ITEMS)
        self.index = 0
        self.score_id: int | None = None
        self.prompt_id: int | None = None
        self.safety: SafetyPanel | None = None
        self.stopped = False
        layout = QVBoxLayout(self)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages)
        # the item page
        item_page = QWidget()
        col = QVBoxLayout(item_page)
        self.question = QLabel(PHQ9_QUESTION)
        self.question.setWordWrap(True)
        self.question.setFont(big_font(22, bold=False))
        self.progress = make_label("", "dim")
        self.item_text = QLabel()
        self.item_text.setWordWrap(True)
        self.item_text.setFont(big_font(34))
        self.item_text.setMinimumHeight(theme.scaled_px(130))
        col.addWidget(self.progress)
        col.addWidget(self.question)
        col.addWidget(self.item_text, 1)
        self.answer_buttons: list[QPushButton] = []
        for value, (_, text) in enumerate(PHQ9_ANSWERS):
            b = QPushButton(f"{value}   {text}")
            b.setCheckable(True)
            b.setFont(big_font(26))
            b.setMinimumHeight(theme.scaled_px(64))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _c=False, v=value: self.answer(v))
            self.answer_buttons.append(b)
            col.addWidget(b)
        nav = QHBoxLayout()
        self.back_button = QPushButton("◀ Back")
        self.next_button = QPushButton("Next ▶")
        for b in (self.back_button, self.next_button):
            b.setFont(big_font(22))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        nav.addWidget(self.back_button)
        nav.addStretch(1)
        nav.addWidget(make_label("Press 0, 1, 2 or 3, or touch an answer", "dim"))
        nav.addStretch(1)
        nav.addWidget(self.next_button)
        col.addLayout(nav)
        # before the ninth answer nothing is saved and no item-9 answer exists to lose
        self.stop_button = QPushButton("Clinician: stop without saving")
        self.stop_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stop_button.clicked.connect(self.stop)
        col.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignRight)
        self.pages.addWidget(item_page)
        # hand back
        hand = QWidget()
        hcol = QVBoxLayout(hand)
        self.thanks = QLabel("Thank you.\nPlease hand the screen back to your clinician.")
        self.thanks.setFont(big_font(34))
        self.thanks.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thanks.setWordWrap(True)
        hcol.addWidget(self.thanks, 1)
        self.save_error = make_label("", "error")
        self.save_error.setWordWrap(True)
        hcol.addWidget(self.save_error)
        self.clinician_button = QPushButton("Clinician: show the result")
        self.clinician_button.clicked.connect(self.show_result)
        hcol.addWidget(self.clinician_button)
        self.pages.addWidget(hand)
        # the clinician's result
        result = QWidget()
        self.result_layout = QVBoxLayout(result)
        self.result_label = QLabel()
        self.result_label.setFont(big_font(24))
        self.result_label.setWordWrap(True)
        self.result_layout.addWidget(self.result_label)
        self.result_layout.addStretch(1)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.accept)
        self.result_layout.addWidget(self.close_button)
        self.pages.addWidget(result)
        enter_presses(None, self.back_button, self.next_button, self.clinician_button, self.close_button,
                      self.stop_button, *self.answer_buttons)
        self.resize(theme.scaled_px(900), theme.scaled_px(640))
        self._show_item()

    @property
    def patient_facing(self) -> bool:
        return self.pages.currentIndex() < 2

    def _show_item(self) -> None:
        _, text = PHQ9_ITEMS[self.index]
        self.progress.setText(f"Question {self.index + 1} of {len(PHQ9_ITEMS)}")
        self.item_text.setText(text)
        for value, b in enumerate(self.answer_buttons):
            b.setChecked(self.answers[self.index] == value)
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.answers[self.index] is not None)

    def answer(self, value: int) -> None:
        if self.pages.currentIndex() != 0:
            return
        self.answers[self.index] = value
        self._show_item()
        self.next()

    def next(self) -> None:
        if self.pages.currentIndex() != 0 or self.answers[self.index] is None:
            return
        if self.index + 1 < len(PHQ9_ITEMS):
            self.index += 1
            self._show_item()
        else:
            self.finish()

    def back(self) -> None:
        if self.pages.currentIndex() == 0 and self.index > 0:
            self.index -= 1
            self._show_item()

    def finish(self) -> None:
        """Save the nine answers at once (a positive item 9 raises its prompt in the store now)."""
        items = [int(a) for a in self.answers if a is not None]
        self.pages.setCurrentIndex(1)
        if self.score_id is None:
            try:
                self.score_id, self.prompt_id = save_score(self.ctx, PHQ_9.key, sum(items), items[8], items, "form")
            except CourseStoreError as exc:
                # kept on screen, never lost: the clinician sees the answers and can save them again
                self.save_error.setText(f"Not saved: {exc}. Answers {items}. Clinician: show the result to retry.")
                log.error("PHQ-9 of %s not saved: %s", self.ctx.pseudonym, exc)
                return
            self.save_error.setText("")
            self.saved.emit(self.score_id)

    def show_result(self) -> None:
        if self.score_id is None:
            self.finish()
            if self.score_id is None:
                return
        items = [int(a) for a in self.answers if a is not None]
        total = sum(items)
        self.result_label.setText(
            f"PHQ-9 of {self.ctx.pseudonym}: total {total} / 27 — {PHQ_9.severity(total)}\n"
            f"item 9: {items[8]} · answers {' '.join(map(str, items))}\n"
            f"saved for {self.ctx.date.isoformat()}, {timepoints.label(self.ctx.timepoint)}, by {self.ctx.who}")
        if self.prompt_id is not None and self.safety is None:
            self.safety = SafetyPanel(self.ctx.store_path, self.ctx.pseudonym, self.prompt_id,
                                      safety_text(PHQ_9.key, items[8]), self)
            self.safety.acknowledged.connect(lambda: self.close_button.setEnabled(True))
            self.result_layout.insertWidget(1, self.safety)
            self.close_button.setEnabled(False)
        self.pages.setCurrentIndex(2)

    def stop(self) -> None:
        if self.pages.currentIndex() == 0 and self.score_id is None:
            self.stopped = True
            self.done(QDialog.DialogCode.Rejected)

    def _closable(self) -> bool:
        if self.stopped:
            return True
        return not self.patient_facing and (self.safety is None or self.safety.done)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        if self.pages.currentIndex() == 0:
            if key in DIGIT_KEYS:
                self.answer(DIGIT_KEYS[key])
                return
            if key in (Qt.Key.Key_Right, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
                self.next()
                return
            if key in (Qt.Key.Key_Left, Qt.Key.Key_Backspace):
                self.back()
                return
        if key == Qt.Key.Key_Escape and not self._closable():
            return  # the patient's screen cannot be closed with a key
        super().keyPressEvent(event)

    def reject(self) -> None:
        if self._closable():
            super().reject()

    def accept(self) -> None:
        if self._closable():
            super().accept()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closable():
            super().closeEvent(event)
        else:
            event.ignore()

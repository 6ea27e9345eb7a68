"""The infusion panel: phase, elapsed/remaining, progress, volume, NIBP countdown, prompts, and the
start / pause / resume / stop buttons (start runs the pre-start check; a failed check needs an
override with initials and a reason). Pause asks for a reason.

GUI thread only. Refreshes on a 1 s timer and whenever the session changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.entries import PrestartBlockedError, SessionError
from kapmonitor.session.infusion import Phase, format_duration
from kapmonitor.session.model import ValidationError
from kapmonitor.session.session import NurseSession
from kapmonitor.ui.session.common import (
    ERROR,
    FieldBox,
    ReservedLabel,
    SessionBridge,
    apply_session_style,
    big_font,
    enter_presses,
    keep_units_together,
    make_label,
)

log = logging.getLogger(__name__)

PROMPT_SHORT = {  # three at once still fit one line of the side panel
    "moaas": "MOAA/S due",
    "breathing": "MOAA/S \u2264 3: watch breathing",
    "cadss": "CADSS due",
    "stop": "Stop the pump",
    "discharge": "Assess for discharge",
}

PAUSE_REASONS = (
    "Nausea / vomiting",
    "Patient request",
    "Blood pressure high",
    "Line / pump problem",
    "Anxiety / dissociation",
    "Toilet",
)


class PauseDialog(QDialog):
    """Asks why the infusion is paused: quick picks or free text. `reason` after accept."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pause the infusion")
        apply_session_style(self)
        self.reason = ""
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Why is the infusion paused?"))
        self.reason_edit = QLineEdit()
        grid = QGridLayout()
        self.quick: dict[str, QPushButton] = {}
        for i, text in enumerate(PAUSE_REASONS):
            b = QPushButton(text)
            b.clicked.connect(lambda _c=False, t=text: self.reason_edit.setText(t))
            grid.addWidget(b, i // 2, i % 2)
            self.quick[text] = b
        layout.addLayout(grid)
        self.reason_edit.setPlaceholderText("or type the reason")
        self.box = FieldBox("Reason", self.reason_edit)
        layout.addWidget(self.box)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.ok_button = QPushButton("Pause")
        self.ok_button.setObjectName("danger")
        self.ok_button.clicked.connect(self.accept)
        row.addWidget(cancel)
        row.addWidget(self.ok_button)
        enter_presses(self.ok_button, cancel)  # Enter after the reason pauses (never cancels the reason)
        layout.addLayout(row)

    def accept(self) -> None:
        text = self.reason_edit.text().strip()
        if not text:
            self.box.set_error("give a reason for the pause")
            return
        self.reason = text
        super().accept()


class OverrideDialog(QDialog):
    """The pre-start check failed: start anyway only with initials and a reason (both recorded)."""

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pre-start check")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        text = QLabel(message)
        text.setWordWrap(True)
        text.setObjectName("prompt")
        layout.addWidget(text)
        self.who_edit = QLineEdit()
        self.reason_edit = QLineEdit()
        self.who_box = FieldBox("Your initials", self.who_edit)
        self.reason_box = FieldBox("Why start anyway (e.g. physician's OK)", self.reason_edit)
        layout.addWidget(self.who_box)
        layout.addWidget(self.reason_box)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Do not start")
        cancel.clicked.connect(self.reject)
        self.ok_button = QPushButton("Start anyway")
        self.ok_button.setObjectName("danger")
        self.ok_button.clicked.connect(self.accept)
        row.addWidget(cancel)
        row.addWidget(self.ok_button)
        enter_presses(None, cancel, self.ok_button)  # overriding the check needs an explicit click
        layout.addLayout(row)
        self.who = ""
        self.reason = ""

    def accept(self) -> None:
        who, reason = self.who_edit.text().strip(), self.reason_edit.text().strip()
        self.who_box.set_error(None if who else "enter your initials")
        self.reason_box.set_error(None if reason else "give the reason for overriding")
        if who and reason:
            self.who, self.reason = who, reason
            super().accept()


class StopDialog(QDialog):
    """Stop the infusion: the nurse reads the volume infused back from the pump (prefilled with the
    computed volume) and confirms; an early stop says how much of the plan remains. The record,
    course view and PDF use the confirmed volume. Enter never stops the pump: Cancel is the default.
    `volume_ml` after accept."""

    def __init__(
        self, session: NurseSession, computed_ml: float, remaining_s: float, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.computed_ml = computed_ml
        self.volume_ml: float | None = None
        self.setWindowTitle("Stop the infusion")
        apply_session_style(self)
        layout = QVBoxLayout(self)
        plan = session.plan
        if remaining_s > 30:
            warn = make_label(f"{format_duration(remaining_s)} of the planned infusion remain.", "error")
            layout.addWidget(warn)
        over = session.infusion_overrun_s()
        if over > 0:
            layout.addWidget(make_label(f"The pump ran {format_duration(over)} past the planned end.", "error"))
        text = make_label(
            "Stop the pump, then enter the volume infused as the pump shows it "
            f"(planned {plan.volume_ml:.2f}\u00a0mL; computed from the time {computed_ml:.2f}\u00a0mL)."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.volume_edit = QLineEdit(f"{computed_ml:.2f}")
        self.volume_edit.selectAll()
        self.box = FieldBox("Volume infused (mL), pump read-back", self.volume_edit)
        layout.addWidget(self.box)
        row = QHBoxLayout()
        row.addStretch(1)
        self.cancel_button = QPushButton("Cancel — keep infusing")
        self.cancel_button.clicked.connect(self.reject)
        self.cancel_button.setDefault(True)
        self.ok_button = QPushButton("Stop infusion")
        self.ok_button.setObjectName("danger")
        self.ok_button.setAutoDefault(False)
        self.ok_button.clicked.connect(self.accept)
        row.addWidget(self.cancel_button)
        row.addWidget(self.ok_button)
        layout.addLayout(row)

    def accept(self) -> None:
        raw = self.volume_edit.text().strip().replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            self.box.set_error("enter the volume in mL as a number, e.g. 3.50")
            return
        try:
            self.volume_ml = self.session.check_infused_volume(value)
        except ValidationError as exc:
            self.box.set_error(exc.message)
            return
        self.box.set_error(None)
        super().accept()


class InfusionPanel(QWidget):
    """Infusion clock and controls for one NurseSession."""

    def __init__(self, session: NurseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        apply_session_style(self)
        self.bridge = SessionBridge(session, self)
        self.bridge.changed.connect(self.refresh)
        self.dialog: QDialog | None = None  # the dialog currently open (pause or override)
        self.last_error = ""

        s = session.setup
        plan = session.plan
        layout = QVBoxLayout(self)
        sim = "  [SIMULATED]" if s.simulated else ""
        self.title = make_label(f"{s.pseudonym} · session {s.course_number} of {s.course_total}{sim}")
        self.title.setFont(big_font(20))
        self.title.setWordWrap(True)  # a long pseudonym or the SIMULATED mark never clips
        layout.addWidget(self.title)
        self.plan_label = make_label(
            keep_units_together(  # wraps between quantities, never inside "5.25 mL/h"
                f"{s.drug.label} {s.dose_mg_per_kg:g} mg/kg = {plan.total_mg:.1f} mg · {plan.volume_ml:.2f} mL "
                f"· {plan.rate_ml_per_h:.2f} mL/h over {s.duration_min:g} min"
            ),
            "dim",
        )
        self.plan_label.setWordWrap(True)
        layout.addWidget(self.plan_label)
        self.phase_label = make_label("")
        self.phase_label.setFont(big_font(26))
        layout.addWidget(self.phase_label)

        times = QGridLayout()
        self.elapsed_label = make_label("0:00", align=Qt.AlignmentFlag.AlignCenter)
        self.remaining_label = make_label("", align=Qt.AlignmentFlag.AlignCenter)
        self.volume_label = make_label("", align=Qt.AlignmentFlag.AlignCenter)
        for col, (caption, label) in enumerate(
            (("Infused", self.elapsed_label), ("Remaining", self.remaining_label), ("Volume", self.volume_label))
        ):
            times.addWidget(make_label(caption, "dim", Qt.AlignmentFlag.AlignCenter), 0, col)
            label.setFont(big_font(30))
            times.addWidget(label, 1, col)
        layout.addLayout(times)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        layout.addWidget(self.progress)
        self.detail_label = make_label("", "dim")
        self.detail_label.setWordWrap(True)
        layout.addWidget(self.detail_label)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("primary")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("danger")
        for b in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            b.setMinimumHeight(48)
            buttons.addWidget(b)
        self.start_button.clicked.connect(self.request_start)
        self.pause_button.clicked.connect(self.request_pause)
        self.resume_button.clicked.connect(self.do_resume)
        self.stop_button.clicked.connect(lambda: self.request_stop())
        layout.addLayout(buttons)

        nibp_row = QHBoxLayout()
        self.nibp_label = make_label("")
        self.nibp_label.setFont(big_font(20))
        nibp_row.addWidget(self.nibp_label, 1)
        self.nibp_button = QPushButton("Measure NIBP")
        self.nibp_button.clicked.connect(self.measure_nibp)
        self.nibp_button.setVisible(False)
        nibp_row.addWidget(self.nibp_button)
        layout.addLayout(nibp_row)
        self.now_fn: Callable[[], float] = session.now  # display time (the app may pin it for screenshots)
        self.request_nibp: Callable[[], object] | None = None  # the monitor's "measure now", if it has one
        # prompts and errors in reserved room: nothing below moves when one appears or goes
        self.prompt_strip = ReservedLabel("", 1, "prompt")
        self.prompt_strip.setVisible(False)  # shown while something is due; its room stays
        layout.addWidget(self.prompt_strip)
        self._prompt_texts: list[str] = []
        self.error_label = ReservedLabel("", 1, "error", elide=True)  # the whole message on hover
        layout.addWidget(self.error_label)
        layout.addStretch(1)

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # -- actions --------------------------------------------------------------------------------
    def _report(self, message: str) -> None:
        self.last_error = message
        self.error_label.setText(message)

    def request_start(self) -> None:
        self._report("")
        try:
            self.session.start_infusion()
        except PrestartBlockedError as exc:
            dialog = OverrideDialog(str(exc), self)
            dialog.who_edit.setText(self.session.on_duty or "")  # the nurse on duty overrides unless she types another
            dialog.accepted.connect(lambda: self._start_with_override(dialog))
            self.dialog = dialog
            dialog.open()
            return
        except SessionError as exc:
            self._report(str(exc))
        self.refresh()

    def _start_with_override(self, dialog: OverrideDialog) -> None:
        try:
            self.session.start_infusion(who=dialog.who, override_reason=dialog.reason)
        except SessionError as exc:
            self._report(str(exc))
        self.dialog = None
        self.refresh()

    def request_pause(self) -> None:
        self._report("")
        dialog = PauseDialog(self)
        dialog.accepted.connect(lambda: self._pause(dialog.reason))
        self.dialog = dialog
        dialog.open()

    def _pause(self, reason: str) -> None:
        try:
            self.session.pause_infusion(reason)
        except SessionError as exc:
            self._report(str(exc))
        self.dialog = None
        self.refresh()

    def do_resume(self) -> None:
        self._report("")
        try:
            self.session.resume_infusion()
        except SessionError as exc:
            self._report(str(exc))
        self.refresh()

    def request_stop(self, confirm: bool = True) -> None:
        """Stop asks for the volume read back from the pump (and warns when it is early).

        `confirm` False (programmatic ends) stops at once with the computed volume, marked unconfirmed.
        """
        self._report("")
        if not confirm:
            self._stop(None)
            return
        t = self.session.now()
        dialog = StopDialog(
            self.session, self.session.computed_volume_ml(t), self.session.infusion.remaining_s(t), self
        )
        dialog.accepted.connect(lambda: self._stop(dialog.volume_ml))
        dialog.rejected.connect(self._dialog_closed)
        self.dialog = dialog
        dialog.open()

    def _dialog_closed(self) -> None:
        self.dialog = None

    def measure_nibp(self) -> None:
        if self.request_nibp is not None:
            try:
                self.request_nibp()
            except Exception as exc:  # noqa: BLE001 - a driver problem must not break the panel
                log.warning("NIBP request failed: %s", exc)
                self._report(f"Could not start an NIBP measurement: {exc}")

    def _stop(self, volume_ml: float | None) -> None:
        try:
            self.session.stop_infusion(volume_ml=volume_ml)
        except (SessionError, ValidationError) as exc:
            self._report(getattr(exc, "message", None) or str(exc))
        self.dialog = None
        self.refresh()

    # -- display -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        session = self.session
        t = self.now_fn()
        clock = session.infusion
        phase = clock.phase_at(t)
        paused = clock.paused
        phase_text = phase.label + (" — PAUSED" if paused and phase is Phase.INFUSION else "")
        self.phase_label.setText(phase_text)
        self.phase_label.setStyleSheet("color: #ffd400;" if paused else "")
        self.elapsed_label.setText(format_duration(clock.elapsed_s(t)))
        over = clock.overrun_s(t)
        # past the planned end the pump may still run: the clock and the volume are flagged, never hidden
        flag = f"color: {ERROR};" if over > 0 else ""
        self.elapsed_label.setStyleSheet(flag)
        self.volume_label.setStyleSheet(flag)
        self.elapsed_label.setToolTip(f"{format_duration(over)} past the planned end" if over > 0 else "")
        self.remaining_label.setText(
            format_duration(clock.remaining_s(t))
            if phase is not Phase.BASELINE
            else format_duration(clock.planned_duration_s)
        )
        volume = session.volume_infused_ml(t)
        self.volume_label.setText(f"{volume:.2f} mL")
        self.progress.setValue(round(clock.progress(t) * 1000))
        self.progress.setFormat(f"{clock.progress(t) * 100:.0f} %")
        details = []
        window = clock.infusion_window(t)
        if window is not None and phase is Phase.INFUSION:
            end = window[1]
            details.append(
                "planned end "
                + _hm(end)
                + (f" (pauses +{format_duration(clock.paused_s(t))})" if clock.paused_s(t) > 0 else "")
            )
        if over > 0:
            details.insert(
                0,
                f"{format_duration(over)} PAST THE PLANNED END: stop the pump "
                f"({volume:.2f} of {session.plan.volume_ml:.2f}\u00a0mL planned)",
            )
        if phase in (Phase.OBSERVATION, Phase.READY_FOR_DISCHARGE):
            obs = clock.observation_elapsed_s(t)
            details.append(f"observation {format_duration(obs)} of {session.observation_min:g} min")
        if clock.pauses:
            last = clock.pauses[-1]
            details.append(f"{len(clock.pauses)} pause(s); last: {last[2]}")
        self.detail_label.setText(" · ".join(details))
        closed = session.closed
        self.start_button.setEnabled(not closed and phase is Phase.BASELINE)
        self.pause_button.setEnabled(not closed and phase is Phase.INFUSION and not paused)
        self.resume_button.setEnabled(not closed and phase is Phase.INFUSION and paused)
        self.stop_button.setEnabled(not closed and phase is Phase.INFUSION)
        due = session.nibp_next_due(t)
        if due is None:
            self.nibp_label.setText("NIBP: no measurement scheduled")
        elif due <= t:
            self.nibp_label.setText("NIBP DUE NOW")
        else:
            self.nibp_label.setText(f"Next NIBP in {format_duration(due - t)}")
        self.nibp_button.setVisible(self.request_nibp is not None and due is not None)
        self.nibp_label.setStyleSheet("color: #000000; background: #ffd400;" if due is not None and due <= t else "")
        prompts = session.due_prompts(t)
        shown = [p for p in prompts if p.kind != "nibp"]
        texts = [p.message for p in shown]
        if texts != self._prompt_texts:
            self._prompt_texts = texts
            # short forms (the whole message on hover) so that three prompts fit the reserved line
            self.prompt_strip.setText("  \u2022  ".join(PROMPT_SHORT.get(p.kind, p.message) for p in shown))
            self.prompt_strip.setToolTip("\n".join(texts))
            self.prompt_strip.setVisible(bool(texts))  # hidden keeps its room (ReservedLabel)

    @property
    def prompt_texts(self) -> list[str]:
        return list(self._prompt_texts)


def _hm(t: float) -> str:
    import time

    return time.strftime("%H:%M", time.localtime(t))

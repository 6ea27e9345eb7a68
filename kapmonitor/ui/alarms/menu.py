"""Plugs the alarm system's panels and dialogs into the main window's Alarms menu.

`install_alarm_ui(window, engine, ...)` adds: alarm history (a live panel fed through a queued
bridge), a per-session limit change (initials and reason, logged by the engine; switching an
alarm off needs the administrator PIN), the BP baseline set by hand, resume audio, and the
PIN-protected clinic profile editor. With a `ProfileRecord`, every profile change (name, version,
hash) and every PIN use or failure goes into the session record. The alarm bar itself (with
F2/F3) is built by the main window. GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.pin import PinStore
from kapmonitor.alarms.profile import AlarmProfile, clinic_profile_path, default_profile, load_profile_or_default
from kapmonitor.alarms.profile_record import ProfileRecord
from kapmonitor.ui.alarms.bar import AlarmBridge
from kapmonitor.ui.alarms.history import AlarmHistoryPanel
from kapmonitor.ui.alarms.limit_change_dialog import LimitChangeDialog
from kapmonitor.ui.alarms.profile_editor import open_profile_editor

log = logging.getLogger(__name__)


class BaselineDialog(QDialog):
    """Set the rise-alarm baseline by hand (systolic/diastolic, initials)."""

    def __init__(self, current: tuple[float, float] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Blood-pressure baseline for the rise alarm")
        self.sys_box = QDoubleSpinBox()
        self.dia_box = QDoubleSpinBox()
        sys_, dia = current if current else (120.0, 80.0)
        for box, value in ((self.sys_box, sys_), (self.dia_box, dia)):
            box.setRange(40, 260)
            box.setDecimals(0)
            box.setSuffix(" mmHg")
            box.setValue(value)
        self.initials = QLineEdit()
        self.initials.setMaxLength(8)
        self.error = QLabel("")
        self.error.setObjectName("error")
        form = QFormLayout()
        form.addRow("Systolic", self.sys_box)
        form.addRow("Diastolic", self.dia_box)
        form.addRow("Your initials", self.initials)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Normally the last NIBP before the infusion starts is the baseline."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _accept(self) -> None:
        if not self.initials.text().strip():
            self.error.setText("enter your initials")
            return
        if self.dia_box.value() >= self.sys_box.value():
            self.error.setText("the diastolic value must be below the systolic value")
            return
        self.accept()


class AlarmUi:
    """Owns the alarm menu actions and the history window of one main window."""

    def __init__(
        self,
        window: QMainWindow,
        engine: AlarmEngine,
        who_fn: Callable[[], str | None] = lambda: None,
        profile_path: Path | None = None,
        on_profile_changed: Callable[[AlarmProfile], None] | None = None,
        pin_store: PinStore | None = None,
        record: ProfileRecord | None = None,
    ) -> None:
        self.window = window
        self.engine = engine
        self.who_fn = who_fn
        self.profile_path = profile_path
        self.on_profile_changed = on_profile_changed
        self.record = record
        self.pin_store = pin_store or PinStore()
        if record is not None and self.pin_store.audit is None:
            self.pin_store.audit = record.pin_event  # every PIN use and failure into the session record
        self.bridge = AlarmBridge(window)
        engine.add_listener(self.bridge.listener)
        self.history = AlarmHistoryPanel()
        self.history.setWindowTitle("Alarm history")
        self.history.resize(1000, 500)
        self.history.set_events(engine.events())
        self.bridge.event_received.connect(self.history.add_event)

        menu = getattr(window, "alarms_menu", None) or window.menuBar().addMenu("&Alarms")
        self.actions: dict[str, QAction] = {}
        for key, text, slot in (
            ("history", "Alarm &history\u2026", self.show_history),
            ("limit", "&Change a limit for this session\u2026", self.change_limit),
            ("baseline", "Set BP &baseline by hand\u2026", self.set_baseline),
            ("resume", "&Resume alarm audio", self.resume_audio),
            ("profile", "Edit the clinic alarm &profile (PIN)\u2026", self.edit_profile),
        ):
            action = QAction(text, window)
            action.triggered.connect(slot)
            menu.addAction(action)
            self.actions[key] = action

    def close(self) -> None:
        self.engine.remove_listener(self.bridge.listener)
        self.history.close()

    def show_history(self) -> None:
        self.history.show()
        self.history.raise_()

    def change_limit(self) -> None:
        dlg = LimitChangeDialog(self.engine.profile, self.window, pin_store=self.pin_store)
        dlg.initials.setText(self._on_duty())  # credited to the nurse on duty unless she types another
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.new_profile is not None:
            self.apply_limit_change(dlg.new_profile, dlg.who, dlg.why)

    def apply_limit_change(self, profile: AlarmProfile, who: str, why: str) -> None:
        old = self.engine.profile
        self.engine.set_profile(profile, who, why)
        if self.record is not None:
            self.record.changed(old, profile, who, why)  # name, version, hash before and after
        for text in profile.alarms_off():
            log.warning("for this session: %s (by %s: %s)", text, who, why)
        if self.on_profile_changed is not None:
            self.on_profile_changed(profile)

    def set_baseline(self) -> None:
        dlg = BaselineDialog(self.engine.baseline, self.window)
        dlg.initials.setText(self._on_duty())
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.engine.set_baseline(dlg.sys_box.value(), dlg.dia_box.value(), who=dlg.initials.text().strip())

    def _on_duty(self) -> str:
        """The signed-in nurse's initials for a form, "" when nobody is signed in (she types hers)."""
        from kapmonitor.session.catalogues import NOT_SIGNED_IN

        who = self.who_fn()
        return "" if not who or who == NOT_SIGNED_IN else who

    def resume_audio(self) -> None:
        self.engine.resume_audio(self.who_fn())

    def edit_profile(self) -> None:
        path = self.profile_path or clinic_profile_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # start from the file, never from this session's changed limits
            base = load_profile_or_default(path)[0] if path.exists() else default_profile()
            saved = open_profile_editor(self.window, base, path, self.pin_store)
        except Exception as exc:  # show any failure instead of losing the dialog
            log.exception("profile editor")
            QMessageBox.warning(self.window, "Alarm profile", f"The profile cannot be edited: {exc}")
            return
        if saved is not None:
            QMessageBox.information(
                self.window, "Alarm profile",
                f"Saved to {path}. It applies from the next session; this session keeps its current limits.")


def install_alarm_ui(
    window: QMainWindow,
    engine: AlarmEngine,
    who_fn: Callable[[], str | None] = lambda: None,
    profile_path: Path | None = None,
    on_profile_changed: Callable[[AlarmProfile], None] | None = None,
    record: ProfileRecord | None = None,
    pin_store: PinStore | None = None,
) -> AlarmUi:
    """Add the alarm menu entries and history panel; keep the returned object alive with the window."""
    return AlarmUi(window, engine, who_fn, profile_path, on_profile_changed, pin_store, record)

"""The clinic's alarm-profile editor, behind the administrator PIN.

`open_profile_editor(parent, profile, path, store)` asks for the PIN, then shows the editor:
limits, delays, pre-start limits, rise, technical and behaviour settings and the sign-off.
Nobody sets the PIN here: with no PIN set the editor stays closed and says how the administrator
sets one (`kapmonitor admin set-pin`). Saving validates the whole profile (`parse_profile`: limits
with sense; a limit that would switch an alarm off is refused), raises the version when a setting
changed, writes the TOML atomically and records the sign-off (hash with a keyed tag). GUI thread
only; the slow PIN check runs in a worker thread so the window keeps drawing alarms.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.pin import PinError, PinStore
from kapmonitor.alarms.profile import AlarmProfile, ProfileError, parse_profile, profile_to_dict, save_profile
from kapmonitor.alarms.signoff import sign_off

log = logging.getLogger(__name__)

_COMPARISONS = ("above_or_equal", "above", "below", "below_or_equal")
_SYMBOL = {"above_or_equal": "\u2265", "above": ">", "below": "<", "below_or_equal": "\u2264"}
_LIMIT_COLUMNS = ("Parameter", "Priority", "Limit", "Value", "Delay s")
_PRESTART_COLUMNS = ("Parameter", "Action", "Limit", "Value")
CHECKING = "checking the PIN\u2026"


class PinDialog(QDialog):
    """Asks for the administrator PIN and who enters it; never sets a PIN.

    The check (slow hash, lockout, audit) runs in a worker thread; `who` is set on accept.
    """

    def __init__(self, store: PinStore, purpose: str = "edit the clinic alarm profile",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.purpose = purpose
        self.who = ""
        self.setWindowTitle("Administrator PIN")
        status = store.status()
        self.available = status == "set"
        self.who_edit = QLineEdit()
        self.who_edit.setMaxLength(40)
        self.who_edit.setPlaceholderText("name or initials")
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("" if self.available else status)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Your name", self.who_edit)
        form.addRow("PIN", self.pin_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"The administrator PIN is needed to {purpose}."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(self.available)
        self.who_edit.setEnabled(self.available)
        self.pin_edit.setEnabled(self.available)
        self._worker: threading.Thread | None = None
        self._outcome: tuple[bool, str] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(20)
        self._poll.timeout.connect(self._check_done)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def _accept(self) -> None:
        if self._worker is not None or not self.available:
            return
        who, pin = self.who_edit.text().strip(), self.pin_edit.text()
        if not who:
            self.error.setText("enter your name")
            return
        self.error.setText(CHECKING)
        self.ok_button.setEnabled(False)

        def work() -> None:
            try:
                ok = self.store.verify(pin, who, self.purpose)
                self._outcome = (ok, "" if ok else "wrong PIN")
            except PinError as exc:
                self._outcome = (False, str(exc))

        self._outcome = None
        self._worker = threading.Thread(target=work, name="pin-check", daemon=True)
        self._worker.start()
        self._poll.start()

    def _check_done(self) -> None:
        if self._worker is None or self._worker.is_alive():
            return
        self._poll.stop()
        self._worker = None
        ok, message = self._outcome or (False, "the PIN check failed")
        self.ok_button.setEnabled(True)
        if ok:
            self.who = self.who_edit.text().strip()
            self.error.setText("")
            self.accept()
            return
        self.error.setText(message)
        self.pin_edit.clear()


def _item(text: str, editable: bool) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if not editable:
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class ProfileEditorDialog(QDialog):
    """Edits a profile; `saved_profile` is set after a successful save to `path`."""

    def __init__(self, profile: AlarmProfile, path: Path, store: PinStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alarm profile \u2014 {path}")
        self.setMinimumSize(820, 620)
        self.path = Path(path)
        self.store = store
        self._original = profile
        self._data = profile_to_dict(profile)
        self.saved_profile: AlarmProfile | None = None

        # limits: one row per threshold
        self.limits = QTableWidget(0, len(_LIMIT_COLUMNS))
        self.limits.setHorizontalHeaderLabels(_LIMIT_COLUMNS)
        self._limit_rows: list[tuple[int, str]] = []
        for i, entry in enumerate(self._data["limits"]):
            for comp in _COMPARISONS:
                if comp in entry:
                    r = self.limits.rowCount()
                    self.limits.insertRow(r)
                    self._limit_rows.append((i, comp))
                    self.limits.setItem(r, 0, _item(entry["parameter"], False))
                    self.limits.setItem(r, 1, _item(entry["priority"], False))
                    self.limits.setItem(r, 2, _item(_SYMBOL[comp], False))
                    self.limits.setItem(r, 3, _item(f"{entry[comp]:g}", True))
                    self.limits.setItem(r, 4, _item(f"{entry.get('delay_s', 0):g}", True))
        self.prestart = QTableWidget(0, len(_PRESTART_COLUMNS))
        self.prestart.setHorizontalHeaderLabels(_PRESTART_COLUMNS)
        self._prestart_rows: list[tuple[int, str]] = []
        for i, entry in enumerate(self._data["prestart"]):
            for comp in _COMPARISONS:
                if comp in entry:
                    r = self.prestart.rowCount()
                    self.prestart.insertRow(r)
                    self._prestart_rows.append((i, comp))
                    self.prestart.setItem(r, 0, _item(entry["parameter"], False))
                    self.prestart.setItem(r, 1, _item(entry["action"], False))
                    self.prestart.setItem(r, 2, _item(_SYMBOL[comp], False))
                    self.prestart.setItem(r, 3, _item(f"{entry[comp]:g}", True))
        for table in (self.limits, self.prestart):
            table.verticalHeader().setVisible(False)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

        # scalar settings: (section, key) -> line edit
        self.fields: dict[tuple[str, str], QLineEdit] = {}
        settings = QWidget()
        form = QFormLayout(settings)
        for section, key, label in (
            ("profile", "name", "Profile name"),
            ("profile", "signed_off_by", "Signed off by"),
            ("profile", "signed_off_on", "Signed off on (date)"),
            ("rise", "systolic", "Rise alarm: systolic +mmHg"),
            ("rise", "diastolic", "Rise alarm: diastolic +mmHg"),
            ("rise", "priority", "Rise alarm priority"),
            ("technical", "link_lost_s", "Link lost after (s)"),
            ("technical", "nibp_overdue_grace_s", "NIBP overdue grace (s)"),
            ("technical", "nibp_overdue_priority", "NIBP overdue priority"),
            ("behaviour", "audio_pause_s", "Audio pause (s)"),
            ("behaviour", "audio_pause_max_s", "Longest audio pause (s, \u2264 900)"),
            ("behaviour", "reminder_s", "Reminder interval (s)"),
            ("behaviour", "escalation_s", "Escalation after (s)"),
        ):
            value = self._data[section][key]
            edit = QLineEdit(f"{value:g}" if isinstance(value, float) else str(value))
            self.fields[(section, key)] = edit
            form.addRow(label, edit)

        tabs = QTabWidget()
        tabs.addTab(self.limits, "Alarm limits")
        tabs.addTab(self.prestart, "Pre-start limits")
        tabs.addTab(settings, "Other settings and sign-off")
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Changes apply from the next session. The clinic signs off its own profile."))
        layout.addWidget(tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def build(self) -> AlarmProfile:
        """The edited profile, validated. Raises ProfileError naming the bad entry."""
        data: dict[str, Any] = profile_to_dict(parse_profile(self._data))
        for r, (i, comp) in enumerate(self._limit_rows):
            where = f"alarm limits row {r + 1}"
            data["limits"][i][comp] = _number(self.limits.item(r, 3), where)
            data["limits"][i]["delay_s"] = _number(self.limits.item(r, 4), where)
        for r, (i, comp) in enumerate(self._prestart_rows):
            data["prestart"][i][comp] = _number(self.prestart.item(r, 3), f"pre-start row {r + 1}")
        for (section, key), edit in self.fields.items():
            text = edit.text().strip()
            if section == "profile" or key.endswith("priority"):
                data[section][key] = text
            else:
                try:
                    data[section][key] = float(text)
                except ValueError:
                    raise ProfileError(f"{section}.{key}: {text!r} is not a number") from None
        data["profile"]["version"] = int(data["profile"].get("version", 1))
        profile = parse_profile(data, source=str(self.path))
        if not profile.signed_off_by.strip():
            raise ProfileError("Other settings and sign-off: enter who signs the profile off")
        # a changed profile is a new version, signed off today
        if profile.digest != replace(self._original, signed_off_by=profile.signed_off_by,
                                     signed_off_on=profile.signed_off_on).digest:
            profile = replace(profile, version=self._original.version + 1,
                              signed_off_on=time.strftime("%Y-%m-%d"))
        return profile

    def _save(self) -> None:
        try:
            profile = self.build()
            save_profile(profile, self.path)
            sign_off(profile, self.store, profile.signed_off_by)
        except (ProfileError, PinError) as exc:
            self.error.setText(str(exc))
            return
        except OSError as exc:
            self.error.setText(f"cannot save {self.path}: {exc.strerror or exc}")
            return
        log.info("alarm profile v%s saved to %s and signed off by %s", profile.version, self.path,
                 profile.signed_off_by)
        self.saved_profile = profile
        self.accept()


def _number(item: QTableWidgetItem | None, where: str) -> float:
    text = item.text().strip() if item is not None else ""
    try:
        return float(text)
    except ValueError:
        raise ProfileError(f"{where}: {text!r} is not a number") from None


def open_profile_editor(
    parent: QWidget | None, profile: AlarmProfile, path: Path, store: PinStore | None = None
) -> AlarmProfile | None:
    """PIN first, then the editor. Returns the saved profile, or None when cancelled."""
    store = store or PinStore()
    pin = PinDialog(store, parent=parent)
    if pin.exec() != QDialog.DialogCode.Accepted:
        return None
    editor = ProfileEditorDialog(profile, path, store, parent)
    if editor.exec() != QDialog.DialogCode.Accepted:
        return None
    return editor.saved_profile

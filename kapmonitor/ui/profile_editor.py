"""The clinic's alarm-profile editor, behind the clinic PIN.

`open_profile_editor(parent, profile, path)` asks for the PIN (the first use sets it), then
shows the editor: limits, delays, pre-start limits, rise, technical and behaviour settings and
the sign-off. Saving validates the whole profile (`parse_profile`) and writes the TOML
atomically; an invalid entry is named and nothing is written. GUI thread only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
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

from kapmonitor.alarms.pin import MIN_PIN_LENGTH, PinError, PinStore
from kapmonitor.alarms.profile import AlarmProfile, ProfileError, parse_profile, profile_to_dict, save_profile

log = logging.getLogger(__name__)

_COMPARISONS = ("above_or_equal", "above", "below", "below_or_equal")
_SYMBOL = {"above_or_equal": "\u2265", "above": ">", "below": "<", "below_or_equal": "\u2264"}
_LIMIT_COLUMNS = ("Parameter", "Priority", "Limit", "Value", "Delay s")
_PRESTART_COLUMNS = ("Parameter", "Action", "Limit", "Value")


class PinDialog(QDialog):
    """Asks for the clinic PIN; on first use, sets it (entered twice)."""

    def __init__(self, store: PinStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setting = not store.is_set()
        self.setWindowTitle("Set the clinic PIN" if self.setting else "Clinic PIN")
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat_edit = QLineEdit()
        self.repeat_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("")
        self.error.setObjectName("error")
        form = QFormLayout()
        form.addRow("PIN", self.pin_edit)
        if self.setting:
            form.addRow("Repeat PIN", self.repeat_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(
            f"No clinic PIN is set yet. Choose one of at least {MIN_PIN_LENGTH} digits; it protects the alarm profile."
            if self.setting else "The alarm profile is protected. Enter the clinic PIN."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _accept(self) -> None:
        pin = self.pin_edit.text()
        try:
            if self.setting:
                if pin != self.repeat_edit.text():
                    self.error.setText("the two PINs differ")
                    return
                self.store.set_pin(pin)
            elif not self.store.verify(pin):
                self.error.setText("wrong PIN")
                self.pin_edit.clear()
                return
        except PinError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


def _item(text: str, editable: bool) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if not editable:
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class ProfileEditorDialog(QDialog):
    """Edits a profile; `saved_profile` is set after a successful save to `path`."""

    def __init__(self, profile: AlarmProfile, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alarm profile \u2014 {path}")
        self.setMinimumSize(820, 620)
        self.path = Path(path)
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
        return parse_profile(data, source=str(self.path))

    def _save(self) -> None:
        try:
            profile = self.build()
            save_profile(profile, self.path)
        except ProfileError as exc:
            self.error.setText(str(exc))
            return
        except OSError as exc:
            self.error.setText(f"cannot save {self.path}: {exc.strerror or exc}")
            return
        log.info("alarm profile saved to %s", self.path)
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
    pin = PinDialog(store or PinStore(), parent)
    if pin.exec() != QDialog.DialogCode.Accepted:
        return None
    editor = ProfileEditorDialog(profile, path, parent)
    if editor.exec() != QDialog.DialogCode.Accepted:
        return None
    return editor.saved_profile

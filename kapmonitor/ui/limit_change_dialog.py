"""The nurse's per-session limit change: one limit, a new value, initials and a reason.

The result is a new, validated profile; the caller passes it to
`engine.set_profile(profile, who, reason)`, which logs every changed field. The clinic's
profile file is never touched (that needs the PIN-protected profile editor). GUI thread only.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.profile import AlarmProfile, ProfileError, parse_profile, profile_to_dict
from kapmonitor.model.parameters import PARAMETER_INFO


class LimitChangeDialog(QDialog):
    """Pick a limit, enter the new value, initials and reason. `new_profile` is set on accept."""

    def __init__(self, profile: AlarmProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change an alarm limit for this session")
        self.setMinimumWidth(560)
        self._profile = profile
        self.new_profile: AlarmProfile | None = None
        self._entries: list[tuple[int, str, float]] = []  # (rule index, comparison, current value)
        self.limit_box = QComboBox()
        for i, rule in enumerate(profile.limits):
            info = PARAMETER_INFO[rule.parameter]
            for th in rule.thresholds:
                self._entries.append((i, th.comparison, th.value))
                self.limit_box.addItem(
                    f"{info.label} \u00b7 {rule.priority.label} \u00b7 {th.symbol} {th.value:g} {info.display_unit}")
        self.value_box = QDoubleSpinBox()
        self.value_box.setRange(0, 400)
        self.value_box.setDecimals(0)
        self.initials = QLineEdit()
        self.initials.setMaxLength(8)
        self.initials.setPlaceholderText("e.g. AB")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why this patient needs another limit")
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Limit", self.limit_box)
        form.addRow("New value", self.value_box)
        form.addRow("Your initials", self.initials)
        form.addRow("Reason", self.reason)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The change applies to this session only and is recorded with your initials."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.limit_box.currentIndexChanged.connect(self._entry_changed)
        self._entry_changed(0)

    def _entry_changed(self, index: int) -> None:
        if 0 <= index < len(self._entries):
            self.value_box.setValue(self._entries[index][2])

    def build(self) -> AlarmProfile:
        """The profile with the change applied. Raises ProfileError (the message says why)."""
        if not self.initials.text().strip():
            raise ProfileError("enter your initials")
        if not self.reason.text().strip():
            raise ProfileError("enter a reason")
        index, comparison, old = self._entries[self.limit_box.currentIndex()]
        new = float(self.value_box.value())
        if new == old:
            raise ProfileError("the new value is the same as the current one")
        data = profile_to_dict(self._profile)
        data["limits"][index][comparison] = new
        return parse_profile(data, source=f"{self._profile.source} (changed for this session)")

    @property
    def who(self) -> str:
        return self.initials.text().strip()

    @property
    def why(self) -> str:
        return self.reason.text().strip()

    def _accept(self) -> None:
        try:
            self.new_profile = self.build()
        except ProfileError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

"""The nurse's per-session limit change: one limit, a new value, initials and a reason.

The result is a new, validated profile (limits with sense: plausible, low below high, a
high-priority limit beyond the medium one); the caller passes it to
`engine.set_profile(profile, who, reason)`, which logs every changed field. A value beyond the
plausible band switches that alarm off: it is accepted only with the administrator PIN (asked for
at once, checked, logged) and then stays named in the alarm area for the rest of the session. The
clinic's profile file is never touched (that needs the PIN-protected profile editor). GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

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

from kapmonitor.alarms.limits_rules import LIMIT_RANGES, AlarmOffError
from kapmonitor.alarms.pin import PinStore
from kapmonitor.alarms.profile import AlarmProfile, ProfileError, parse_profile, profile_to_dict
from kapmonitor.model.parameters import PARAMETER_INFO


class LimitChangeDialog(QDialog):
    """Pick a limit, enter the new value, initials and reason. `new_profile` is set on accept."""

    def __init__(self, profile: AlarmProfile, parent: QWidget | None = None,
                 pin_store: PinStore | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change an alarm limit for this session")
        self.setMinimumWidth(560)
        self._profile = profile
        self._pin_store = pin_store
        self.new_profile: AlarmProfile | None = None
        self.pin_by: str | None = None  # who entered the PIN for an alarm switched off
        # shows the PIN dialog modally; True when the PIN was right (tests drive the real dialog)
        self.ask_pin: Callable[[QDialog], bool] = lambda d: d.exec() == QDialog.DialogCode.Accepted
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
        self.range_hint = QLabel("")
        self.range_hint.setWordWrap(True)
        form.addRow("", self.range_hint)
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
            rule_index, comparison, value = self._entries[index]
            self.value_box.setValue(value)
            parameter = self._profile.limits[rule_index].parameter
            band, unit = LIMIT_RANGES.get(parameter), PARAMETER_INFO[parameter].display_unit
            if band is not None:  # say before OK what the model will refuse
                beyond = f"above {band.high:g}" if comparison.startswith("above") else f"below {band.low:g}"
                self.range_hint.setText(f"Limits lie between {band.low:g} and {band.high:g} {unit}; "
                                        f"{beyond} switches this alarm off (administrator PIN).")

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
        source = f"{self._profile.source} (changed for this session)"
        try:
            return parse_profile(data, source=source)
        except AlarmOffError as exc:
            if set(exc.off) <= set(self._profile.alarms_off()):
                return parse_profile(data, source=source, allow_alarm_off=True)  # already off: no new switch-off
            raise

    def _switch_off_with_pin(self, exc: AlarmOffError) -> AlarmProfile | None:
        """The administrator PIN for an alarm switched off; None (and the reason shown) without it."""
        from kapmonitor.ui.alarms.profile_editor import PinDialog

        new_off = ", ".join(o for o in exc.off if o not in self._profile.alarms_off())
        self.error.setText(f"{new_off}: this switches the alarm off. It needs the administrator PIN.")
        dlg = PinDialog(self._pin_store or PinStore(), purpose=f"switch an alarm off ({new_off})", parent=self)
        if not self.ask_pin(dlg):
            return None
        index, comparison, _old = self._entries[self.limit_box.currentIndex()]
        data = profile_to_dict(self._profile)
        data["limits"][index][comparison] = float(self.value_box.value())
        self.pin_by = dlg.who
        return parse_profile(data, source=f"{self._profile.source} (changed for this session)", allow_alarm_off=True)

    @property
    def who(self) -> str:
        return self.initials.text().strip()

    @property
    def why(self) -> str:
        reason = self.reason.text().strip()
        return f"{reason} (alarm switched off; PIN entered by {self.pin_by})" if self.pin_by else reason

    def _accept(self) -> None:
        try:
            self.new_profile = self.build()
        except AlarmOffError as exc:
            self.new_profile = self._switch_off_with_pin(exc)
            if self.new_profile is None:
                return
        except ProfileError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

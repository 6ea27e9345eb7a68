"""Alarms ▸ Alarm sound output…: which loudspeaker the clinician's alarms play on, and how loud.

The choice is saved to `alarm_sound.toml` (this computer's setting). "Test sound" plays one
low-priority pulse on the chosen output so the nurse hears where alarms will come from. The
volume cannot go below the floor: an alarm is never silent. GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.profile import Priority
from kapmonitor.alarms.sound_config import AlarmSoundConfig
from kapmonitor.alarms.sounder import MIN_VOLUME
from kapmonitor.alarms.tones import SAMPLE_RATE, pattern

log = logging.getLogger(__name__)

SYSTEM_DEFAULT = "System default output"
PlayTest = Callable[[str | int | None, float], None]


def play_test_sound(device: str | int | None, volume: float) -> None:
    """One low-priority pulse on `device` (a stream of its own). Raises when it cannot play."""
    import sounddevice

    sounddevice.play(pattern(Priority.LOW, SAMPLE_RATE) * volume, SAMPLE_RATE, device=device, blocking=False)


def available_outputs() -> list[str]:
    from kapmonitor.audio.player import output_devices

    return output_devices()


class AlarmOutputDialog(QDialog):
    """Choose the alarm output device and volume; `config()` is the result when accepted."""

    def __init__(
        self,
        current: AlarmSoundConfig,
        outputs: list[str] | None = None,
        play_test: PlayTest = play_test_sound,
        music_device: str | int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alarm sound output")
        self._play_test = play_test
        self.device = QComboBox()
        self.device.addItem(SYSTEM_DEFAULT, None)
        for name in outputs if outputs is not None else available_outputs():
            self.device.addItem(name, name)
        if current.device is not None:
            index = self.device.findData(current.device)
            if index < 0:  # configured but not present now (unplugged): keep it selectable
                self.device.addItem(f"{current.device} (not found now)", current.device)
                index = self.device.count() - 1
            self.device.setCurrentIndex(index)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(round(MIN_VOLUME * 100), 100)
        self.volume.setValue(round(current.volume * 100))
        self.volume_label = QLabel()
        self.volume.valueChanged.connect(lambda v: self.volume_label.setText(f"{v} %"))
        self.volume_label.setText(f"{self.volume.value()} %")
        self.test_button = QPushButton("Test sound")
        self.test_button.clicked.connect(self.test_sound)
        self.message = QLabel(
            "Alarms play on this output in a stream of their own, never in the patient's music. "
            f"The volume cannot go below {MIN_VOLUME:.0%}."
        )
        self.message.setWordWrap(True)
        if music_device is not None:
            self.message.setText(self.message.text() + f"\nSession music plays on: {music_device}.")
        form = QFormLayout()
        form.addRow("Output", self.device)
        form.addRow("Volume", self.volume)
        form.addRow("", self.volume_label)
        form.addRow("", self.test_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def config(self) -> AlarmSoundConfig:
        device = self.device.currentData()
        return AlarmSoundConfig(device=device if isinstance(device, str | int) else None,
                                volume=self.volume.value() / 100.0)

    def test_sound(self) -> None:
        chosen = self.config()
        try:
            self._play_test(chosen.device, chosen.volume)
        except Exception as exc:  # noqa: BLE001 - PortAudio raises several types; all mean "cannot play"
            log.warning("alarm test sound failed: %s", exc)
            self.message.setText(f"This output cannot play the alarm sound: {exc}")
            self.message.setObjectName("error")
            self.message.setStyleSheet("color: #ff6b6b;")
            return
        self.message.setStyleSheet("")
        self.message.setText(f"Test sound sent to {self.device.currentText()}.")

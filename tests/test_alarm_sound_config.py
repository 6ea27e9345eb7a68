"""The clinician's alarm output setting, and the warning when music shares it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from kapmonitor.alarms.sound_config import AlarmSoundConfig, load_alarm_sound_config, same_output
from kapmonitor.alarms.sounder import DEFAULT_VOLUME
from kapmonitor.model.clock import ManualClock


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_alarm_sound_config(tmp_path / "none.toml") == (AlarmSoundConfig(), None)


def test_device_and_volume_are_read(tmp_path: Path) -> None:
    f = tmp_path / "alarm_sound.toml"
    f.write_text('[alarm_sound]\ndevice = "Speakers"\nvolume = 0.9\n')
    assert load_alarm_sound_config(f) == (AlarmSoundConfig("Speakers", 0.9), None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[alarm_sound\n", "ignored"),
        ("[alarm_sound]\nvolume = 0.0\n", "volume must be between 0.2 and 1.0"),
        ("[alarm_sound]\nvolume = 'loud'\n", "volume must be between"),
        ("[alarm_sound]\ndevice = true\n", "device must be a name or a number"),
    ],
)
def test_a_bad_file_keeps_a_safe_default_and_says_why(tmp_path: Path, text: str, problem: str) -> None:
    f = tmp_path / "alarm_sound.toml"
    f.write_text(text)
    config, message = load_alarm_sound_config(f)
    assert config.volume == DEFAULT_VOLUME  # never silent, never a guessed volume
    assert message is not None and problem in message


def test_same_output() -> None:
    assert same_output(None, None)
    assert same_output("USB Headset", " usb headset")
    assert same_output(3, "3")
    assert not same_output(None, "Speakers")
    assert not same_output("Speakers", "USB Headset")


def test_notice_while_music_plays_on_the_alarm_output(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.bedside import Bedside
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.ui.alarms.bar import AlarmBar
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    bar = AlarmBar()
    qtbot.addWidget(bar)
    clock = ManualClock(0.0)
    bedside = Bedside(SimulatedMonitor(DriverOptions(), clock), clock, tmp_path / "s.db", music=False)
    bedside.sound_config, bedside.sound_config_problem = AlarmSoundConfig(device=None), None
    state = SimpleNamespace(value="stopped")
    player = SimpleNamespace(device=None)
    bedside.music = SimpleNamespace(controller=SimpleNamespace(state=state), player=player)  # type: ignore[assignment]
    app = object.__new__(MonitorApplication)  # only the notice logic, on a real alarm bar
    app.window = SimpleNamespace(alarm_bar=bar)  # type: ignore[assignment]
    app.bedside = bedside
    app._update_output_notice(0.0)
    assert bar.notice_label.text() == ""
    state.value = "playing"
    app._update_output_notice(0.0)
    assert "share one output" in bar.notice_label.text() and not bar.notice_label.isHidden()
    player.device = "USB Headset"  # the therapist chose the headphones
    app._update_output_notice(0.0)
    assert bar.notice_label.text() == ""


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    from kapmonitor.alarms.sound_config import save_alarm_sound_config

    path = save_alarm_sound_config(AlarmSoundConfig("Speakers", 0.05), tmp_path / "cfg" / "alarm_sound.toml")
    assert load_alarm_sound_config(path) == (AlarmSoundConfig("Speakers", 0.2), None)  # never below the floor
    save_alarm_sound_config(AlarmSoundConfig(None, 0.8), path)
    assert load_alarm_sound_config(path) == (AlarmSoundConfig(None, 0.8), None)


class _Stream:
    """A PortAudio stream stand-in: the device is exercised by the sound tests on the null sink."""

    def __init__(self, **kwargs: object) -> None:
        self.active = False

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        pass


def _broken(**kwargs: object) -> _Stream:
    raise OSError("device unplugged")


def test_moving_the_alarm_sound_to_a_working_output_ends_the_audio_failure() -> None:
    from kapmonitor.alarms.engine import AUDIO_FAILURE, AlarmEngine
    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.alarms.sound_config import restart_sounder
    from kapmonitor.model.clock import RealClock

    engine = AlarmEngine(default_profile(), RealClock())
    sounder = restart_sounder(None, engine, AlarmSoundConfig("Gone"), stream_factory=_broken)
    assert sounder.failure is not None
    assert AUDIO_FAILURE in {a.alarm_id for a in engine.active_alarms() if a.condition_present}
    sounder = restart_sounder(sounder, engine, AlarmSoundConfig("Speakers", 0.9), stream_factory=_Stream)
    try:
        assert sounder.failure is None and sounder.device == "Speakers" and sounder.volume == 0.9
        assert AUDIO_FAILURE not in {a.alarm_id for a in engine.active_alarms() if a.condition_present}
    finally:
        sounder.stop()


def test_the_output_dialog(qtbot) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.ui.alarms.output_dialog import SYSTEM_DEFAULT, AlarmOutputDialog

    played: list[tuple[object, float]] = []
    dialog = AlarmOutputDialog(AlarmSoundConfig("USB Speaker", 0.5), outputs=["Built-in", "HDMI"],
                               play_test=lambda d, v: played.append((d, v)), music_device="Headphones")
    qtbot.addWidget(dialog)
    items = [dialog.device.itemText(i) for i in range(dialog.device.count())]
    assert items == [SYSTEM_DEFAULT, "Built-in", "HDMI", "USB Speaker (not found now)"]
    assert dialog.config() == AlarmSoundConfig("USB Speaker", 0.5)
    assert "Headphones" in dialog.message.text()
    dialog.device.setCurrentIndex(1)
    dialog.volume.setValue(5)  # below the floor: the slider stops at it
    dialog.test_button.click()
    assert played == [("Built-in", 0.2)] and "Built-in" in dialog.message.text()

    def fail(device: object, volume: float) -> None:
        raise RuntimeError("Error opening OutputStream")

    dialog._play_test = fail
    dialog.test_button.click()
    assert "cannot play" in dialog.message.text()


def test_test_sound_plays_on_a_real_device() -> None:
    import os

    if os.environ.get("KAPMONITOR_TEST_AUDIO") != "pulse":
        if os.environ.get("KAPMONITOR_REQUIRE_AUDIO") == "1":
            pytest.fail("no virtual sound card (scripts/dev.sh test starts one)")
        pytest.skip("no sound card here; scripts/dev.sh test provides one")
    import sounddevice

    from kapmonitor.ui.alarms.output_dialog import play_test_sound

    play_test_sound(None, 0.5)
    sounddevice.wait()

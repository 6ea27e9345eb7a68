"""The clinician's alarm output setting, and the warning when music shares it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from kapmonitor.alarms.sound_config import AlarmSoundConfig, load_alarm_sound_config, same_output
from kapmonitor.alarms.sounder import DEFAULT_VOLUME


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


def test_notice_while_music_plays_on_the_alarm_output(qtbot) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.ui.alarm_bar import AlarmBar
    from kapmonitor.ui.app import MonitorApplication

    bar = AlarmBar()
    qtbot.addWidget(bar)
    app = object.__new__(MonitorApplication)  # only the notice logic, on a real alarm bar
    app.window = SimpleNamespace(alarm_bar=bar)
    app.sound_config, app.sound_config_problem = AlarmSoundConfig(device=None), None
    state = SimpleNamespace(value="stopped")
    player = SimpleNamespace(device=None)
    app.music_ui = SimpleNamespace(controller=SimpleNamespace(state=state), music=SimpleNamespace(player=player))
    app._update_output_notice(0.0)
    assert bar.notice_label.text() == ""
    state.value = "playing"
    app._update_output_notice(0.0)
    assert "share one output" in bar.notice_label.text() and not bar.notice_label.isHidden()
    player.device = "USB Headset"  # the therapist chose the headphones
    app._update_output_notice(0.0)
    assert bar.notice_label.text() == ""

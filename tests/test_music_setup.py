"""Music settings from music.toml, the one-call session set-up, the menu, and moving the output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from music_fixtures import FakeCard, wait_for, write_tone
from PySide6.QtWidgets import QMainWindow

from kapmonitor.audio.controller import MusicController, MusicSettings
from kapmonitor.audio.player import AudioPlayer
from kapmonitor.audio.playlist import Playlist
from kapmonitor.audio.session_music import create_session_music, load_music_config


def test_music_config_defaults_values_clamps_and_problems(tmp_path: Path) -> None:
    assert load_music_config(tmp_path / "none.toml").settings == MusicSettings()
    good = tmp_path / "music.toml"
    good.write_text('[music]\nceiling_db = 3\nvolume_db = -20\ncrossfade_s = 30\nstop_fade_s = 2\n'
                    'duck_db = -12\ndevice = "USB Headset"\n')
    config = load_music_config(good)
    s = config.settings
    assert (s.ceiling_db, s.volume_db, s.crossfade, s.stop_fade, s.duck_depth_db) == (0.0, -20.0, 10.0, 5.0, -12.0)
    assert config.device == "USB Headset" and config.problems == []
    bad = tmp_path / "bad.toml"
    bad.write_text('[music]\nceiling = -6\nvolume_db = "loud"\n')
    problems = load_music_config(bad).problems
    assert any("unknown key 'ceiling'" in p for p in problems) and any("volume_db must be a number" in p
                                                                         for p in problems)
    broken = tmp_path / "broken.toml"
    broken.write_text("[music\n")
    assert "ignored" in load_music_config(broken).problems[0]


def test_session_music_and_menu_without_a_sound_card(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KAPMONITOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    from kapmonitor.audio.session_music import create_session_music
    from kapmonitor.ui.music.menu import install_music_ui

    window = QMainWindow()
    qtbot.addWidget(window)
    music_menu = window.menuBar().addMenu("M&usic")
    rows: list[tuple[str, dict[str, object]]] = []

    class Rec:
        def insert(self, table: str, row: dict[str, object]) -> None:
            rows.append((table, row))

    music = create_session_music(recorder=Rec(), clock=lambda: 42.0, demo=False, open_device=False)
    ui = install_music_ui(window, music, infusion_window_fn=lambda: None, menu=music_menu)
    try:
        assert [a.text() for a in music_menu.actions()] == ["Therapist window…"]
        # nothing heavy until the therapist's window is wanted: no sound card, no demo generation
        assert ui.music.player._thread is None and ui.music.demo_thread is None
        ui.open_action.trigger()
        assert ui.therapist_window is not None and ui.therapist_window.isVisible()
        assert ui.music.player._thread is not None and ui.music.demo_thread is not None
        ui.music.demo_thread.join(30)
        assert len(ui.controller.playlist) == 4  # the demo playlist, generated into the cache dir
        assert (tmp_path / "cache" / "demo-music-v1" / "demo-session.m3u8").is_file()
        qtbot.waitUntil(lambda: ui.therapist_window.editor.tree.topLevelItemCount() == 4)
        ui.controller.play()
        plays = [row for table, row in rows if table == "music_events" and row["action"] == "play"]
        assert plays and plays[0]["t"] == 42.0 and plays[0]["track"] == "Still Water"
        ui.music.player.close()  # the real output may have started the track meanwhile: start clean
        ui.controller.events.clear()
        ui.controller.events.append({"t": 43.0, "action": "track_started", "track": "x", "phase": "onset"})
        assert ui.track_bands(now=50.0) == [(43.0, 50.0, "x", "onset")]
    finally:
        ui.close()


def test_session_music_with_an_unreadable_playlist_reports_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    music = create_session_music(playlist_path=tmp_path / "missing.m3u8", open_device=False)
    assert len(music.controller.playlist) == 0 and "cannot read playlist" in music.problems[0]
    assert music.demo_thread is None  # a chosen playlist is never replaced by the demo
    music.close()


def test_output_device_can_be_changed_while_playing(tmp_path: Path) -> None:
    card = FakeCard()
    devices: list[object] = []

    def factory(callback, rate, channels, blocksize, device):  # type: ignore[no-untyped-def]
        devices.append(device)
        return card.factory(callback, rate, channels, blocksize, device)

    pl = Playlist()
    pl.add_paths([write_tone(tmp_path / "t.wav", 300, 20, rate=48000, fmt="WAV")])
    player = AudioPlayer(rate=48000, blocksize=512, stream_factory=factory, reconnect_interval=0.1)
    ctl = MusicController(pl, player, MusicSettings(volume_db=0, ceiling_db=0, fade_in=0.2))
    with player:
        assert wait_for(lambda: player.device_ok, 3)
        ctl.play()
        assert wait_for(lambda: np.abs(card.take()).max(initial=0) > 0.4, 3)
        ctl.set_output_device("Headphones")
        assert wait_for(lambda: devices == [None, "Headphones"] and player.device_ok, 3)
        card.take()
        assert wait_for(lambda: np.abs(card.take()).max(initial=0) > 0.4, 3)  # playing on the new output
    acts = [r["action"] for r in ctl.events]
    assert "output_device" in acts and "device_changed" in acts and "device_lost" not in acts
    assert "Music moved to the chosen output." in [m for _, m in ctl.messages]


def test_therapist_window_lists_outputs_and_keeps_the_choice(qtbot) -> None:  # type: ignore[no-untyped-def]
    from music_fixtures import FakePlayer

    from kapmonitor.ui.music.therapist_window import TherapistWindow

    player = FakePlayer()
    ctl = MusicController(Playlist(), player)
    w = TherapistWindow(ctl, None)
    qtbot.addWidget(w)
    assert w.device_combo.itemText(0) == "System default" and w.device_combo.currentData() is None
    player.device = "Some Headset"  # type: ignore[attr-defined]
    w.reload_devices()
    assert w.device_combo.currentText() == "Some Headset (not found)"  # unplugged now, still the choice
    assert "set_device" not in player.names()  # listing never switches by itself
    w.device_combo.setCurrentIndex(0)
    assert player.last("set_device") == ("set_device", None)
    assert ctl.events[-1]["action"] == "output_device" and ctl.events[-1]["detail"] == "system default"

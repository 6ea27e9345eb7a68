"""Assembles the session's music: settings, playlist, player, loudness and controller, in one call.

Settings come from `music.toml` in the user config folder (kapmonitor.config.config_dir()), so a
clinic can fix the level ceiling and the headphone output once:

    [music]
    ceiling_db = -6.0        # hearing-safety cap, dB full scale (never above 0)
    volume_db = -14.0        # starting volume
    crossfade_s = 6.0        # 3 to 10
    stop_fade_s = 8.0        # at least 5
    fade_in_s = 4.0
    pause_fade_s = 3.0
    duck_db = -15.0
    device = "USB Headset"   # PortAudio output name or index; absent: the system default

A missing file gives the defaults; a malformed one is reported and gives the defaults too.

Thread-safety: call from one thread (the GUI's, at start-up); the result is thread-safe as
documented on its parts.
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kapmonitor.audio.controller import MusicController, MusicSettings, Recorder
from kapmonitor.audio.loudness import LoudnessCache
from kapmonitor.audio.player import AudioPlayer
from kapmonitor.audio.playlist import Playlist, PlaylistError

log = logging.getLogger(__name__)

_KEYS = {
    "ceiling_db": "ceiling_db",
    "volume_db": "volume_db",
    "crossfade_s": "crossfade",
    "stop_fade_s": "stop_fade",
    "fade_in_s": "fade_in",
    "pause_fade_s": "pause_fade",
    "duck_db": "duck_depth_db",
}


@dataclass
class MusicConfig:
    settings: MusicSettings = field(default_factory=MusicSettings)
    device: str | int | None = None
    problems: list[str] = field(default_factory=list)


def music_config_path() -> Path:
    from kapmonitor.config import config_dir

    return config_dir() / "music.toml"


def load_music_config(path: Path | None = None) -> MusicConfig:
    path = path or music_config_path()
    config = MusicConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return config
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        config.problems.append(f"music settings {path} ignored: {exc}")
        return config
    section = data.get("music", {})
    if not isinstance(section, dict):
        config.problems.append(f"music settings {path}: [music] must be a table")
        return config
    values: dict[str, float] = {}
    for key, value in section.items():
        if key == "device":
            if isinstance(value, str | int):
                config.device = value
            continue
        target = _KEYS.get(key)
        if target is None:
            config.problems.append(f"music settings {path}: unknown key {key!r}")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values[target] = float(value)
        else:
            config.problems.append(f"music settings {path}: {key} must be a number")
    config.settings = MusicSettings(**values)  # clamps: crossfade 3–10 s, stop ≥ 5 s, ceiling ≤ 0
    return config


@dataclass
class SessionMusic:
    controller: MusicController
    player: AudioPlayer
    loudness: LoudnessCache
    problems: list[str]
    demo_thread: threading.Thread | None = None

    def close(self) -> None:
        """Silence at once and release the device (the program is ending)."""
        self.player.close()

    def load_demo_if_empty(self) -> None:
        """Load the generated demo playlist in the background if the playlist is still untouched."""
        playlist = self.controller.playlist
        if self.demo_thread is None and len(playlist) == 0 and playlist.revision == 0:
            self.demo_thread = threading.Thread(target=_load_demo, args=(self,), name="music-demo", daemon=True)
            self.demo_thread.start()


def create_session_music(
    recorder: Recorder | None = None,
    clock: Callable[[], float] = time.time,
    playlist_path: Path | None = None,
    demo: bool = True,
    config: MusicConfig | None = None,
    open_device: bool = True,
) -> SessionMusic:
    """The music for one session. `demo` loads the generated demo playlist when no path is given
    (in the background: generating it the first time takes a moment; it replaces the playlist only
    if nobody has touched it yet).

    `clock` should be the session clock, so music events share the vitals' timeline.
    `open_device=False` leaves the sound card alone until `player.open()`.
    """
    config = config or load_music_config()
    problems = list(config.problems)
    playlist = Playlist()
    if playlist_path is not None:
        try:
            playlist = Playlist.load_m3u8(playlist_path)
        except PlaylistError as exc:
            problems.append(f"no playlist loaded: {exc}")
    player = AudioPlayer(device=config.device)
    loudness = LoudnessCache()
    controller = MusicController(playlist, player, config.settings, recorder=recorder, clock=clock,
                                 gain_for=loudness.gain_for)
    loudness.prefetch(playlist.tracks())
    music = SessionMusic(controller, player, loudness, problems)
    if playlist_path is None and demo:
        music.load_demo_if_empty()
    for problem in problems:
        log.warning("%s", problem)
    if open_device:
        player.open()
    return music


def _load_demo(music: SessionMusic) -> None:
    """Generate (first time only, ~2 s) and load the demo playlist, unless one was loaded meanwhile."""
    from kapmonitor.audio.demo_music import ensure_demo_playlist

    try:
        demo = Playlist.load_m3u8(ensure_demo_playlist())
    except (PlaylistError, OSError, RuntimeError, ValueError) as exc:
        music.problems.append(f"demo music unavailable: {exc}")
        log.warning("demo music unavailable: %s", exc)
        return
    playlist = music.controller.playlist
    if len(playlist) == 0 and playlist.revision == 0:
        playlist.replace_with(demo)
        music.loudness.prefetch(playlist.tracks())
        music.controller.playlist_changed()

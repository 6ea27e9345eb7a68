"""Where the alarm sounds play: the clinician's output device and the alarm volume.

Read from `alarm_sound.toml` in kapmonitor's config folder, a per-computer setting (the clinic's
alarm profile says *what* alarms; this file says *which loudspeaker*):

    [alarm_sound]
    device = "Speakers"   # PortAudio output name or index; absent: the system default output
    volume = 0.7          # 0.2 (the floor: an alarm can never be silenced) to 1.0

A missing file means the defaults; a broken one means the defaults plus a one-line problem that
the app shows on screen. Pure functions, thread-safe.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kapmonitor.alarms.engine import AUDIO_FAILURE, AlarmEngine
from kapmonitor.alarms.sounder import DEFAULT_VOLUME, MIN_VOLUME, AlarmSounder, StreamFactory
from kapmonitor.config import config_dir


@dataclass(frozen=True)
class AlarmSoundConfig:
    device: str | int | None = None
    volume: float = DEFAULT_VOLUME


def alarm_sound_config_path() -> Path:
    return config_dir() / "alarm_sound.toml"


def load_alarm_sound_config(path: Path | None = None) -> tuple[AlarmSoundConfig, str | None]:
    """The configured alarm output, and a problem to show when the file could not be used."""
    path = path or alarm_sound_config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AlarmSoundConfig(), None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return AlarmSoundConfig(), f"alarm sound settings {path} ignored ({exc}); using the default output"
    section = data.get("alarm_sound", {})
    if not isinstance(section, dict):
        return AlarmSoundConfig(), f"alarm sound settings {path}: [alarm_sound] must be a table"
    device = section.get("device")
    volume = section.get("volume", DEFAULT_VOLUME)
    if device is not None and (isinstance(device, bool) or not isinstance(device, str | int)):
        return AlarmSoundConfig(), f"alarm sound settings {path}: device must be a name or a number"
    if isinstance(volume, bool) or not isinstance(volume, int | float) or not MIN_VOLUME <= volume <= 1.0:
        return AlarmSoundConfig(device=device), (
            f"alarm sound settings {path}: volume must be between {MIN_VOLUME} and 1.0; using {DEFAULT_VOLUME}"
        )
    return AlarmSoundConfig(device=device, volume=float(volume)), None


def same_output(a: str | int | None, b: str | int | None) -> bool:
    """True when two device settings name the same output (None is the system default)."""
    if a is None or b is None:
        return a is None and b is None
    return str(a).strip().casefold() == str(b).strip().casefold()


def save_alarm_sound_config(config: AlarmSoundConfig, path: Path | None = None) -> Path:
    """Write the setting atomically (a half-written file would silently mean the default output)."""
    import tomli_w

    path = path or alarm_sound_config_path()
    section: dict[str, object] = {"volume": round(max(MIN_VOLUME, min(1.0, config.volume)), 2)}
    if config.device is not None:
        section["device"] = config.device
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("# the clinician's alarm output (kapmonitor)\n" + tomli_w.dumps({"alarm_sound": section}),
                   encoding="utf-8")
    os.replace(tmp, path)
    return path


def restart_sounder(
    old: AlarmSounder | None,
    engine: AlarmEngine,
    config: AlarmSoundConfig,
    stream_factory: StreamFactory | None = None,
) -> AlarmSounder:
    """Move the alarm sound to another output. When the new output plays, an audio-failure alarm
    raised for the old one ends (the engine keeps a latched high alarm until acknowledged)."""
    if old is not None:
        old.stop()
    new = AlarmSounder(engine, device=config.device, volume=config.volume, stream_factory=stream_factory)
    new.start()
    if new.failure is None:
        engine.clear_technical(AUDIO_FAILURE)
    return new

"""Demo music: short ambient pieces synthesised by this code (no licence questions, no binaries in git).

`ensure_demo_playlist()` writes four OGG Vorbis pieces (one per default phase) and an M3U8 into
the user cache directory the first time it is called, and returns the playlist's path. Later
calls return at once. Deterministic: the same code writes the same music.

Thread-safety: call from one thread at a time (it writes files); it takes ~1–2 s the first time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kapmonitor.audio.playlist import DEFAULT_PHASES, Playlist, read_track

log = logging.getLogger(__name__)

DEMO_VERSION = 1
RATE = 32000

# (title, phase, root Hz, chord as semitone offsets, seconds)
PIECES: tuple[tuple[str, str, float, tuple[int, ...], float], ...] = (
    ("Still Water", "pre-onset", 110.0, (0, 7, 12, 16), 40.0),
    ("Slow Drift", "onset", 98.0, (0, 5, 12, 15, 19), 40.0),
    ("Open Sky", "peak", 87.31, (0, 7, 14, 16, 23), 45.0),
    ("Coming Home", "return", 130.81, (0, 4, 7, 12), 40.0),
)


def synthesize(root: float, chord: tuple[int, ...], seconds: float, seed: int,
               rate: int = RATE) -> npt.NDArray[np.float32]:
    """A soft stereo pad: detuned sine partials under slow swells, plus a little filtered air."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    out = np.zeros((n, 2))
    for i, semis in enumerate(chord):
        f = root * 2 ** (semis / 12)
        swell = 0.55 + 0.45 * np.sin(2 * np.pi * t / (9.0 + 2.3 * i) + rng.uniform(0, 2 * np.pi))
        for ch, detune in enumerate((-0.15, 0.15)):
            phase = rng.uniform(0, 2 * np.pi)
            tone = np.sin(2 * np.pi * (f + detune) * t + phase) + 0.25 * np.sin(4 * np.pi * (f + detune) * t)
            out[:, ch] += tone * swell / (1 + i * 0.35)
    # "air": white noise smoothed by a one-pole low-pass done with a cumulative trick (cheap, vectorised)
    noise = rng.standard_normal((n, 2))
    kernel = np.exp(-np.arange(64) / 12.0)
    kernel /= kernel.sum()
    air = np.stack([np.convolve(noise[:, c], kernel, mode="same") for c in range(2)], axis=1)
    out += 0.05 * air * (0.5 + 0.5 * np.sin(2 * np.pi * t / 13.0))[:, None]
    env = np.minimum(1.0, np.minimum(t / 4.0, (seconds - t) / 5.0))
    out *= np.clip(env, 0.0, 1.0)[:, None]
    out *= 0.35 / max(1e-9, float(np.abs(out).max()))
    return out.astype(np.float32)


def _tag(path: Path, title: str) -> None:
    try:
        from mutagen.oggvorbis import OggVorbis

        audio = OggVorbis(str(path))  # type: ignore[no-untyped-call]
        audio["title"] = title
        audio["artist"] = "kapmonitor demo"
        audio["comment"] = "synthesised by kapmonitor/audio/demo_music.py; free to use"
        audio.save()
    except Exception as exc:  # noqa: BLE001 - tags are a nicety; the file name still names it
        log.info("cannot tag %s: %s", path, exc)


def default_demo_dir() -> Path:
    from kapmonitor.config import cache_dir

    return cache_dir() / f"demo-music-v{DEMO_VERSION}"


def ensure_demo_playlist(directory: Path | None = None) -> Path:
    """Path of the demo playlist (M3U8), generating the music first if needed."""
    import soundfile

    directory = Path(directory) if directory is not None else default_demo_dir()
    playlist_path = directory / "demo-session.m3u8"
    if playlist_path.is_file() and all((directory / f"{t}.ogg").is_file() for t, *_ in PIECES):
        return playlist_path
    directory.mkdir(parents=True, exist_ok=True)
    log.info("generating demo music in %s", directory)
    playlist = Playlist(DEFAULT_PHASES, name="Demo session")
    for seed, (title, phase, root, chord, seconds) in enumerate(PIECES):
        target = directory / f"{title}.ogg"
        if not target.is_file():
            tmp = directory / f".{title}.tmp.ogg"
            data = synthesize(root, chord, seconds, seed)
            with soundfile.SoundFile(str(tmp), "w", RATE, 2, format="OGG", subtype="VORBIS") as f:
                f.write(data)
            _tag(tmp, title)
            os.replace(tmp, target)
        track = read_track(target)
        playlist.add_track(track, DEFAULT_PHASES.index(phase))
    playlist.save_m3u8(playlist_path)
    return playlist_path

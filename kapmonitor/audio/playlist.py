"""Playlists grouped in named phases, with per-track notes and an "avoid" flag; M3U8 load/save.

Why phases: in ketamine-assisted psychotherapy the music follows the drug's course (pre-onset,
onset, peak, return). The play order is the phases in order, each phase's tracks in order.

M3U8 keeps the standard `#EXTM3U` / `#EXTINF:<seconds>,<artist> - <title>` lines with paths
relative to the playlist file, so any player can use it. Phases, notes and the avoid flag are
kept in `#KAPMONITOR-...` comment lines (JSON values) that other players ignore.

Thread-safety: a `Playlist` may be edited by the GUI while the music controller reads it from
the player's thread; every public method takes the playlist's lock and reads return copies
(`snapshot()`, `flat()`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_PHASES: tuple[str, ...] = ("pre-onset", "onset", "peak", "return")
AUDIO_SUFFIXES: frozenset[str] = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3"})

_ids = itertools.count(1)


def _new_id() -> int:
    return next(_ids)


@dataclass
class Track:
    """One entry of a playlist. `id` is unique in this process and stable across edits."""

    path: Path
    title: str
    artist: str = ""
    duration: float | None = None
    notes: str = ""
    avoid: bool = False
    replaygain_db: float | None = None
    error: str | None = None  # set when the file is missing or unreadable
    id: int = field(default_factory=_new_id)

    @property
    def playable(self) -> bool:
        """Not missing/unreadable and not flagged "avoid" (automatic playback skips both)."""
        return self.error is None and not self.avoid

    @property
    def display(self) -> str:
        return f"{self.artist} – {self.title}" if self.artist else self.title


@dataclass
class Phase:
    name: str
    tracks: list[Track] = field(default_factory=list)


def title_from_filename(path: Path) -> tuple[str, str]:
    """(artist, title) guessed from a file name such as `Artist - Title.flac` or `01_title.ogg`."""
    stem = path.stem.replace("_", " ").strip()
    if " - " in stem:
        artist, title = stem.split(" - ", 1)
        artist = artist.strip()
        # "01 - Title" is a track number, not an artist
        if artist.isdigit():
            return "", title.strip() or stem
        return artist, title.strip() or stem
    return "", stem or path.name


def _first_tag(tags: object, *keys: str) -> str | None:
    getter = getattr(tags, "get", None)
    if getter is None:
        return None
    for key in keys:
        try:
            value = getter(key)
        except (KeyError, ValueError, TypeError):
            continue
        if value is None:
            continue
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        text = getattr(value, "text", None)  # ID3 frames
        if isinstance(text, list):
            value = text[0] if text else None
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def parse_gain_db(text: str | None) -> float | None:
    """'-6.52 dB' -> -6.52; None on anything unparseable."""
    if not text:
        return None
    try:
        return float(text.lower().replace("db", "").strip())
    except ValueError:
        return None


def read_track(path: Path) -> Track:
    """A `Track` for `path` with tags from mutagen (file name fallback); never raises.

    A missing or unreadable file gives a track with `error` set, so the GUI can show it.
    """
    path = Path(path)
    artist, title = title_from_filename(path)
    track = Track(path=path, title=title, artist=artist)
    try:
        exists = path.is_file()
    except (OSError, ValueError):  # a name with a NUL byte, a path too long, ...
        exists = False
    if not exists:
        track.error = "file not found"
        return track
    try:
        import mutagen

        audio = mutagen.File(str(path))
    except Exception as exc:  # noqa: BLE001 - any decoder failure is "unreadable"
        audio = None
        log.info("mutagen cannot read %s: %s", path, exc)
    if audio is not None:
        info = getattr(audio, "info", None)
        length = getattr(info, "length", None)
        if isinstance(length, int | float) and length > 0:
            track.duration = float(length)
        tags = getattr(audio, "tags", None)
        if tags is not None:
            t = _first_tag(tags, "title", "TITLE", "TIT2", "\xa9nam")
            a = _first_tag(tags, "artist", "ARTIST", "TPE1", "\xa9ART")
            if t:
                track.title = t
            if a:
                track.artist = a
            gain = _first_tag(tags, "replaygain_track_gain", "REPLAYGAIN_TRACK_GAIN", "TXXX:REPLAYGAIN_TRACK_GAIN",
                              "TXXX:replaygain_track_gain")
            track.replaygain_db = parse_gain_db(gain)
            if track.replaygain_db is None:
                r128 = _first_tag(tags, "R128_TRACK_GAIN", "r128_track_gain")
                if r128 is not None:
                    # Opus: Q7.8 dB relative to -23 LUFS; ReplayGain's reference is -18 LUFS
                    with contextlib.suppress(ValueError):
                        track.replaygain_db = int(r128) / 256.0 + 5.0
    if track.duration is None:
        try:
            from kapmonitor.audio.audiofile import open_audio

            with open_audio(path) as info:
                if info.samplerate > 0 and info.frames > 0:
                    track.duration = info.frames / info.samplerate
        except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
            track.error = f"unreadable audio file ({exc})"
    return track


def iter_audio_files(folder: Path) -> Iterator[Path]:
    """Audio files under `folder`, recursively, in natural (sorted) order; hidden files skipped."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_SUFFIXES:
                yield Path(root) / name


class PlaylistError(Exception):
    """A playlist file cannot be read or written (one-line message)."""


class Playlist:
    """An ordered list of phases, each holding tracks. Thread-safe (see module docstring)."""

    def __init__(self, phases: Iterable[str] = DEFAULT_PHASES, name: str = "Session playlist") -> None:
        self._lock = threading.RLock()
        self.name = name
        self._phases: list[Phase] = [Phase(n) for n in phases] or [Phase(DEFAULT_PHASES[0])]
        self.revision = 0  # bumped on every change so views can refresh cheaply

    # -- reading ------------------------------------------------------------------------------
    def _changed(self) -> None:
        self.revision += 1

    def snapshot(self) -> list[Phase]:
        """A deep-enough copy: new Phase lists holding copies of the tracks."""
        with self._lock:
            return [Phase(p.name, [replace(t) for t in p.tracks]) for p in self._phases]

    def phase_names(self) -> list[str]:
        with self._lock:
            return [p.name for p in self._phases]

    def flat(self) -> list[tuple[int, Track]]:
        """(phase index, track copy) in play order."""
        with self._lock:
            return [(i, replace(t)) for i, p in enumerate(self._phases) for t in p.tracks]

    def tracks(self) -> list[Track]:
        return [t for _, t in self.flat()]

    def __len__(self) -> int:
        with self._lock:
            return sum(len(p.tracks) for p in self._phases)

    def find(self, track_id: int) -> tuple[int, int, Track] | None:
        """(phase index, index in phase, track copy) or None."""
        with self._lock:
            for pi, p in enumerate(self._phases):
                for ti, t in enumerate(p.tracks):
                    if t.id == track_id:
                        return pi, ti, replace(t)
        return None

    def _locate(self, track_id: int) -> Track:
        for p in self._phases:
            for t in p.tracks:
                if t.id == track_id:
                    return t
        raise KeyError(f"no track with id {track_id}")

    # -- phases -------------------------------------------------------------------------------
    def add_phase(self, name: str, index: int | None = None) -> None:
        with self._lock:
            self._phases.insert(len(self._phases) if index is None else index, Phase(name.strip() or "phase"))
            self._changed()

    def rename_phase(self, index: int, name: str) -> None:
        with self._lock:
            self._phases[index].name = name.strip() or self._phases[index].name
            self._changed()

    def remove_phase(self, index: int) -> None:
        """Remove a phase; its tracks join the previous phase (or the next when it is the first)."""
        with self._lock:
            if len(self._phases) <= 1:
                raise PlaylistError("a playlist needs at least one phase")
            gone = self._phases.pop(index)
            target = self._phases[max(0, index - 1)]
            if index == 0:
                target.tracks[:0] = gone.tracks
            else:
                target.tracks.extend(gone.tracks)
            self._changed()

    # -- tracks -------------------------------------------------------------------------------
    def add_track(self, track: Track, phase: int = 0, position: int | None = None) -> Track:
        with self._lock:
            tracks = self._phases[phase].tracks
            tracks.insert(len(tracks) if position is None else position, track)
            self._changed()
            return replace(track)

    def add_paths(self, paths: Iterable[Path], phase: int = 0) -> list[Track]:
        """Add files and folders (recursively) to `phase`. Unreadable files are added, flagged."""
        added: list[Track] = []
        for path in paths:
            path = Path(path)
            files = list(iter_audio_files(path)) if path.is_dir() else [path]
            for f in files:
                added.append(self.add_track(read_track(f), phase))
        return added

    def remove(self, track_id: int) -> None:
        with self._lock:
            for p in self._phases:
                p.tracks[:] = [t for t in p.tracks if t.id != track_id]
            self._changed()

    def move(self, track_id: int, phase: int, position: int) -> None:
        """Move a track to `position` within `phase` (position counted after removing it)."""
        with self._lock:
            track = self._locate(track_id)
            for p in self._phases:
                p.tracks[:] = [t for t in p.tracks if t.id != track_id]
            tracks = self._phases[phase].tracks
            tracks.insert(max(0, min(position, len(tracks))), track)
            self._changed()

    def arrange(self, layout: list[tuple[str, list[int]]]) -> None:
        """Replace the whole order at once (drag and drop): [(phase name, [track ids])].

        Tracks not mentioned are appended to the last phase, so nothing is ever lost.
        """
        with self._lock:
            by_id = {t.id: t for p in self._phases for t in p.tracks}
            phases: list[Phase] = []
            for name, ids in layout:
                phases.append(Phase(name, [by_id.pop(i) for i in ids if i in by_id]))
            if not phases:
                phases.append(Phase(DEFAULT_PHASES[0]))
            phases[-1].tracks.extend(by_id.values())
            self._phases = phases
            self._changed()

    def replace_with(self, other: Playlist) -> None:
        """Take over another playlist's name, phases and tracks (loading a file into this object)."""
        phases = other.snapshot()
        with self._lock:
            self.name = other.name
            self._phases = phases or [Phase(DEFAULT_PHASES[0])]
            self._changed()

    def update_track(self, track_id: int, *, notes: str | None = None, avoid: bool | None = None,
                     error: str | None = None, clear_error: bool = False) -> None:
        with self._lock:
            t = self._locate(track_id)
            if notes is not None:
                t.notes = notes
            if avoid is not None:
                t.avoid = avoid
            if error is not None or clear_error:
                t.error = error
            self._changed()

    def recheck(self) -> None:
        """Re-read every file (a missing disk may be back)."""
        with self._lock:
            for p in self._phases:
                for i, t in enumerate(p.tracks):
                    fresh = read_track(t.path)
                    p.tracks[i] = replace(fresh, id=t.id, notes=t.notes, avoid=t.avoid)
            self._changed()

    def total_duration(self, phase: int | None = None, playable_only: bool = True) -> float:
        with self._lock:
            phases = self._phases if phase is None else [self._phases[phase]]
            return sum((t.duration or 0.0) for p in phases for t in p.tracks if t.playable or not playable_only)

    # -- M3U8 ---------------------------------------------------------------------------------
    def to_m3u8(self, base_dir: Path, include_private: bool = True,
                path_for: dict[int, Path] | None = None, include_avoided: bool = True) -> str:
        """The playlist as M3U8 text with paths relative to `base_dir` where possible.

        `include_private=False` leaves out notes and the avoid flag (take-home copies).
        `path_for` maps track ids to other files (copied audio).
        """
        lines = ["#EXTM3U", f"#PLAYLIST:{self.name}"]
        with self._lock:
            lines.append("#KAPMONITOR-PHASES:" + json.dumps([p.name for p in self._phases], ensure_ascii=False))
            for p in self._phases:
                for t in p.tracks:
                    if t.avoid and not include_avoided:
                        continue
                    meta: dict[str, object] = {"phase": p.name}
                    if include_private:
                        meta["notes"] = t.notes
                        meta["avoid"] = t.avoid
                    lines.append("#KAPMONITOR-TRACK:" + json.dumps(meta, ensure_ascii=False))
                    seconds = round(t.duration) if t.duration is not None else -1
                    lines.append(f"#EXTINF:{seconds},{t.display.replace(' – ', ' - ')}")
                    target = (path_for or {}).get(t.id, t.path)
                    lines.append(_relative(Path(target), base_dir))
        return "\n".join(lines) + "\n"

    def save_m3u8(self, path: Path, include_private: bool = True) -> None:
        path = Path(path)
        text = self.to_m3u8(path.parent.resolve(), include_private)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise PlaylistError(f"cannot write playlist {path}: {exc.strerror or exc}") from exc

    @classmethod
    def load_m3u8(cls, path: Path) -> Playlist:
        """Read an M3U/M3U8 file (ours or any player's). Missing files become flagged tracks."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PlaylistError(f"cannot read playlist {path}: {exc.strerror or exc}") from exc
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if _looks_binary(raw):
            raise PlaylistError(f"{path.name} is not a playlist (it holds binary data, not lines of text)")
        base = path.parent
        phase_names: list[str] = []
        name = path.stem
        pending: dict[str, object] = {}
        extinf: tuple[float | None, str] | None = None
        entries: list[tuple[str, Track]] = []
        for lineno, raw_line in enumerate(raw.splitlines(), 1):
            raw_line = raw_line.strip()
            line = _line_text(raw_line)
            if not line:
                continue
            if line.startswith("#"):
                key, _, value = line.partition(":")
                try:
                    if key == "#KAPMONITOR-PHASES":
                        loaded = json.loads(value)
                        if isinstance(loaded, list):
                            phase_names = [str(n) for n in loaded]
                    elif key == "#KAPMONITOR-TRACK":
                        loaded = json.loads(value)
                        pending = loaded if isinstance(loaded, dict) else {}
                    elif key == "#PLAYLIST":
                        name = value.strip() or name
                    elif key == "#EXTINF":
                        secs, _, label = value.partition(",")
                        try:
                            dur: float | None = float(secs)
                        except ValueError:
                            dur = None
                        extinf = (dur if dur is not None and dur > 0 else None, label.strip())
                except json.JSONDecodeError:
                    log.warning("%s line %d: ignoring malformed %s", path, lineno, key)
                continue
            # a file name is bytes on disk: try them exactly as written, then as the text reads
            file_path = _resolve(os.fsdecode(raw_line), base)
            if not file_path.exists():
                file_path = _resolve(line, base)
            track = read_track(file_path)
            if extinf is not None:
                if track.duration is None:
                    track.duration = extinf[0]
                if track.error is not None and extinf[1]:
                    artist, sep, title = extinf[1].partition(" - ")
                    track.artist, track.title = (artist, title) if sep else ("", extinf[1])
            track.notes = str(pending.get("notes", "") or "")
            track.avoid = bool(pending.get("avoid", False))
            entries.append((str(pending.get("phase", "")), track))
            pending, extinf = {}, None
        if not phase_names:
            phase_names = list(dict.fromkeys(p for p, _ in entries if p)) or [DEFAULT_PHASES[0]]
        playlist = cls(phase_names, name=name)
        index = {n: i for i, n in enumerate(phase_names)}
        for phase, track in entries:
            if phase and phase not in index:
                playlist.add_phase(phase)
                index[phase] = len(index)
            playlist.add_track(track, index.get(phase, 0))
        return playlist


def _looks_binary(raw: bytes) -> bool:
    """NUL bytes or many control characters: an audio file or a database picked by mistake."""
    sample = raw[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return bool(sample) and controls / len(sample) > 0.05


def _line_text(raw_line: bytes) -> str:
    """One line as text: UTF-8, else Latin-1 (older players write their code page)."""
    try:
        return raw_line.decode("utf-8")
    except UnicodeDecodeError:
        return raw_line.decode("latin-1")


def _relative(target: Path, base_dir: Path) -> str:
    try:
        rel = os.path.relpath(target.resolve(), base_dir)
    except ValueError:  # another drive on Windows
        return target.resolve().as_posix()
    return Path(rel).as_posix()


def _resolve(entry: str, base: Path) -> Path:
    if entry.lower().startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(entry).path))
    p = Path(entry.replace("\\", "/")) if "\\" in entry and os.sep == "/" else Path(entry)
    return p if p.is_absolute() else (base / p)

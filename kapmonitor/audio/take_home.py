"""Take-home export of a session playlist: M3U8 + a printable list (text and HTML).

Patients are sometimes given the session's playlist for home. The export leaves out the
therapist's notes and the "avoid" tracks. Copying the audio files is a licensing question, so it
happens only when `copy_audio=True` is passed explicitly.

Thread-safety: reads the playlist through its locked snapshot; run it on any thread.
"""

from __future__ import annotations

import html
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from kapmonitor.audio.playlist import Playlist, Track

log = logging.getLogger(__name__)


class ExportError(Exception):
    """The take-home export cannot be written (one-line message)."""


@dataclass
class TakeHomeResult:
    files: list[Path]
    copied: int
    skipped: list[str]


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–:––"
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def count_text(n: int, noun: str) -> str:
    """'1 track', '3 tracks'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w\- .]+", "_", name).strip(" .")
    return cleaned or "playlist"


def _rows(playlist: Playlist) -> list[tuple[int, str, Track]]:
    rows: list[tuple[int, str, Track]] = []
    for phase in playlist.snapshot():
        for track in phase.tracks:
            if track.avoid:
                continue
            rows.append((len(rows) + 1, phase.name, track))
    return rows


def printable_text(playlist: Playlist) -> str:
    rows = _rows(playlist)
    total = sum(t.duration or 0.0 for _, _, t in rows)
    lines = [playlist.name, "=" * len(playlist.name), ""]
    width_artist = max([len(t.artist) for _, _, t in rows] + [6])
    for n, _phase, t in rows:
        lines.append(f"{n:>3}. {t.artist:<{width_artist}}  {t.title}  ({format_duration(t.duration)})")
    lines += ["", f"{count_text(len(rows), 'track')}, {format_duration(total)} in total"]
    return "\n".join(lines) + "\n"


def printable_html(playlist: Playlist) -> str:
    rows = _rows(playlist)
    total = sum(t.duration or 0.0 for _, _, t in rows)
    e = html.escape
    body = "\n".join(
        f"<tr><td>{n}</td><td>{e(t.artist)}</td><td>{e(t.title)}</td><td>{format_duration(t.duration)}</td></tr>"
        for n, _, t in rows)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{e(playlist.name)}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{padding:.3em .8em;border-bottom:1px solid #ccc;text-align:left}"
        "</style></head><body>"
        f"<h1>{e(playlist.name)}</h1><table><thead><tr><th>#</th><th>Artist</th><th>Title</th>"
        f"<th>Duration</th></tr></thead><tbody>\n{body}\n</tbody></table>"
        f"<p>{count_text(len(rows), 'track')}, {format_duration(total)} in total.</p></body></html>\n"
    )


def export_take_home(playlist: Playlist, dest_dir: Path, copy_audio: bool = False) -> TakeHomeResult:
    """Write `<name>.m3u8`, `<name>.txt` and `<name>.html` into `dest_dir`.

    With `copy_audio=True` the audio files are copied into `dest_dir/<name>/` and the M3U8 points
    at the copies. A track not copied is listed by its bare file name (with title, artist and
    duration): the playlist never points into this computer's folders (a music library, a cache),
    and a player finds the files once the patient puts them beside it.
    """
    dest_dir = Path(dest_dir)
    stem = _safe_name(playlist.name)
    skipped: list[str] = []
    copied = 0
    path_for: dict[int, Path] = {}
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        if copy_audio:
            audio_dir = dest_dir / stem
            audio_dir.mkdir(exist_ok=True)
            for n, _, track in _rows(playlist):
                if track.error is not None or not track.path.is_file():
                    skipped.append(f"{track.display}: {track.error or 'file not found'}")
                    continue
                target = audio_dir / f"{n:02d} {_safe_name(track.path.stem)}{track.path.suffix.lower()}"
                shutil.copy2(track.path, target)
                path_for[track.id] = target
                copied += 1
        base = dest_dir.resolve()
        for _, _, track in _rows(playlist):
            path_for.setdefault(track.id, base / track.path.name)
        m3u = dest_dir / f"{stem}.m3u8"
        m3u.write_text(playlist.to_m3u8(base, include_private=False, path_for=path_for,
                                        include_avoided=False), encoding="utf-8")
        txt = dest_dir / f"{stem}.txt"
        txt.write_text(printable_text(playlist), encoding="utf-8")
        page = dest_dir / f"{stem}.html"
        page.write_text(printable_html(playlist), encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"cannot write the take-home playlist to {dest_dir}: {exc.strerror or exc}") from exc
    log.info("take-home playlist written to %s (%d audio files copied)", dest_dir, copied)
    return TakeHomeResult([m3u, txt, page], copied, skipped)

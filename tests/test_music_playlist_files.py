"""Playlist files as they come from other computers: non-UTF-8 file names, Latin-1 playlists, binary files."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from music_fixtures import write_tone

from kapmonitor.audio.playlist import Playlist, PlaylistError


def test_a_file_name_that_is_not_utf8_is_found(tmp_path: Path) -> None:
    """The playlist names the file with the very bytes it has on disk (Latin-1 'ü' = 0xFC)."""
    name = b"M\xfcller - Abendlied.flac"
    write_tone(tmp_path / "plain.flac", 440.0, 1.0)
    os.rename(tmp_path / "plain.flac", os.path.join(os.fsencode(tmp_path), name))
    utf8_named = tmp_path / "Ñandú.flac"
    write_tone(utf8_named, 330.0, 1.0)
    (tmp_path / "list.m3u").write_bytes(b"#EXTM3U\n#EXTINF:1,M\xfcller - Abendlied\n" + name + b"\n"
                                        + "Ñandú.flac\n".encode())
    playlist = Playlist.load_m3u8(tmp_path / "list.m3u")
    tracks = [t for _, t in playlist.flat()]
    assert len(tracks) == 2
    assert all(t.error is None and t.playable for t in tracks), [t.error for t in tracks]
    assert tracks[0].path.exists() and tracks[1].path == utf8_named


def test_a_latin1_playlist_of_utf8_named_files(tmp_path: Path) -> None:
    write_tone(tmp_path / "Müller.flac", 440.0, 1.0)
    (tmp_path / "old.m3u").write_bytes("#EXTM3U\nMüller.flac\n".encode("latin-1"))
    (track,) = [t for _, t in Playlist.load_m3u8(tmp_path / "old.m3u").flat()]
    assert track.error is None and track.path == tmp_path / "Müller.flac"


@pytest.mark.parametrize("kind", ["random", "audio", "database"])
def test_a_binary_file_is_refused_with_a_clear_message(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"picked-by-mistake.{kind}"
    if kind == "random":
        path.write_bytes(os.urandom(20000))
    elif kind == "audio":
        write_tone(path.with_suffix(".flac"), 440.0, 2.0)
        path.write_bytes(path.with_suffix(".flac").read_bytes())
    else:
        sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(PlaylistError, match="is not a playlist"):
        Playlist.load_m3u8(path)

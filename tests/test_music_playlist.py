"""Playlists: files and folders of every supported format, tags and file-name fallback, phases,
reordering, M3U8 round trip, missing files, take-home export, demo music."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from music_fixtures import write_tone

from kapmonitor.audio.demo_music import PIECES, ensure_demo_playlist
from kapmonitor.audio.playlist import DEFAULT_PHASES, Playlist, PlaylistError, read_track, title_from_filename
from kapmonitor.audio.take_home import export_take_home, format_duration


@pytest.fixture
def music_dir(tmp_path: Path) -> Path:
    d = tmp_path / "music"
    (d / "sub").mkdir(parents=True)
    write_tone(d / "01 - Morning.wav", 440, 1.0, fmt="WAV")
    write_tone(d / "Aurora - Lights.flac", 550, 1.5, fmt="FLAC")
    write_tone(d / "sub" / "ocean.ogg", 660, 2.0, fmt="OGG", subtype="VORBIS")
    write_tone(d / "sub" / "wind.opus", 770, 1.0, rate=48000, fmt="OGG", subtype="OPUS")
    write_tone(d / "sub" / "rain.mp3", 880, 2.0, fmt="MP3", subtype="MPEG_LAYER_III")
    (d / "notes.txt").write_text("not audio")
    (d / ".hidden.wav").write_bytes(b"")
    return d


def test_folder_adds_every_supported_format_in_order(music_dir: Path) -> None:
    pl = Playlist()
    added = pl.add_paths([music_dir])
    names = [t.path.name for t in added]
    assert names == ["01 - Morning.wav", "Aurora - Lights.flac", "ocean.ogg", "rain.mp3", "wind.opus"]
    assert all(t.error is None for t in added), [(t.path.name, t.error) for t in added]
    durations = {t.path.name: t.duration for t in added}
    assert durations["01 - Morning.wav"] == pytest.approx(1.0, abs=0.01)
    assert durations["ocean.ogg"] == pytest.approx(2.0, abs=0.05)
    assert durations["rain.mp3"] == pytest.approx(2.0, abs=0.1)
    assert durations["wind.opus"] == pytest.approx(1.0, abs=0.05)
    # file name fallback: "Artist - Title", and a leading track number is not an artist
    by_name = {t.path.name: t for t in added}
    assert (by_name["Aurora - Lights.flac"].artist, by_name["Aurora - Lights.flac"].title) == ("Aurora", "Lights")
    assert (by_name["01 - Morning.wav"].artist, by_name["01 - Morning.wav"].title) == ("", "Morning")


def test_tags_beat_file_name_and_replaygain_is_read(tmp_path: Path) -> None:
    from mutagen.flac import FLAC

    path = write_tone(tmp_path / "x.flac", 440, 0.5, fmt="FLAC")
    tags = FLAC(str(path))
    tags["title"] = "Weightless"
    tags["artist"] = "Marconi Union"
    tags["replaygain_track_gain"] = "-7.25 dB"
    tags.save()
    track = read_track(path)
    assert (track.artist, track.title, track.replaygain_db) == ("Marconi Union", "Weightless", -7.25)


def test_missing_and_corrupt_files_are_flagged_not_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"fLaC this is not really flac" * 10)
    pl = Playlist()
    added = pl.add_paths([tmp_path / "nowhere.wav", bad])
    assert added[0].error == "file not found"
    assert added[1].error and "unreadable" in added[1].error
    assert not any(t.playable for t in added)
    assert title_from_filename(Path("my_song.wav")) == ("", "my song")


def test_phases_reorder_remove_and_arrange(music_dir: Path) -> None:
    pl = Playlist()
    assert pl.phase_names() == list(DEFAULT_PHASES)
    a, b, c = pl.add_paths([music_dir / "01 - Morning.wav", music_dir / "Aurora - Lights.flac",
                            music_dir / "sub" / "ocean.ogg"])
    pl.move(c.id, 2, 0)
    pl.move(a.id, 0, 5)  # past the end: clamps
    assert [(p, t.id) for p, t in pl.flat()] == [(0, b.id), (0, a.id), (2, c.id)]
    pl.rename_phase(2, "peak (long)")
    pl.add_phase("integration")
    pl.remove_phase(1)  # empty onset goes; no track lost
    assert pl.phase_names() == ["pre-onset", "peak (long)", "return", "integration"]
    pl.arrange([("first", [c.id]), ("second", [a.id])])  # b not mentioned: kept at the end
    assert [(p, t.id) for p, t in pl.flat()] == [(0, c.id), (1, a.id), (1, b.id)]
    pl.remove(a.id)
    assert len(pl) == 2
    pl2 = Playlist(["only"])
    with pytest.raises(PlaylistError):
        pl2.remove_phase(0)


def test_m3u8_round_trip_keeps_phases_notes_avoid_and_relative_paths(music_dir: Path, tmp_path: Path) -> None:
    pl = Playlist(name="Session 3")
    tracks = pl.add_paths([music_dir / "Aurora - Lights.flac"], phase=0)
    tracks += pl.add_paths([music_dir / "sub" / "ocean.ogg"], phase=2)
    tracks += pl.add_paths([tmp_path / "gone.mp3"], phase=3)
    pl.update_track(tracks[1].id, notes="patient: \"like waves\"\nsecond line", avoid=True)
    out = music_dir / "lists" / "s3.m3u8"
    out.parent.mkdir()
    pl.save_m3u8(out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U\n")
    assert "#EXTINF:2,ocean" in text
    assert "../sub/ocean.ogg" in text.splitlines()  # relative, forward slashes
    # non-comment lines are only paths: any other player sees a plain playlist
    assert [ln for ln in text.splitlines() if not ln.startswith("#")] == [
        "../Aurora - Lights.flac", "../sub/ocean.ogg", "../../gone.mp3"]
    loaded = Playlist.load_m3u8(out)
    assert loaded.name == "Session 3"
    assert loaded.phase_names() == list(DEFAULT_PHASES)
    flat = loaded.flat()
    assert [(p, t.title) for p, t in flat] == [(0, "Lights"), (2, "ocean"), (3, "gone")]
    assert flat[1][1].notes == "patient: \"like waves\"\nsecond line" and flat[1][1].avoid
    assert flat[2][1].error == "file not found"


def test_plain_m3u_from_another_player_and_garbage_lines(music_dir: Path) -> None:
    m3u = music_dir / "other.m3u"
    m3u.write_text("#EXTM3U\n#EXTINF:1,Someone - Morning\n01 - Morning.wav\n#KAPMONITOR-TRACK:{broken json\n"
                   f"{(music_dir / 'sub' / 'ocean.ogg').as_uri()}\n\n#EXTINF:abc,x\nmissing.flac\n", encoding="latin-1")
    pl = Playlist.load_m3u8(m3u)
    titles = [t.title for t in pl.tracks()]
    assert titles == ["Morning", "ocean", "x"]  # a missing file keeps its #EXTINF name
    assert pl.tracks()[2].error == "file not found"
    with pytest.raises(PlaylistError, match="cannot read playlist"):
        Playlist.load_m3u8(music_dir / "nope.m3u8")
    junk = music_dir / "junk.m3u8"
    junk.write_bytes(bytes(range(256)) * 20 + b"\n" + ("x" * 5000).encode() + b"\n")
    with pytest.raises(PlaylistError, match="is not a playlist"):  # binary data is no list of missing files
        Playlist.load_m3u8(junk)


def test_take_home_export_leaves_out_notes_and_avoided_and_copies_only_on_request(
        music_dir: Path, tmp_path: Path) -> None:
    pl = Playlist(name="Home: session/1")
    a, _b, c = pl.add_paths([music_dir / "Aurora - Lights.flac", music_dir / "sub" / "ocean.ogg",
                            music_dir / "sub" / "rain.mp3"], phase=1)
    pl.update_track(a.id, notes="cried here")
    pl.update_track(c.id, avoid=True)
    dest = tmp_path / "export"
    result = export_take_home(pl, dest)
    assert result.copied == 0
    assert sorted(p.name for p in dest.iterdir()) == ["Home_ session_1.html", "Home_ session_1.m3u8",
                                                      "Home_ session_1.txt"]
    m3u = (dest / "Home_ session_1.m3u8").read_text()
    assert "cried" not in m3u and "rain" not in m3u and "avoid" not in m3u
    # without copied audio the entries are bare file names, never a path into this computer's folders
    entries = [line for line in m3u.splitlines() if line and not line.startswith("#")]
    assert entries == ["Aurora - Lights.flac", "ocean.ogg"]
    txt = (dest / "Home_ session_1.txt").read_text()
    assert "  1. Aurora  Lights  (0:02)" in txt and "2. " in txt and "rain" not in txt
    html = (dest / "Home_ session_1.html").read_text()
    assert "<td>Aurora</td><td>Lights</td>" in html
    copied = export_take_home(pl, tmp_path / "with_audio", copy_audio=True)
    assert copied.copied == 2
    reloaded = Playlist.load_m3u8(tmp_path / "with_audio" / "Home_ session_1.m3u8")
    assert all(str(t.path.resolve()).startswith(str((tmp_path / "with_audio").resolve())) for t in reloaded.tracks())
    assert all(t.error is None for t in reloaded.tracks())
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "–:––"


def test_take_home_playlist_never_points_into_a_private_or_cache_folder(tmp_path: Path) -> None:
    cache = tmp_path / "home" / "nurse" / ".cache" / "kapmonitor" / "music"
    cache.mkdir(parents=True)
    song = write_tone(cache / "Ana Alcaide - Safe Harbour.flac", 440, 2.0, fmt="FLAC")
    pl = Playlist(name="Take home")
    pl.add_paths([song], phase=0)
    dest = tmp_path / "Desktop" / "for the patient"
    export_take_home(pl, dest)
    m3u = (dest / "Take home.m3u8").read_text(encoding="utf-8")
    assert "cache" not in m3u and "nurse" not in m3u and "/" not in m3u.replace("#KAPMONITOR", "")
    assert "#EXTINF:2,Ana Alcaide - Safe Harbour" in m3u
    assert m3u.rstrip().splitlines()[-1] == song.name
    # the patient puts the file beside the playlist: a player finds it, with its title and artist
    (dest / song.name).write_bytes(song.read_bytes())
    track = Playlist.load_m3u8(dest / "Take home.m3u8").tracks()[0]
    assert track.error is None and (track.title, track.artist) == ("Safe Harbour", "Ana Alcaide")
    assert "Ana Alcaide" in (dest / "Take home.txt").read_text(encoding="utf-8")
    assert "\n1 track, 0:02 in total" in (dest / "Take home.txt").read_text(encoding="utf-8")
    assert "<p>1 track, 0:02 in total.</p>" in (dest / "Take home.html").read_text(encoding="utf-8")


def test_demo_music_is_generated_once_and_plays(tmp_path: Path) -> None:
    path = ensure_demo_playlist(tmp_path / "demo")
    pl = Playlist.load_m3u8(path)
    assert pl.phase_names() == list(DEFAULT_PHASES)
    assert [p for p, _ in pl.flat()] == [0, 1, 2, 3]
    tracks = pl.tracks()
    assert [t.title for t in tracks] == [p[0] for p in PIECES]
    assert all(t.artist == "kapmonitor demo" and t.error is None for t in tracks)
    data, rate = sf.read(str(tracks[2].path))
    assert len(data) / rate == pytest.approx(PIECES[2][4], abs=0.1)
    assert 0.1 < np.abs(data).max() <= 0.5  # audible, never hot
    assert sum(f.stat().st_size for f in path.parent.iterdir()) < 3_000_000
    mtime = tracks[0].path.stat().st_mtime_ns
    assert ensure_demo_playlist(tmp_path / "demo") == path
    assert tracks[0].path.stat().st_mtime_ns == mtime  # not regenerated

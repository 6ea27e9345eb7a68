"""Music on the session timeline: rows in a real session database, and track bands from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from music_fixtures import FakePlayer, write_tone

from kapmonitor.audio.controller import MusicController, MusicSettings
from kapmonitor.audio.playlist import Playlist
from kapmonitor.audio.timeline import track_bands
from kapmonitor.recording.reader import read_music_events
from kapmonitor.recording.recorder import SessionRecorder


def test_every_action_lands_in_the_session_database_and_gives_bands(tmp_path: Path) -> None:
    pl = Playlist()
    a = pl.add_paths([write_tone(tmp_path / "Calm - One.wav", 300, 0.2, fmt="WAV")], 0)[0]
    b = pl.add_paths([write_tone(tmp_path / "Calm - Two.wav", 300, 0.2, fmt="WAV")], 1)[0]
    player = FakePlayer()
    now = [5000.0]
    db = tmp_path / "session.kapdb"
    with SessionRecorder(db) as recorder:
        ctl = MusicController(pl, player, MusicSettings(), recorder=recorder, clock=lambda: now[0])
        ctl.play()
        player.emit("started", player.last("start")[1].token)
        now[0] = 5060.0
        ctl.set_volume(-20)
        ctl.duck()
        now[0] = 5070.0
        ctl.duck()
        now[0] = 5100.0
        ctl.next()
        player.emit("started", player.last("crossfade_to")[1].token)
        now[0] = 5200.0
        ctl.pause()
        now[0] = 5230.0
        ctl.play()
        now[0] = 5300.0
        ctl.stop()
        player.emit("stopped")
        assert recorder.flush()
    rows = read_music_events(db)
    assert [r["action"] for r in rows] == [
        "play", "track_started", "volume", "duck", "unduck", "next", "phase", "track_started",
        "pause", "resume", "stop", "stopped"]
    started = rows[1]
    assert (started["t"], started["track"], started["artist"], started["phase"], started["path"]) == (
        5000.0, "One", "Calm", "pre-onset", str(a.path))
    assert rows[2]["volume_db"] == -20.0
    assert rows[7]["phase"] == "onset" and rows[7]["track"] == b.title
    bands = track_bands(rows)
    assert bands == [(5000.0, 5100.0, "One", "pre-onset"), (5100.0, 5200.0, "Two", "onset"),
                     (5230.0, 5300.0, "Two", "onset")]


def test_reading_a_file_that_is_not_a_session_is_a_clear_error(tmp_path: Path) -> None:
    from kapmonitor.recording.database import SessionDatabaseError

    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(SessionDatabaseError):
        read_music_events(bad)
    with pytest.raises(SessionDatabaseError, match="no session database"):
        read_music_events(tmp_path / "absent.db")


def test_track_bands_edge_cases() -> None:
    rows = [
        {"t": 10.0, "action": "track_started", "track": "A", "phase": "p"},
        {"t": 20.0, "action": "device_lost"},
        {"t": 25.0, "action": "device_restored"},
        {"t": 40.0, "action": "track_started", "track": "B", "phase": "q"},
        {"t": 30.0, "action": "volume"},  # out of order rows are sorted
    ]
    assert track_bands(rows) == [(10.0, 20.0, "A", "p"), (25.0, 40.0, "A", "p")]
    assert track_bands(rows, now=100.0)[-1] == (40.0, 100.0, "B", "q")
    assert track_bands([]) == []
    assert track_bands([{"t": 1.0, "action": "resume"}]) == []  # nothing to resume


def test_recorder_failure_never_stops_the_music(tmp_path: Path) -> None:
    class Broken:
        def insert(self, table: str, row: dict[str, object]) -> None:
            raise OSError("disk full")

    pl = Playlist()
    pl.add_paths([write_tone(tmp_path / "x.wav", 300, 0.2, fmt="WAV")])
    player = FakePlayer()
    sink_rows: list[dict[str, object]] = []
    ctl = MusicController(pl, player, recorder=Broken(), timeline_sink=sink_rows.append)
    ctl.play()
    assert player.names()[-1] == "start" and sink_rows[0]["action"] == "play"


@pytest.mark.parametrize("action", ["pause", "stop", "end_of_playlist"])
def test_band_closes_on(action: str) -> None:
    rows = [{"t": 1.0, "action": "track_started", "track": "A", "phase": "p"}, {"t": 3.0, "action": action}]
    assert track_bands(rows) == [(1.0, 3.0, "A", "p")]

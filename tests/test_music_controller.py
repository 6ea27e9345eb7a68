"""The playlist/crossfade state machine against a fake player (no sound device)."""

from __future__ import annotations

from pathlib import Path

import pytest
from music_fixtures import FakePlayer, write_tone

from kapmonitor.audio.controller import MusicController, MusicSettings, State
from kapmonitor.audio.playlist import Playlist, Track
from kapmonitor.audio.sources import TrackSpec


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def setup(tmp_path: Path) -> tuple[MusicController, FakePlayer, dict[str, Track], list[dict[str, object]], Clock]:
    """Phases: pre-onset [a, b(avoid), c(missing), d], onset [e], peak [], return [f]."""
    pl = Playlist()
    names = {}
    for name, phase in (("a", 0), ("b", 0), ("c", 0), ("d", 0), ("e", 1), ("f", 3)):
        path = tmp_path / f"{name}.wav"
        if name != "c":
            write_tone(path, 440, 0.2, fmt="WAV")
        names[name] = pl.add_paths([path], phase)[0]
    pl.update_track(names["b"].id, avoid=True)
    player = FakePlayer()
    rows: list[dict[str, object]] = []
    clock = Clock()
    ctl = MusicController(pl, player, MusicSettings(crossfade=5, fade_in=3, pause_fade=2, stop_fade=6),
                          timeline_sink=rows.append, clock=clock)
    return ctl, player, names, rows, clock


def spec_of(call: tuple[object, ...]) -> TrackSpec:
    spec = call[1]
    assert isinstance(spec, TrackSpec)
    return spec


def actions(rows: list[dict[str, object]]) -> list[object]:
    return [r["action"] for r in rows]


def test_play_starts_first_track_with_fade_in_and_queues_next_playable(setup) -> None:
    ctl, player, t, rows, _ = setup
    assert player.names()[:2] == ["set_ceiling", "set_volume"]
    ctl.play()
    start = player.last("start")
    assert spec_of(start).path == t["a"].path and start[2] == 3
    assert ctl.state is State.PLAYING
    player.emit("started", spec_of(start).token)
    # b is flagged avoid and c is missing: the gapless successor is d
    assert spec_of(player.last("set_next")).path == t["d"].path
    assert actions(rows) == ["play", "track_started"]
    assert rows[1]["track"] == "a" and rows[1]["phase"] == "pre-onset"
    ctl.play()  # already playing: nothing new
    assert player.names().count("start") == 1


def test_gapless_advance_crosses_phase_and_records_it(setup) -> None:
    ctl, player, t, rows, clock = setup
    ctl.play()
    player.emit("started", spec_of(player.last("start")).token)
    nxt = spec_of(player.last("set_next"))
    clock.t += 200
    player.emit("ended", spec_of(player.last("start")).token)
    player.emit("started", nxt.token)
    nxt2 = spec_of(player.last("set_next"))
    assert nxt2.path == t["e"].path
    player.emit("ended", nxt.token)
    player.emit("started", nxt2.token)
    assert ctl.status().phase_name == "onset"
    assert actions(rows)[-3:] == ["track_ended", "phase", "track_started"]
    assert rows[-2]["detail"] == "pre-onset → onset"
    # after e comes f in "return" (peak is empty); after f nothing: set_next(None), then idle → stopped
    f_spec = spec_of(player.last("set_next"))
    assert f_spec.path == t["f"].path
    player.emit("started", f_spec.token)
    assert player.last("set_next")[1] is None
    player.emit("ended", f_spec.token)
    player.emit("idle")
    assert ctl.state is State.STOPPED
    assert actions(rows)[-1] == "end_of_playlist"
    assert ctl.messages[-1][1] == "The playlist has ended."


def test_next_previous_jump_crossfade_while_playing(setup) -> None:
    ctl, player, t, rows, _ = setup
    ctl.play()
    player.emit("started", spec_of(player.last("start")).token)
    ctl.next()
    call = player.last("crossfade_to")
    assert spec_of(call).path == t["d"].path and call[2] == 5
    assert rows[-1]["action"] == "next" and rows[-1]["detail"] == "crossfade 5 s"
    ctl.previous()
    assert spec_of(player.last("crossfade_to")).path == t["a"].path
    ctl.jump(t["b"].id)  # avoid-flagged: allowed on explicit choice, and noted
    assert spec_of(player.last("crossfade_to")).path == t["b"].path
    assert rows[-1]["detail"] == "flagged avoid"
    n = player.names().count("crossfade_to")
    ctl.jump(t["c"].id)  # missing file: refused with a message, nothing sent
    assert player.names().count("crossfade_to") == n
    assert "file not found" in ctl.messages[-1][1]
    ctl.set_crossfade(30)
    assert ctl.settings.crossfade == 10
    ctl.set_crossfade(0.5)
    assert ctl.settings.crossfade == 3


def test_advance_phase_and_hold_phase(setup) -> None:
    ctl, player, t, rows, _ = setup
    ctl.play()
    player.emit("started", spec_of(player.last("start")).token)
    ctl.set_hold_phase(True)
    ctl.jump(t["d"].id)
    player.emit("started", spec_of(player.last("crossfade_to")).token)
    # d is the last playable track of pre-onset: holding loops back to a, not on to e
    assert spec_of(player.last("set_next")).path == t["a"].path
    ctl.set_hold_phase(False)
    assert spec_of(player.last("set_next")).path == t["e"].path
    ctl.advance_phase()
    target = spec_of(player.last("crossfade_to"))
    assert target.path == t["e"].path
    player.emit("started", target.token)
    ctl.advance_phase()  # onset → return (peak has no tracks)
    target = spec_of(player.last("crossfade_to"))
    assert target.path == t["f"].path
    player.emit("started", target.token)
    n = player.names().count("crossfade_to")
    ctl.advance_phase()
    assert player.names().count("crossfade_to") == n
    assert "no later phase" in ctl.messages[-1][1]
    assert [r["detail"] for r in rows if r["action"] == "hold_phase"] == ["on", "off"]


def test_pause_resume_stop_fades_and_selection_while_silent(setup) -> None:
    ctl, player, t, rows, _ = setup
    ctl.play()
    token = spec_of(player.last("start")).token
    player.emit("started", token)
    player.pos = (token, 12.5)
    ctl.pause()
    assert player.last("pause") == ("pause", 2) and ctl.state is State.PAUSED
    assert rows[-1]["action"] == "pause" and rows[-1]["position"] == 12.5
    ctl.play()
    assert player.last("resume") == ("resume", 3) and ctl.state is State.PLAYING
    ctl.stop()
    assert player.last("stop") == ("stop", 6) and ctl.state is State.STOPPING
    ctl.play()  # change of mind during the fade-out: fades back in, same track
    assert player.last("resume") == ("resume", 3) and ctl.state is State.PLAYING
    ctl.stop()
    player.emit("stopped")
    assert ctl.state is State.STOPPED
    # stopped: next only selects; play starts the selection with a fade-in
    ctl.next()
    assert "crossfade_to" not in player.names()
    assert rows[-1]["detail"] == "selected"
    ctl.play()
    assert spec_of(player.last("start")).path == t["d"].path
    ctl.stop()
    player.emit("stopped")
    ctl.jump(t["b"].id)  # chosen while stopped, flagged avoid: the therapist's choice still plays
    ctl.play()
    assert spec_of(player.last("start")).path == t["b"].path
    ctl.stop()
    player.emit("stopped")
    ctl.jump(t["d"].id)
    ctl.play()
    # paused: next drops the (silent) paused track and selects
    player.emit("started", spec_of(player.last("start")).token)
    ctl.pause()
    ctl.next()
    assert player.last("stop") == ("stop", 0.0) and ctl.state is State.STOPPED
    assert MusicSettings(stop_fade=1).stop_fade == 5  # the stop fade is never shorter than 5 s


def test_volume_ceiling_and_duck(setup) -> None:
    ctl, player, _, rows, _ = setup
    ctl.set_volume(+3)
    assert ctl.volume_db == -6 and player.last("set_volume")[1] == -6  # clinic ceiling (-6 dB)
    ctl.set_volume(-80)
    assert ctl.volume_db == ctl.settings.min_volume_db
    ctl.set_volume(-10)
    ctl.set_ceiling(-20)
    assert ctl.volume_db == -20 and player.last("set_ceiling") == ("set_ceiling", -20)
    ctl.set_volume(-25, record=False)
    assert rows[-1]["action"] == "ceiling"  # slider moves are not all recorded
    ctl.duck()
    assert player.last("set_duck") == ("set_duck", True, -15, 0.8)
    ctl.duck(True)  # already ducked
    assert player.names().count("set_duck") == 1
    ctl.duck()
    assert player.last("set_duck") == ("set_duck", False, -15, 2.5)
    assert [r["action"] for r in rows if r["action"] in ("duck", "unduck")] == ["duck", "unduck"]


def test_unreadable_file_is_flagged_and_skipped(setup, tmp_path: Path) -> None:
    ctl, player, t, rows, _ = setup
    ctl.play()
    first = spec_of(player.last("start"))
    player.emit("error", first.token, "cannot open a.wav: corrupt", "start")
    assert spec_of(player.last("start")).path == t["d"].path  # skipped to the next playable
    assert ctl.playlist.find(t["a"].id)[2].error == "cannot open a.wav: corrupt"
    assert "Skipped “a”" in ctl.messages[-1][1]
    player.emit("started", spec_of(player.last("start")).token)
    nxt = spec_of(player.last("set_next"))
    assert nxt.path == t["e"].path
    player.emit("error", nxt.token, "bad header", "next")
    assert spec_of(player.last("set_next")).path == t["f"].path
    assert [r["action"] for r in rows].count("error") == 2


def test_device_loss_and_return_and_underruns_are_reported(setup) -> None:
    ctl, player, _, rows, _ = setup
    ctl.play()
    player.emit("started", spec_of(player.last("start")).token)
    player.emit("device_lost", message="headphones unplugged")
    assert "Music output lost" in ctl.messages[-1][1]
    player.emit("device_restored", message="ok")
    assert player.last("resume") == ("resume", 3)
    player._underruns = 4
    status = ctl.status()
    assert status.underruns == 4
    assert rows[-1]["action"] == "underrun" and rows[-1]["detail"] == "4 new, 4 in total"
    ctl.status()
    assert [r["action"] for r in rows].count("underrun") == 1
    assert [r["action"] for r in rows if str(r["action"]).startswith("device")] == ["device_lost", "device_restored"]


def test_status_times_left_and_phase_plan(setup) -> None:
    ctl, player, t, _, clock = setup
    d_dur = t["d"].duration
    assert d_dur is not None
    ctl.play()
    token = spec_of(player.last("start")).token
    player.emit("started", token)
    player.pos = (token, 0.05)
    s = ctl.status()
    assert s.track_left == pytest.approx(t["a"].duration - 0.05)
    assert s.phase_left == pytest.approx(s.track_left + d_dur)  # b avoided, c missing
    assert s.next_track is not None and s.next_track.id == t["d"].id
    plan = ctl.phase_plan(clock.t)
    assert [p[0] for p in plan] == ["pre-onset", "onset", "return"]
    assert plan[0][3] and plan[0][2] == pytest.approx(clock.t + s.phase_left)
    assert plan[1][1] == pytest.approx(plan[0][2]) and plan[2][1] == pytest.approx(plan[1][2])


def test_playlist_edit_while_playing_repicks_successor(setup) -> None:
    ctl, player, t, _, _ = setup
    ctl.play()
    player.emit("started", spec_of(player.last("start")).token)
    ctl.playlist.move(t["e"].id, 0, 1)  # e right after a
    ctl.playlist_changed()
    assert spec_of(player.last("set_next")).path == t["e"].path
    ctl.playlist.remove(t["e"].id)
    ctl.status()  # a poll notices the change too
    assert spec_of(player.last("set_next")).path == t["d"].path


def test_listener_gets_notified_and_a_broken_listener_is_contained(setup) -> None:
    ctl, _player, _, _, _ = setup
    seen: list[tuple[str, str]] = []
    ctl.add_listener(lambda kind, msg: (_ for _ in ()).throw(RuntimeError("view bug")))
    ctl.add_listener(lambda kind, msg: seen.append((kind, msg)))
    ctl.play()
    assert ("state", "") in seen


def test_removing_or_replacing_the_playing_track_keeps_it_shown_and_moves_on(setup) -> None:
    ctl, player, t, _, _ = setup
    ctl.play()
    player.emit("started", player.last("start")[1].token)
    ctl.playlist.remove(t["a"].id)
    ctl.playlist_changed()
    status = ctl.status()
    assert status.track is not None and status.track.title == "a"  # it is still what the patient hears
    assert player.last("set_next")[1].path == t["d"].path  # and the music goes on from there
    ctl.stop()
    player.emit("stopped")
    assert ctl.status().track is None

"""AudioPlayer without a sound card: a clocked fake stream for device loss and return, underrun
counting, and the real-time callback's discipline (no allocation of audio buffers)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
from music_fixtures import FakeCard, wait_for, write_tone

from kapmonitor.audio.controller import MusicController, MusicSettings, State
from kapmonitor.audio.player import AudioPlayer, PlayerEvent
from kapmonitor.audio.playlist import Playlist


class _Flags:
    output_underflow = False


def test_callback_copies_ready_blocks_counts_underruns_and_allocates_nothing() -> None:
    player = AudioPlayer(rate=48000, blocksize=256, queue_blocks=4, stream_factory=FakeCard().factory)
    player.renderer.set_volume(0.0, 0.0)
    out = np.empty((256, 2), np.float32)
    flags = _Flags()
    player._callback(out, 256, None, flags)  # nothing rendered yet
    assert player.underruns == 1 and not out.any()
    player._ring[:] = 0.25
    player._w = 4
    tracemalloc.start()
    try:
        snapshot_before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(4):
            player._callback(out, 256, None, flags)
        peak = tracemalloc.get_traced_memory()[1] - snapshot_before
    finally:
        tracemalloc.stop()
    assert peak < 1024  # a block is 2 KiB: nothing block-sized was allocated
    assert np.all(out == 0.25) and player._r == 4
    player._callback(out, 256, None, flags)  # queue drained: silence and one more underrun
    assert player.underruns == 2 and not out.any()
    flags.output_underflow = True
    player._callback(out, 256, None, flags)
    assert player.underruns == 4  # empty queue + PortAudio's own underflow flag


def test_plays_then_survives_device_loss_and_resumes(tmp_path: Path) -> None:
    card = FakeCard()
    pl = Playlist()
    pl.add_paths([write_tone(tmp_path / "t.wav", 300, 20, rate=48000, fmt="WAV")])
    player = AudioPlayer(rate=48000, blocksize=512, queue_blocks=6, stream_factory=card.factory,
                         reconnect_interval=0.2, stall_timeout=0.3)
    events: list[PlayerEvent] = []
    ctl = MusicController(pl, player, MusicSettings(volume_db=0, ceiling_db=0, fade_in=0.2))
    original = player._cmd.listener
    assert original is not None

    def spy(event: PlayerEvent) -> None:
        events.append(event)
        original(event)

    player.set_listener(spy)
    with player:
        assert wait_for(lambda: player.device_ok, 3)
        ctl.play()
        assert wait_for(lambda: any(e.kind == "started" for e in events), 3)
        assert wait_for(lambda: np.abs(card.take()).max(initial=0) > 0.4, 3)
        pos = ctl.status().position
        assert pos > 0
        card.plugged = False
        assert wait_for(lambda: not player.device_ok, 3)
        assert any(e.kind == "device_lost" for e in events)
        assert "Music output lost" in ctl.messages[-1][1]
        assert ctl.state is State.PLAYING  # still the therapist's intent
        held = player.renderer.position
        card.take()
        card.plugged = True
        assert wait_for(lambda: player.device_ok, 3)
        assert any(e.kind == "device_restored" for e in events)
        assert wait_for(lambda: np.abs(card.take()).max(initial=0) > 0.4, 3)  # playing again
        assert player.renderer.position >= held  # continued, not restarted
        assert card.opened == 2
    assert [r["action"] for r in ctl.events if str(r["action"]).startswith("device")] == [
        "device_lost", "device_restored"]


def test_no_device_at_start_is_reported_then_picked_up(tmp_path: Path) -> None:
    card = FakeCard()
    card.plugged = False
    pl = Playlist()
    pl.add_paths([write_tone(tmp_path / "t.wav", 300, 5, rate=48000, fmt="WAV")])
    player = AudioPlayer(rate=48000, blocksize=512, stream_factory=card.factory, reconnect_interval=0.1)
    ctl = MusicController(pl, player)
    with player:
        assert wait_for(lambda: any("Music output lost" in m for _, m in ctl.messages), 3)
        card.plugged = True
        assert wait_for(lambda: player.device_ok, 3)
        assert "Music output is back." in [m for _, m in ctl.messages]


def test_underruns_counted_when_decoder_cannot_keep_up(tmp_path: Path) -> None:
    card = FakeCard(speed=1.0)
    pl = Playlist()
    pl.add_paths([write_tone(tmp_path / "t.wav", 300, 5, rate=48000, fmt="WAV")])

    import threading
    gate = threading.Event()

    def slow_opener(spec, rate, channels):  # type: ignore[no-untyped-def]
        from kapmonitor.audio.sources import open_file_source
        gate.wait(1.0)  # decoding stalls (a hung network drive)
        return open_file_source(spec, rate, channels)

    player = AudioPlayer(rate=48000, blocksize=256, queue_blocks=2, stream_factory=card.factory,
                         opener=slow_opener)
    ctl = MusicController(pl, player)
    with player:
        assert wait_for(lambda: player.device_ok, 3)
        ctl.play()
        assert wait_for(lambda: player.underruns > 0, 3)
        gate.set()
        assert wait_for(lambda: ctl.status().underruns > 0, 3)
    assert any(r["action"] == "underrun" for r in ctl.events)


def test_a_stream_that_opens_but_never_plays_is_not_reported_as_back(tmp_path: Path) -> None:
    card = FakeCard()
    pl = Playlist()
    pl.add_paths([write_tone(tmp_path / "t.wav", 300, 20, rate=48000, fmt="WAV")])
    player = AudioPlayer(rate=48000, blocksize=512, stream_factory=card.factory, reconnect_interval=0.1,
                         stall_timeout=0.3)
    ctl = MusicController(pl, player, MusicSettings(fade_in=0.2))
    with player:
        assert wait_for(lambda: player.device_ok, 3)
        ctl.play()
        card.plugged = False
        assert wait_for(lambda: not player.device_ok, 3)
        card.stuck = True
        card.plugged = True  # opens fine, never calls back (a half-dead USB device)
        assert wait_for(lambda: card.opened >= 4, 5)  # it keeps trying ...
        assert not player.device_ok  # ... but never claims the music is back
        card.stuck = False
        assert wait_for(lambda: player.device_ok, 3)
    acts = [r["action"] for r in ctl.events if str(r["action"]).startswith("device")]
    assert acts == ["device_lost", "device_restored"]  # one message each way, no flapping
    assert player.underruns == 0

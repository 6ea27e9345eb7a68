"""Signal checks on rendered blocks: fades and crossfades continuous across block boundaries, the
ceiling never exceeded, duck and recovery, gapless joins, resampling, loudness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from music_fixtures import write_tone

from kapmonitor.audio.controller import MusicController, MusicSettings, State
from kapmonitor.audio.loudness import REFERENCE_LUFS, LoudnessCache, measure_loudness
from kapmonitor.audio.mixer import Renderer, db_to_gain
from kapmonitor.audio.player import OfflinePlayer
from kapmonitor.audio.playlist import Playlist, Track
from kapmonitor.audio.sources import ArraySource, FileSource, TrackSpec

RATE = 8000
BLOCK = 300  # deliberately not a divisor of any fade length


def array_opener(tracks: dict[Path, np.ndarray]):
    def opener(spec: TrackSpec, rate: int, channels: int) -> ArraySource:
        return ArraySource(tracks[spec.path], rate, spec.token, db_to_gain(spec.gain_db))
    return opener


def dc(value_l: float, value_r: float, seconds: float) -> np.ndarray:
    n = int(seconds * RATE)
    return np.stack([np.full(n, value_l), np.full(n, value_r)], axis=1).astype(np.float32)


def renderer(tracks: dict[Path, np.ndarray], volume_db: float = 0.0, ceiling_db: float = 0.0) -> Renderer:
    return Renderer(RATE, 2, BLOCK, array_opener(tracks), volume_db=volume_db, ceiling_db=ceiling_db)


def run(r: Renderer, seconds: float) -> np.ndarray:
    blocks = [r.render() for _ in range(int(np.ceil(seconds * RATE / BLOCK)))]
    return np.concatenate(blocks).astype(np.float64)


def max_step(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x)).max())


def test_fade_in_pause_resume_stop_envelope_is_continuous_across_blocks() -> None:
    a = Path("a")
    r = renderer({a: dc(0.5, 0.5, 60)})
    r.start(TrackSpec(1, a), fade_in=1.0)
    out = run(r, 0.5)  # half way up the fade-in ...
    r.pause(2.0)  # ... a pause starts from the present level
    out = np.concatenate([out, run(r, 2.5)])
    assert r.paused and ("paused",) in r.events
    position = r.position
    out = np.concatenate([out, run(r, 1.0)])
    assert r.position == position  # nothing advances while paused
    r.resume(1.0)
    out = np.concatenate([out, run(r, 1.5)])
    r.stop(5.0)
    out = np.concatenate([out, run(r, 5.5)])
    assert ("stopped",) in r.events and r.idle
    env = out[:, 0] / 0.5
    # S-curve fades: the steepest step of a fade over N samples is (π/2)/N; the shortest fade is 1 s
    limit = (np.pi / 2) / (1.0 * RATE) * 1.02
    assert max_step(env) <= limit
    boundaries = np.arange(BLOCK, len(env) - 1, BLOCK)
    assert np.abs(env[boundaries] - env[boundaries - 1]).max() <= limit
    assert env.max() == pytest.approx(1.0, abs=1e-6) and env[-1] == 0.0
    assert env[0] < 0.001  # starts from silence


def test_crossfade_is_equal_power_and_continuous_even_when_interrupted() -> None:
    a, b, c = Path("a"), Path("b"), Path("c")
    r = renderer({a: dc(0.5, 0.0, 30), b: dc(0.0, 0.5, 30), c: dc(0.25, 0.25, 30)})
    r.start(TrackSpec(1, a), fade_in=0.0)
    run(r, 0.3)
    r.crossfade_to(TrackSpec(2, b), 3.0)
    out = run(r, 3.3)
    g_out, g_in = out[:, 0] / 0.5, out[:, 1] / 0.5
    fade = slice(0, 3 * RATE)
    assert np.allclose(g_out[fade] ** 2 + g_in[fade] ** 2, 1.0, atol=1e-6)  # equal power throughout
    assert np.all(np.diff(g_out[fade]) <= 1e-12) and np.all(np.diff(g_in[fade]) >= -1e-12)
    assert g_in[3 * RATE + 10] == pytest.approx(1.0) and g_out[3 * RATE + 10] == 0.0
    # a crossfade interrupted by another one: still no jump anywhere
    r.crossfade_to(TrackSpec(3, a), 4.0)
    mid = run(r, 1.0)
    r.crossfade_to(TrackSpec(4, c), 3.0)
    r.crossfade_to(TrackSpec(5, b), 3.0)  # a third overlap hurries the oldest out smoothly
    out2 = run(r, 5.0)
    both = np.concatenate([out, mid, out2])
    assert max_step(both[:, 0]) < 0.5 * 0.02 and max_step(both[:, 1]) < 0.5 * 0.02
    assert out2[-1, 1] == pytest.approx(0.5) and out2[-1, 0] == pytest.approx(0.0, abs=1e-9)


def test_ceiling_is_never_exceeded() -> None:
    a, b = Path("a"), Path("b")
    n = 20 * RATE
    t = np.arange(n) / RATE
    loud = np.repeat((0.99 * np.sin(2 * np.pi * 200 * t))[:, None], 2, axis=1).astype(np.float32)
    r = renderer({a: loud, b: loud.copy()}, volume_db=0.0, ceiling_db=-10.0)
    assert r.volume_db == -10.0
    r.start(TrackSpec(1, a, gain_db=+6.0), 0.5)
    out = run(r, 2.0)
    r.set_volume(+12.0, 0.2)  # asks for more than the ceiling
    r.crossfade_to(TrackSpec(2, b, gain_db=+6.0), 3.0)  # two correlated full-scale tracks overlap
    out = np.concatenate([out, run(r, 4.0)])
    ceiling = db_to_gain(-10.0)
    assert np.abs(out).max() <= ceiling + 1e-7
    assert np.abs(out).max() > 0.9 * ceiling  # and it really is that loud, not silent
    r.set_ceiling(-20.0)  # the clinic lowers it: volume follows down smoothly
    out2 = run(r, 1.0)
    assert np.abs(out2[int(0.5 * RATE):]).max() <= db_to_gain(-20.0) + 1e-7


def test_duck_lowers_by_15_db_and_fades_back() -> None:
    a = Path("a")
    n = 30 * RATE
    t = np.arange(n) / RATE
    tone = np.repeat((0.5 * np.sin(2 * np.pi * 100 * t))[:, None], 2, axis=1).astype(np.float32)
    r = renderer({a: tone}, volume_db=-6.0)
    r.start(TrackSpec(1, a), 0.0)
    before = run(r, 1.0)
    r.set_duck(True, -15.0, 0.8)
    during = run(r, 2.0)
    r.set_duck(False, -15.0, 2.5)
    after = run(r, 3.0)

    def rms_db(x: np.ndarray) -> float:
        return 20 * np.log10(np.sqrt(np.mean(x[:, 0] ** 2)))

    assert rms_db(during[int(1.0 * RATE):]) - rms_db(before) == pytest.approx(-15.0, abs=0.2)
    assert rms_db(after[int(2.6 * RATE):]) - rms_db(before) == pytest.approx(0.0, abs=0.2)
    # a slow return: half a second after un-ducking the level is still well below normal
    assert rms_db(after[int(0.4 * RATE):int(0.6 * RATE)]) - rms_db(before) < -6
    whole = np.concatenate([before, during, after])[:, 0]
    ratio = np.abs(np.diff(whole)).max() / (0.5 * db_to_gain(-6) * 2 * np.pi * 100 / RATE)
    assert ratio < 1.05  # no step larger than the tone's own slope: no click


def test_gapless_join_is_sample_exact() -> None:
    a, b = Path("a"), Path("b")
    ramp = np.linspace(-0.5, 0.5, 1234, dtype=np.float32)
    r = renderer({a: np.stack([ramp, ramp], 1), b: np.stack([ramp[::-1], ramp[::-1]], 1)})
    r.start(TrackSpec(1, a), 0.0)
    r.set_next(TrackSpec(2, b))
    out = run(r, 3000 / RATE)
    expected = np.concatenate([ramp, ramp[::-1]])
    assert np.allclose(out[:2468, 0], expected, atol=1e-6)
    assert [e[0] for e in r.events] == ["started", "ended", "started", "ended", "idle"]


def test_file_source_resamples_to_device_rate_and_fits_channels(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "mono.flac", 1000.0, 1.0, rate=44100, fmt="FLAC", channels=1)
    src = FileSource(TrackSpec(1, path), 48000, 2)
    data = np.concatenate([src.read(4096) for _ in range(20)])
    assert len(data) == pytest.approx(48000, abs=64) and data.shape[1] == 2
    spectrum = np.abs(np.fft.rfft(data[:32768, 0] * np.hanning(32768)))
    assert np.fft.rfftfreq(32768, 1 / 48000)[spectrum.argmax()] == pytest.approx(1000.0, abs=2.0)
    assert np.array_equal(data[:, 0], data[:, 1])


def test_controller_with_offline_player_stop_fades_at_least_five_seconds(tmp_path: Path) -> None:
    pl = Playlist()
    pl.add_paths([write_tone(tmp_path / "t.wav", 200, 30, rate=48000, fmt="WAV", amp=0.5)])
    player = OfflinePlayer(rate=48000)
    ctl = MusicController(pl, player, MusicSettings(volume_db=0, ceiling_db=0, fade_in=1, stop_fade=1))
    ctl.play()
    player.render_seconds(3)
    ctl.stop()
    out = player.render_seconds(6)
    assert ctl.state is State.STOPPED
    env = np.array([np.abs(out[i:i + 480, 0]).max() for i in range(0, len(out) - 480, 480)])
    audible = np.nonzero(env > 0.001)[0]
    assert audible[-1] * 0.01 >= 4.8  # still fading after ~5 s, never cut
    assert np.all(np.diff(env[:audible[-1]]) <= 0.01)  # monotonic fade-out
    assert np.abs(out[-4800:]).max() == 0.0


def test_unreadable_file_is_skipped_by_the_real_renderer(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"OggS" + b"\0" * 100)
    good = write_tone(tmp_path / "good.wav", 300, 2, rate=48000, fmt="WAV")
    pl = Playlist()
    pl.add_track(Track(path=bad, title="bad"), 0)  # not checked when added: fails only when opened
    player = OfflinePlayer(rate=48000)
    ctl = MusicController(pl, player, MusicSettings(volume_db=0, ceiling_db=0, fade_in=0.1))
    pl.add_paths([good])
    ctl.play()
    out = player.render_seconds(1)
    assert np.abs(out).max() > 0.1  # the good track plays
    assert pl.tracks()[0].error is not None and "Skipped “bad”" in ctl.messages[-1][1]


def test_loudness_tag_first_then_measured_and_cached(tmp_path: Path) -> None:
    loud = write_tone(tmp_path / "loud.wav", 440, 3, amp=0.8, fmt="WAV")
    quiet = write_tone(tmp_path / "quiet.wav", 440, 3, amp=0.08, fmt="WAV")
    l_loud, l_quiet = measure_loudness(loud), measure_loudness(quiet)
    assert l_loud is not None and l_quiet is not None
    assert l_loud - l_quiet == pytest.approx(20.0, abs=0.1)
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros((8000, 2)), 8000)
    assert measure_loudness(silent) is None
    cache_file = tmp_path / "cache" / "loudness.json"
    cache = LoudnessCache(cache_file)
    pl = Playlist()
    t_loud, t_quiet = pl.add_paths([loud, quiet])
    assert cache.gain_for(t_loud) is None  # not known yet: measured in the background
    cache.prefetch([t_loud, t_quiet])
    assert cache.wait_idle(20)
    g_loud, g_quiet = cache.gain_for(t_loud), cache.gain_for(t_quiet)
    assert g_loud == pytest.approx(REFERENCE_LUFS - l_loud, abs=0.01)
    assert g_quiet - g_loud == pytest.approx(20.0, abs=0.1)
    assert LoudnessCache(cache_file).gain_for(t_quiet) == g_quiet  # persisted
    t_loud.replaygain_db = -3.0
    assert cache.gain_for(t_loud) == -3.0  # a ReplayGain tag wins

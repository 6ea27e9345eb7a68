"""Real playback through PortAudio into a PulseAudio null sink, recorded from its monitor.

Needs the virtual sound card of scripts/dev.sh (KAPMONITOR_TEST_AUDIO=pulse). Without it the test
is skipped, unless KAPMONITOR_REQUIRE_AUDIO=1, when it fails: CI must really play.

Over ~30 s, with the therapist window and a busy pyqtgraph plot redrawing at 30 Hz, it checks
from the recorded sound: the fade-in, the first track alone, an equal-power crossfade of about
the configured length, the next track alone, a gapless join to the third track (resampled from
48 kHz), the duck (−15 dB) and its recovery, no dropout anywhere, and zero underruns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from music_fixtures import write_tone

from kapmonitor.audio.controller import MusicController, MusicSettings
from kapmonitor.audio.player import AudioPlayer
from kapmonitor.audio.playlist import Playlist

pytestmark = [pytest.mark.audio, pytest.mark.slow]

REC_RATE = 48000
F1, F2, F3 = 440.0, 660.0, 990.0


def _require_sound_card() -> None:
    problem = None
    if os.environ.get("KAPMONITOR_TEST_AUDIO") != "pulse":
        problem = "no virtual sound card (KAPMONITOR_TEST_AUDIO is not 'pulse'; use scripts/dev.sh test)"
    elif shutil.which("parec") is None or shutil.which("pactl") is None:
        problem = "parec/pactl (pulseaudio-utils) not installed"
    else:
        sinks = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=10)
        if sinks.returncode != 0 or "null" not in sinks.stdout.split():
            problem = f"PulseAudio null sink not reachable: {sinks.stderr.strip() or sinks.stdout.strip()}"
    if problem is None:
        return
    if os.environ.get("KAPMONITOR_REQUIRE_AUDIO") == "1":
        pytest.fail(f"audio required but unavailable: {problem}")
    pytest.skip(problem)


def _amplitudes(x: np.ndarray, start: float, win: float = 0.1) -> dict[float, float]:
    n = int(win * REC_RATE)
    i = int(start * REC_RATE)
    seg = x[i:i + n]
    w = np.hanning(len(seg))
    spectrum = np.abs(np.fft.rfft(seg * w)) * 2 / w.sum()
    freqs = np.fft.rfftfreq(len(seg), 1 / REC_RATE)
    return {f: float(spectrum[np.argmin(np.abs(freqs - f))]) for f in (F1, F2, F3)}


def test_real_playback_crossfade_gapless_duck_no_underruns(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _require_sound_card()
    import pyqtgraph as pg

    from kapmonitor.ui.music.therapist_window import TherapistWindow

    pl = Playlist()
    pl.add_paths([write_tone(tmp_path / "one.wav", F1, 12, rate=44100, amp=0.5, fmt="WAV")], 0)
    pl.add_paths([write_tone(tmp_path / "two.flac", F2, 10, rate=44100, amp=0.5, fmt="FLAC")], 1)
    pl.add_paths([write_tone(tmp_path / "three.ogg", F3, 25, rate=48000, amp=0.5, fmt="OGG", subtype="VORBIS")], 1)
    player = AudioPlayer()
    ctl = MusicController(pl, player, MusicSettings(fade_in=1.0, crossfade=3.0, volume_db=-6.0, ceiling_db=-3.0,
                                                    duck_down=0.5, duck_up=1.5))
    window = TherapistWindow(ctl, lambda: (time.time() - 300, time.time() + 1500))
    qtbot.addWidget(window)
    window.show()
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.show()
    rng = np.random.default_rng(0)
    curves = [plot.plot(pen=pg.mkPen(width=1)) for _ in range(4)]
    xs = np.arange(3000, dtype=float)
    ys = rng.standard_normal((4, 3000))

    def redraw() -> None:
        ys[:] = np.roll(ys, -10, axis=1)
        ys[:, -10:] = rng.standard_normal((4, 10))
        for c, y in zip(curves, ys, strict=True):
            c.setData(xs, y)

    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(33)
    timer.timeout.connect(redraw)
    recording = tmp_path / "monitor.raw"
    rec = subprocess.Popen(["parec", "-d", "null.monitor", "--format=float32le", f"--rate={REC_RATE}",
                            "--channels=2", "--latency-msec=50", "--raw", str(recording)])
    try:
        player.open()
        qtbot.waitUntil(lambda: player.device_ok, timeout=5000)
        timer.start()
        qtbot.wait(500)
        t_play = time.monotonic()
        ctl.play()

        def wait_until(seconds: float) -> None:
            qtbot.wait(max(0, int((t_play + seconds - time.monotonic()) * 1000)))

        wait_until(6.0)
        ctl.next()  # crossfade F1 → F2 over 3 s; F2 (10 s) then runs into F3 gaplessly at ~16 s
        wait_until(22.0)
        ctl.duck(True)
        wait_until(25.0)
        ctl.duck(False)
        wait_until(30.5)
        underruns = player.underruns
        status = ctl.status()
    finally:
        timer.stop()
        player.close()
        time.sleep(0.3)
        rec.terminate()
        rec.wait(5)
    assert underruns == 0, f"{underruns} underruns (queue empty {player._starved}, PortAudio {player._xruns})"
    assert status.track is not None and status.track.title == "three"
    x = np.fromfile(recording, dtype=np.float32).reshape(-1, 2)[:, 0].astype(np.float64)
    loud = np.nonzero(np.abs(x) > 0.005)[0]
    assert len(loud), "nothing was heard on the sink"
    onset = loud[0] / REC_RATE
    assert len(x) / REC_RATE - onset > 29.5

    def amp(t: float) -> dict[float, float]:
        return _amplitudes(x, onset + t)

    full = 0.5 * 10 ** (-6 / 20)  # tone amplitude × volume
    # the fade-in is gradual: quiet at first, full after a second
    assert amp(0.05)[F1] < 0.5 * full and amp(1.5)[F1] == pytest.approx(full, rel=0.1)
    for t in np.arange(1.5, 5.5, 0.5):
        a = amp(t)
        assert a[F1] == pytest.approx(full, rel=0.1) and a[F2] < 0.01 * full, (t, a)
    # the crossfade: both tracks audible together for about the configured 3 s
    both = []
    for t in np.arange(5.0, 11.0, 0.05):
        a = amp(t)
        g1, g2 = a[F1] / full, a[F2] / full
        if g1 > 0.05 and g2 > 0.05:
            both.append(t)
            assert g1 ** 2 + g2 ** 2 == pytest.approx(1.0, abs=0.12), (t, a)  # equal power
    assert both and 2.2 <= both[-1] - both[0] + 0.05 <= 3.2, both
    for t in np.arange(10.5, 15.5, 0.5):
        a = amp(t)
        assert a[F2] == pytest.approx(full, rel=0.1) and a[F1] < 0.01 * full, (t, a)
    for t in np.arange(17.0, 21.5, 0.5):
        a = amp(t)
        assert a[F3] == pytest.approx(full, rel=0.1) and a[F2] < 0.01 * full, (t, a)
    # duck −15 dB and back
    ducked = amp(23.5)[F3]
    assert 20 * np.log10(ducked / full) == pytest.approx(-15.0, abs=1.0)
    assert amp(28.5)[F3] == pytest.approx(full, rel=0.1)
    # no dropout anywhere: every 10 ms window from the end of the fade-in to the end has sound
    start, end = int((onset + 1.0) * REC_RATE), int((onset + 29.5) * REC_RATE)
    windows = x[start:end][: (end - start) // 480 * 480].reshape(-1, 480)
    rms = np.sqrt(np.mean(windows ** 2, axis=1))
    assert rms.min() > 0.3 * full * 10 ** (-15 / 20), f"dropout at {onset + 1.0 + rms.argmin() * 0.01:.2f} s"
    # and the session timeline has it all
    acts = [r["action"] for r in ctl.events]
    # rows are stamped when the sound is heard: the first track starts one output latency after "play"
    t_play_row = next(float(r["t"]) for r in ctl.events if r["action"] == "play")
    t_first = next(float(r["t"]) for r in ctl.events if r["action"] == "track_started")
    assert 0.3 <= t_first - t_play_row <= 1.2
    assert acts.count("track_started") == 3 and "next" in acts and "duck" in acts and "unduck" in acts

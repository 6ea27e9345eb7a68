"""Audio: music playback with a crossfade every 30 s while the nurse's window redraws.

`AudioPlayer` (the real one: decoder thread, ring of blocks, PortAudio callback) plays on the
default output device, the PulseAudio null sink of scripts/dev.sh in CI, two 45-s tracks (a chord
with some noise, 44.1 kHz FLAC and 48 kHz WAV, so one is resampled), with a 3-s crossfade to the
other track every 30 s. Meanwhile a live session runs with the MainWindow offscreen (simulated
monitor, 4 h of trends, pleth at 100 Hz, 25 Hz redraws). Underruns are the player's own counter
(blocks not ready plus PortAudio underflows). The callback's duration is measured by wrapping the
player's callback through its `stream_factory` argument (no change to the player), and reported
as the 99th percentile in per cent of the block period. The wrapper times the callback's body; the
wait for the GIL before PortAudio's thread enters Python is not in it, but would show as underruns.
Without a sound device the figures are reported as "no audio device" (not a pass).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Figure, percentile, qt_quiet, skipped

P99_TARGET_PERCENT = 20.0


def _sound_card_problem() -> str | None:
    if os.environ.get("KAPMONITOR_TEST_AUDIO") != "pulse":
        return "no audio device (KAPMONITOR_TEST_AUDIO is not 'pulse': start the null sink, see README)"
    if shutil.which("pactl") is None:
        return "no audio device (pactl missing)"
    sinks = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=10)
    if sinks.returncode != 0 or "null" not in sinks.stdout.split():
        return "no audio device (PulseAudio null sink not reachable)"
    return None


def _track(path: Path, rate: int, seconds: float, base: float, seed: int, subtype: str) -> Path:
    import soundfile as sf

    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(seed)
    chord = sum(np.sin(2 * np.pi * base * k * t) / k for k in (1.0, 1.25, 1.5, 2.0))
    left = 0.2 * chord + 0.02 * rng.standard_normal(len(t))
    right = 0.2 * np.roll(chord, 200) + 0.02 * rng.standard_normal(len(t))
    sf.write(str(path), np.stack([left, right], axis=1).astype(np.float32), rate, subtype=subtype)
    return path


def run(quick: bool) -> list[Figure]:
    problem = _sound_card_problem()
    if problem is not None:
        return [skipped("audio.underruns", "blocks", "0", problem),
                skipped("audio.callback_p99", "% of block period", f"< {P99_TARGET_PERCENT:g} %", problem)]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from benchmarks.bench_display import fill_trends
    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.audio.player import AudioPlayer, device_rate, sounddevice_stream
    from kapmonitor.audio.sources import TrackSpec
    from kapmonitor.bedside import WindowFacts
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.registry import create_driver
    from kapmonitor.model.clock import RealClock
    from kapmonitor.pipeline import MonitoringPipeline
    from kapmonitor.ui.main_window import MainWindow

    play_s = 20.0 if quick else 300.0
    every_s = 8.0 if quick else 30.0
    qt_quiet()
    app = QApplication.instance() or QApplication([])
    tmp = tempfile.TemporaryDirectory(prefix="kapbench-audio-")
    tracks = [_track(Path(tmp.name) / "a.flac", 44100, 45, 220.0, 1, "PCM_16"),
              _track(Path(tmp.name) / "b.wav", 48000, 45, 261.6, 2, "FLOAT")]

    durations = np.zeros(400_000, dtype=np.int64)  # preallocated: the callback must not allocate
    count = [0]

    def timed_factory(callback, rate, channels, blocksize, device):  # type: ignore[no-untyped-def]
        def timed(outdata, frames, time_info, status):  # type: ignore[no-untyped-def]
            t = time.perf_counter_ns()
            callback(outdata, frames, time_info, status)
            i = count[0]
            if i < len(durations):
                durations[i] = time.perf_counter_ns() - t
                count[0] = i + 1

        return sounddevice_stream(timed, rate, channels, blocksize, device)

    rate = device_rate(None)
    player = AudioPlayer(rate=rate, stream_factory=timed_factory)
    block_ms = 1000.0 * player.blocksize / rate

    clock = RealClock()
    driver = create_driver("simulated", DriverOptions(scenario="normal", seed=5), clock)
    pipeline = MonitoringPipeline(driver, Path(tmp.name) / "session.db", alarm_profile=default_profile())
    assert pipeline.alarms is not None
    now = clock.now()
    fill_trends(pipeline.trends, now, 4.0)
    window = MainWindow(WindowFacts(
            pipeline.trends, pipeline.alarms.profile, session_start=now - 4 * 3600, now_fn=clock.now,
                        simulated=True, device="Simulated monitor (benchmark)", engine=pipeline.alarms))
    window.resize(1280, 800)
    window.show()
    pipeline.start()
    window.start()

    state = {"token": 1, "crossfades": 0, "start_underruns": 0, "t0": 0.0, "start_count": 0}
    player.open()
    player.start(TrackSpec(1, tracks[0]), 1.0)

    def begin_measuring() -> None:
        state["start_underruns"] = player.underruns
        state["start_count"] = count[0]
        state["t0"] = time.monotonic()

    def crossfade() -> None:
        state["token"] += 1
        player.crossfade_to(TrackSpec(state["token"], tracks[state["token"] % 2]), 3.0)
        state["crossfades"] += 1

    timer = QTimer()
    timer.setInterval(int(every_s * 1000))
    timer.timeout.connect(crossfade)
    QTimer.singleShot(1000, begin_measuring)  # after the stream has opened
    QTimer.singleShot(1000, timer.start)
    QTimer.singleShot(int((play_s + 1.0) * 1000), app.quit)
    redraws0 = window.redraws
    app.exec()
    measured_s = time.monotonic() - state["t0"]
    underruns = player.underruns - state["start_underruns"]
    device_ok, message = player.device_ok, player.device_message
    redraw_hz = (window.redraws - redraws0) / (play_s + 1.0)
    timer.stop()
    player.stop(0.0)
    player.close()
    pipeline.stop()
    window.close()
    tmp.cleanup()

    xs = durations[state["start_count"]:count[0]] / 1e6  # ms
    if not device_ok or len(xs) == 0:
        why = f"no audio device ({message})"
        return [skipped("audio.underruns", "blocks", "0", why),
                skipped("audio.callback_p99", "% of block period", f"< {P99_TARGET_PERCENT:g} %", why)]
    p99 = percentile(list(xs), 99)
    note = (f"{measured_s:.0f} s, {state['crossfades']} crossfades, {len(xs)} callbacks of {player.blocksize} frames "
            f"at {rate} Hz ({block_ms:.1f} ms); GUI redrew at {redraw_hz:.1f} Hz meanwhile")
    return [
        Figure("audio.underruns", float(underruns), "blocks", "0", underruns == 0, runs=1, note=note),
        Figure("audio.callback_p99", 100.0 * p99 / block_ms, "% of block period", f"< {P99_TARGET_PERCENT:g} %",
               100.0 * p99 / block_ms < P99_TARGET_PERCENT,
               spread=f"p50 {percentile(list(xs), 50) * 1000:.0f} \u00b5s / p99 {p99 * 1000:.0f} \u00b5s / "
                      f"max {float(xs.max()) * 1000:.0f} \u00b5s", runs=len(xs)),
    ]

"""Alarm sounds: the generated bursts (timing, spectrum) and the sounder on a real PortAudio device.

The device tests need the PulseAudio null sink of scripts/dev.sh (KAPMONITOR_TEST_AUDIO=pulse):
they play through sounddevice and record the sink's monitor with parecord. With
KAPMONITOR_REQUIRE_AUDIO=1 a missing device fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from kapmonitor.alarms.engine import AUDIO_FAILURE, AlarmEngine
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.alarms.sounder import MIN_VOLUME, AlarmSounder
from kapmonitor.alarms.tones import SAMPLE_RATE, SPECS, burst, pattern, pulse
from kapmonitor.model.clock import ManualClock, RealClock

RATE = SAMPLE_RATE


def _envelope_segments(x: npt.NDArray[np.float32], rate: int, rel: float = 0.2) -> list[tuple[float, float]]:
    """(start, end) seconds of the sounding stretches of `x` (5 ms RMS windows above rel * max)."""
    win = int(rate * 0.005)
    n = len(x) // win
    rms = np.sqrt(np.mean(x[: n * win].astype(np.float64).reshape(n, win) ** 2, axis=1))
    if rms.max() <= 1e-6:
        return []
    on = rms > rel * rms.max()
    segs = []
    start = None
    for i, v in enumerate(on):
        if v and start is None:
            start = i
        elif not v and start is not None:
            segs.append((start * win / rate, i * win / rate))
            start = None
    if start is not None:
        segs.append((start * win / rate, n * win / rate))
    return segs


def _harmonic_levels(x: npt.NDArray[np.float32], rate: int, f0: float) -> list[float]:
    """Level (dB re the strongest) of the spectrum peak near each of the first 5 harmonics of f0."""
    spec = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    levels = []
    for k in range(1, 6):
        band = (freqs > k * f0 - 15) & (freqs < k * f0 + 15)
        levels.append(float(spec[band].max()))
    ref = max(levels)
    return [20 * np.log10(v / ref) for v in levels]


# -- buffers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("priority", list(Priority))
def test_pulse_spectrum_meets_iec_shape(priority: Priority) -> None:
    spec = SPECS[priority]
    assert 150 <= spec.fundamental_hz <= 1000
    p = pulse(spec.fundamental_hz, spec.pulse_s)
    freqs = np.fft.rfftfreq(len(p), 1 / RATE)
    mag = np.abs(np.fft.rfft(p * np.hanning(len(p))))
    assert abs(freqs[np.argmax(mag)] - spec.fundamental_hz) < 10  # the strongest component is the fundamental
    levels = _harmonic_levels(p, RATE, spec.fundamental_hz)
    in_band = [k * spec.fundamental_hz for k, lv in zip(range(1, 6), levels, strict=True)
               if 300 <= k * spec.fundamental_hz <= 4000 and lv > -15]
    assert len(in_band) >= 4
    # smooth edges: no click at the start or end
    assert abs(p[0]) < 0.01 and abs(p[-1]) < 0.05
    assert np.max(np.abs(p)) == pytest.approx(1.0, abs=1e-6)


def test_high_burst_timing_from_buffer() -> None:
    segs = _envelope_segments(pattern(Priority.HIGH), RATE)
    assert len(segs) == 10
    starts = np.array([s for s, _ in segs])
    durations = np.array([e - s for s, e in segs])
    assert np.all((durations > 0.075) & (durations < 0.2))
    assert np.allclose(starts, SPECS[Priority.HIGH].onsets_s, atol=0.02)
    assert len(pattern(Priority.HIGH)) / RATE == pytest.approx(5.0)  # repeats every 5 s


def test_medium_and_low_bursts_from_buffer() -> None:
    segs = _envelope_segments(pattern(Priority.MEDIUM), RATE)
    assert len(segs) == 3
    assert all(0.125 <= e - s <= 0.25 for s, e in segs)
    assert len(pattern(Priority.MEDIUM)) / RATE == pytest.approx(15.0)
    low = pattern(Priority.LOW)
    assert len(_envelope_segments(low, RATE)) == 1
    assert len(low) / RATE < 0.3  # played once, not looped
    assert len(burst(SPECS[Priority.HIGH])) / RATE == pytest.approx(3.1, abs=0.01)


# -- sounder without a device ---------------------------------------------------------------------------
class _FakeStream:
    """Stands in for the PortAudio stream only where the device is the thing under test elsewhere."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.active = False

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        pass


def test_stream_that_cannot_open_is_a_technical_alarm() -> None:
    engine = AlarmEngine(default_profile(), RealClock())
    sounder = AlarmSounder(engine, device="no-such-device-kapmonitor", retry_s=0.2)
    sounder.start()
    try:
        alarms = {a.alarm_id: a for a in engine.active_alarms()}
        assert AUDIO_FAILURE in alarms
        assert alarms[AUDIO_FAILURE].priority is Priority.HIGH
        assert "cannot be played" in alarms[AUDIO_FAILURE].message
    finally:
        sounder.stop()


def test_stream_that_dies_is_reported_and_recovery_clears_condition() -> None:
    engine = AlarmEngine(default_profile(), RealClock())
    made: list[_FakeStream] = []

    def factory(**kwargs: Any) -> _FakeStream:
        s = _FakeStream(**kwargs)
        made.append(s)
        return s

    sounder = AlarmSounder(engine, stream_factory=factory, retry_s=0.1, poll_s=0.02)
    sounder.start()
    try:
        assert made[0].kwargs["channels"] == 1 and made[0].kwargs["device"] is None
        made[0].active = False  # the device went away
        deadline = time.monotonic() + 3
        while len(made) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(made) >= 2  # reopened
        events = [(e.alarm_id, e.event.value) for e in engine.events() if e.alarm_id == AUDIO_FAILURE]
        assert events[:2] == [(AUDIO_FAILURE, "raised"), (AUDIO_FAILURE, "condition_ended")]
    finally:
        sounder.stop()


def test_volume_floor_and_callback_fills_buffer() -> None:
    engine = AlarmEngine(default_profile(), ManualClock(1000.0))
    sounder = AlarmSounder(engine, volume=0.0, stream_factory=_FakeStream)
    assert sounder.volume == MIN_VOLUME > 0
    engine.report_technical("x", "test", Priority.HIGH)
    sounder._follow()
    out = np.full((4096, 1), 7.0, dtype=np.float32)
    sounder._callback(out, 4096, None, None)
    ref = pattern(Priority.HIGH)[:4096] * MIN_VOLUME
    assert np.allclose(out[:, 0], ref, atol=1e-6)
    engine.acknowledge("AB")
    sounder._follow()
    sounder._callback(out, 4096, None, None)
    assert not out.any()


# -- real device ---------------------------------------------------------------------------------------
def _audio_available() -> None:
    if os.environ.get("KAPMONITOR_TEST_AUDIO") == "pulse" and shutil.which("parecord"):
        return
    msg = "no virtual sound card (run via scripts/dev.sh test, which sets KAPMONITOR_TEST_AUDIO=pulse)"
    if os.environ.get("KAPMONITOR_REQUIRE_AUDIO") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def _record_while(action: Any, seconds: float, path: Path) -> npt.NDArray[np.float32]:
    proc = subprocess.Popen(
        ["parecord", "-d", "null.monitor", "--raw", "--format=float32le", f"--rate={RATE}", "--channels=1",
         "--latency-msec=20", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        time.sleep(0.4)
        action()
        time.sleep(seconds)
    finally:
        proc.terminate()
        proc.wait(5)
    data = np.fromfile(path, dtype="<f4")
    assert data.size > RATE, f"parecord recorded nothing: {proc.stderr.read() if proc.stderr else ''!r}"
    return data


@pytest.mark.audio
def test_high_alarm_played_and_recorded_from_null_sink(tmp_path: Path) -> None:
    _audio_available()
    engine = AlarmEngine(default_profile(), RealClock())
    sounder = AlarmSounder(engine, device="pulse", volume=1.0)
    sounder.start()
    try:
        assert engine.active_alarms() == [], sounder.failure
        rec = _record_while(lambda: engine.report_technical("test-high", "test", Priority.HIGH), 3.6,
                            tmp_path / "high.raw")
    finally:
        sounder.stop()
    segs = _envelope_segments(rec, RATE)
    assert len(segs) == 10, segs
    starts = np.array([s for s, _ in segs]) - segs[0][0]
    assert np.allclose(starts, SPECS[Priority.HIGH].onsets_s, atol=0.03)
    first = rec[int(segs[0][0] * RATE): int(segs[0][1] * RATE)]
    levels = _harmonic_levels(first, RATE, SPECS[Priority.HIGH].fundamental_hz)
    assert sum(lv > -15 for lv in levels) >= 4
    assert float(np.max(np.abs(rec))) > 0.3


@pytest.mark.audio
def test_acknowledge_silences_the_device(tmp_path: Path) -> None:
    _audio_available()
    engine = AlarmEngine(default_profile(), RealClock())
    sounder = AlarmSounder(engine, device="pulse", volume=1.0)
    sounder.start()

    def raise_then_ack() -> None:
        engine.report_technical("test-high", "test", Priority.HIGH)
        time.sleep(0.8)
        engine.acknowledge("AB")

    try:
        rec = _record_while(raise_then_ack, 1.5, tmp_path / "ack.raw")
    finally:
        sounder.stop()
    segs = _envelope_segments(rec, RATE)
    assert 2 <= len(segs) <= 5, segs  # pulses before the acknowledgement, then silence
    assert segs[-1][1] - segs[0][0] < 1.3


def test_each_new_low_alarm_sounds_its_pulse_once() -> None:
    engine = AlarmEngine(default_profile(), ManualClock(1000.0))
    sounder = AlarmSounder(engine, volume=1.0, stream_factory=_FakeStream)
    engine.add_listener(sounder._on_event)
    out = np.zeros((4800, 1), dtype=np.float32)

    def energy(blocks: int) -> float:
        total = 0.0
        for _ in range(blocks):
            sounder._follow()
            sounder._callback(out, 4800, None, None)
            total += float(np.abs(out).sum())
        return total

    engine.report_technical("a", "first", Priority.LOW)
    assert energy(3) > 100  # one 200 ms pulse
    assert energy(5) == 0  # low: once, not repeated
    engine.report_technical("b", "second", Priority.LOW)
    assert energy(3) > 100  # a new low alarm sounds again


def test_reminder_tone_once_and_not_during_a_pause() -> None:
    clock = ManualClock(1000.0)
    engine = AlarmEngine(default_profile(), clock)
    sounder = AlarmSounder(engine, volume=1.0, stream_factory=_FakeStream)
    engine.add_listener(sounder._on_event)
    out = np.zeros((4800, 1), dtype=np.float32)

    def energy(blocks: int) -> float:
        total = 0.0
        for _ in range(blocks):
            sounder._follow()
            sounder._callback(out, 4800, None, None)
            total += float(np.abs(out).sum())
        return total

    engine.report_technical("a", "persisting", Priority.MEDIUM)
    engine.acknowledge("AB")
    assert energy(2) == 0
    clock.advance(180)
    engine.tick()  # reminder due
    assert energy(3) > 100 and energy(3) == 0
    engine.pause_audio(600)
    clock.advance(180)
    engine.tick()
    assert energy(3) == 0

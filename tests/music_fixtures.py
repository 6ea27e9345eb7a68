"""Shared helpers for the music tests: generated audio files, a fake player, a fake output stream.

Audio fixtures are written with soundfile at test time; no binary fixture lives in git.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from kapmonitor.audio.player import PlayerEvent
from kapmonitor.audio.sources import TrackSpec


def write_tone(path: Path, freq: float, seconds: float, rate: int = 44100, amp: float = 0.5,
               fmt: str | None = None, subtype: str | None = None, channels: int = 2) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    tone = amp * np.sin(2 * np.pi * freq * t)
    data = np.repeat(tone[:, None], channels, axis=1) if channels > 1 else tone
    sf.write(str(path), data, rate, format=fmt, subtype=subtype)
    return path


class FakePlayer:
    """Implements PlayerBackend; records every call. Tests drive events with `emit()`."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.listener: Callable[[PlayerEvent], None] | None = None
        self.pos: tuple[int, float] | None = None
        self._underruns = 0
        self.ok = True

    def set_listener(self, listener: Callable[[PlayerEvent], None] | None) -> None:
        self.listener = listener

    def _call(self, *args: Any) -> None:
        self.calls.append(args)

    def start(self, spec: TrackSpec, fade_in: float) -> None:
        self._call("start", spec, fade_in)

    def crossfade_to(self, spec: TrackSpec, seconds: float) -> None:
        self._call("crossfade_to", spec, seconds)

    def set_next(self, spec: TrackSpec | None) -> None:
        self._call("set_next", spec)

    def pause(self, fade: float) -> None:
        self._call("pause", fade)

    def resume(self, fade: float) -> None:
        self._call("resume", fade)

    def stop(self, fade: float) -> None:
        self._call("stop", fade)

    def set_volume(self, db: float, ramp: float) -> None:
        self._call("set_volume", db, ramp)

    def set_ceiling(self, db: float) -> None:
        self._call("set_ceiling", db)

    def set_duck(self, ducked: bool, depth_db: float, seconds: float) -> None:
        self._call("set_duck", ducked, depth_db, seconds)

    def set_device(self, device: str | int | None) -> None:
        self._call("set_device", device)

    def position(self) -> tuple[int, float] | None:
        return self.pos

    @property
    def underruns(self) -> int:
        return self._underruns

    @property
    def device_ok(self) -> bool:
        return self.ok

    # -- test helpers --------------------------------------------------------------------
    def emit(self, kind: str, token: int | None = None, message: str = "", role: str = "") -> None:
        assert self.listener is not None
        self.listener(PlayerEvent(kind, token, message, role))

    def last(self, name: str) -> tuple[Any, ...]:
        for call in reversed(self.calls):
            if call[0] == name:
                return call
        raise AssertionError(f"{name} was never called; calls: {[c[0] for c in self.calls]}")

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


class _Flags:
    def __init__(self, underflow: bool = False) -> None:
        self.output_underflow = underflow


class FakeStream:
    """A clocked output stream: calls the callback every block from its own thread, keeps the audio.

    `FakeCard.unplug()` makes running streams stop calling back and new ones fail to open,
    like a USB headset pulled out.
    """

    def __init__(self, card: FakeCard, callback: Callable[..., None], rate: int, channels: int,
                 blocksize: int) -> None:
        self.card = card
        self.callback = callback
        self.rate = rate
        self.channels = channels
        self.blocksize = blocksize
        self._active = False
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._active and self.card.plugged

    def start(self) -> None:
        self._active = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        out = np.zeros((self.blocksize, self.channels), np.float32)
        period = self.blocksize / self.rate / self.card.speed
        next_t = time.monotonic()
        while self._active and self.card.plugged:
            if self.card.stuck:  # opened, but the hardware never asks for audio
                time.sleep(period)
                continue
            self.callback(out, self.blocksize, None, _Flags(self.card.report_underflow))
            self.card.record(out.copy())
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def stop(self) -> None:
        self._active = False

    def close(self) -> None:
        self._active = False


class FakeCard:
    def __init__(self, speed: float = 1.0) -> None:
        self.plugged = True
        self.speed = speed
        self.report_underflow = False
        self.stuck = False
        self.opened = 0
        self._lock = threading.Lock()
        self.blocks: list[np.ndarray] = []

    def factory(self, callback: Callable[..., None], rate: int, channels: int, blocksize: int,
                device: str | int | None) -> FakeStream:
        if not self.plugged:
            raise RuntimeError("Error querying device -1")
        self.opened += 1
        return FakeStream(self, callback, rate, channels, blocksize)

    def record(self, block: np.ndarray) -> None:
        with self._lock:
            self.blocks.append(block)

    def take(self) -> np.ndarray:
        with self._lock:
            blocks, self.blocks = self.blocks, []
        return np.concatenate(blocks) if blocks else np.zeros((0, 2), np.float32)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()

"""The renderer: turns playing sources into fixed-size output blocks with fades and crossfades.

Everything audible is shaped here, sample by sample, so the sound never clicks:
- each deck (a playing source) has its own envelope; a crossfade raises the new deck with
  sin(πx/2) while the old one falls with cos(πx/2) (equal power: the sum of squares stays 1);
- the master gain is transport (play/pause/stop fades, an S-curve) × volume (linear ramp)
  × duck (S-curve), and the result is clipped at the clinic's ceiling, so the ceiling holds
  even while two correlated tracks overlap;
- envelopes are `Ramp`s that continue exactly where they stopped, so a block boundary or a
  new command in the middle of a fade never makes the gain jump.

Gapless: when the current source ends inside a block, the pre-opened next source continues in
the same block under the same envelope.

Not thread-safe: one thread (the player's decoder thread, or a test) owns a `Renderer`.
Events for the controller are appended to `events` and drained by the owner.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kapmonitor.audio.sources import Source, SourceError, TrackSpec, open_file_source

log = logging.getLogger(__name__)

Block = npt.NDArray[np.float32]
Opener = Callable[[TrackSpec, int, int], Source]

LINEAR = "linear"
EQUAL_POWER_IN = "equal-power-in"  # sin(πx/2): pairs with EQUAL_POWER_OUT
EQUAL_POWER_OUT = "equal-power-out"  # cos(πx/2)
S_CURVE = "s-curve"  # (1 - cos πx) / 2: smooth at both ends (play/pause/stop, duck)


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 1e-10 else -200.0


class Ramp:
    """A gain that moves from its current value to a target over a number of frames.

    `render(n)` returns the next n per-sample values and advances; a new `set()` starts from
    the present value, so the curve is continuous whatever happens between blocks.
    """

    def __init__(self, value: float) -> None:
        self.value = float(value)
        self._start = self.value
        self._target = self.value
        self._length = 0
        self._pos = 0
        self._shape = LINEAR

    @property
    def active(self) -> bool:
        return self._pos < self._length

    @property
    def target(self) -> float:
        return self._target

    def set(self, target: float, frames: int, shape: str = LINEAR) -> None:
        self._start = self.value
        self._target = float(target)
        self._shape = shape
        self._pos = 0
        self._length = max(0, int(frames))
        if self._length == 0:
            self.value = self._target

    def render(self, n: int) -> npt.NDArray[np.float64]:
        if n <= 0:
            return np.zeros(0)
        if not self.active:
            return np.full(n, self.value)
        x = np.minimum(np.arange(self._pos + 1, self._pos + n + 1, dtype=np.float64) / self._length, 1.0)
        if self._shape == EQUAL_POWER_IN:
            c = np.sin(0.5 * np.pi * x)
        elif self._shape == EQUAL_POWER_OUT:
            c = 1.0 - np.cos(0.5 * np.pi * x)
        elif self._shape == S_CURVE:
            c = 0.5 - 0.5 * np.cos(np.pi * x)
        else:
            c = x
        values = self._start + (self._target - self._start) * c
        self._pos = min(self._pos + n, self._length)
        self.value = self._target if self._pos >= self._length else float(values[-1])
        return values


@dataclass
class _Deck:
    source: Source
    env: Ramp


class Renderer:
    """See module docstring. Rates are frames per second; all fade lengths are in seconds."""

    MAX_FADING = 2

    def __init__(
        self,
        rate: int,
        channels: int = 2,
        blocksize: int = 1024,
        opener: Opener = open_file_source,
        volume_db: float = -12.0,
        ceiling_db: float = 0.0,
    ) -> None:
        self.rate = int(rate)
        self.channels = channels
        self.blocksize = blocksize
        self._opener = opener
        self.ceiling_db = min(0.0, ceiling_db)
        self._ceiling = db_to_gain(self.ceiling_db)
        self.volume_db = min(volume_db, self.ceiling_db)
        self._volume = Ramp(db_to_gain(self.volume_db))
        self._duck = Ramp(1.0)
        self._transport = Ramp(0.0)
        self._current: _Deck | None = None
        self._fading: list[_Deck] = []
        self._next: Source | None = None
        self._paused = False
        self._pending: str | None = None  # "pause" | "stop" while the transport fades to 0
        self.events: list[tuple[object, ...]] = []
        self.frames_rendered = 0
        self.last_peak = 0.0

    # -- state -------------------------------------------------------------------------------
    @property
    def current_token(self) -> int | None:
        return self._current.source.token if self._current else None

    @property
    def position(self) -> float:
        """Seconds of the current track rendered so far (0 when nothing plays)."""
        return self._current.source.position if self._current else 0.0

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def idle(self) -> bool:
        return self._current is None and not self._fading

    def _frames(self, seconds: float) -> int:
        return max(0, round(seconds * self.rate))

    def _open(self, spec: TrackSpec, role: str) -> Source | None:
        try:
            return self._opener(spec, self.rate, self.channels)
        except (SourceError, OSError, RuntimeError, ValueError) as exc:
            self.events.append(("error", spec.token, str(exc), role))
            return None

    # -- commands ----------------------------------------------------------------------------
    def start(self, spec: TrackSpec, fade_in: float) -> None:
        """Start `spec` from silence with a fade-in (crossfades instead if something is audible)."""
        if self._current is not None and self._transport.value > 1e-4 and not self._paused:
            self.crossfade_to(spec, fade_in)
            self.resume(fade_in)
            return
        source = self._open(spec, "start")
        if source is None:
            return
        self._drop_all()
        self._current = _Deck(source, Ramp(1.0))
        self._paused = False
        self._pending = None
        self._transport.set(1.0, self._frames(fade_in), S_CURVE)
        self.events.append(("started", spec.token))

    def crossfade_to(self, spec: TrackSpec, seconds: float) -> None:
        source = self._open(spec, "crossfade")
        if source is None:
            return
        frames = self._frames(seconds)
        if self._current is not None:
            self._current.env.set(0.0, frames, EQUAL_POWER_OUT)
            self._fading.append(self._current)
        while len(self._fading) > self.MAX_FADING:
            # a third overlapping fade: hurry the oldest out (50 ms, still click-free)
            oldest = self._fading[0]
            if oldest.env.target == 0.0 and oldest.env.value < 0.05:
                self._fading.pop(0).source.close()
            else:
                oldest.env.set(0.0, self._frames(0.05), S_CURVE)
                break
        env = Ramp(0.0)
        env.set(1.0, frames, EQUAL_POWER_IN)
        self._current = _Deck(source, env)
        self._close_next()
        self.events.append(("started", spec.token))

    def set_next(self, spec: TrackSpec | None) -> None:
        """The track to continue with, gaplessly, when the current one ends (None: stop there)."""
        self._close_next()
        if spec is not None:
            self._next = self._open(spec, "next")

    def pause(self, fade: float) -> None:
        if self._paused or (self._current is None and not self._fading):
            return
        self._pending = "pause"
        self._transport.set(0.0, self._frames(fade), S_CURVE)

    def resume(self, fade: float) -> None:
        self._paused = False
        self._pending = None
        self._transport.set(1.0, self._frames(fade), S_CURVE)

    def stop(self, fade: float) -> None:
        if self.idle:
            self._finish_stop()
            return
        if self._paused:
            self._finish_stop()
            return
        self._pending = "stop"
        self._transport.set(0.0, self._frames(fade), S_CURVE)

    def hold(self) -> None:
        """Freeze at once, silently (the device is gone: nothing is heard anyway)."""
        self._transport.set(0.0, 0)
        self._pending = None
        if not self.idle:
            self._paused = True

    def set_volume(self, db: float, ramp: float = 0.3) -> None:
        self.volume_db = min(db, self.ceiling_db)
        self._volume.set(db_to_gain(self.volume_db), self._frames(ramp), LINEAR)

    def set_ceiling(self, db: float) -> None:
        self.ceiling_db = min(0.0, db)
        self._ceiling = db_to_gain(self.ceiling_db)
        if self.volume_db > self.ceiling_db:
            self.set_volume(self.ceiling_db, 0.3)

    def set_duck(self, ducked: bool, depth_db: float = -15.0, seconds: float = 0.5) -> None:
        self._duck.set(db_to_gain(depth_db) if ducked else 1.0, self._frames(seconds), S_CURVE)

    # -- rendering ---------------------------------------------------------------------------
    def render(self) -> Block:
        """The next block (blocksize × channels, float32)."""
        n = self.blocksize
        out = np.zeros((n, self.channels), dtype=np.float32)
        master = self._volume.render(n) * self._duck.render(n)
        if self._paused:
            self.frames_rendered += n
            self.last_peak = 0.0
            return out
        master = master * self._transport.render(n)
        acc = np.zeros((n, self.channels), dtype=np.float64)
        for deck in list(self._fading):
            chunk = deck.source.read(n)
            env = deck.env.render(n)
            k = len(chunk)
            acc[:k] += chunk * (env[:k] * deck.source.gain)[:, None]
            if k < n or (not deck.env.active and deck.env.value <= 0.0):
                deck.source.close()
                self._fading.remove(deck)
        pos = 0
        while pos < n and self._current is not None:
            deck = self._current
            chunk = deck.source.read(n - pos)
            k = len(chunk)
            env = deck.env.render(k)
            acc[pos:pos + k] += chunk * (env * deck.source.gain)[:, None]
            pos += k
            if pos < n:  # this track ended inside the block
                self.events.append(("ended", deck.source.token))
                deck.source.close()
                if self._next is not None:
                    deck.source = self._next
                    self._next = None
                    self.events.append(("started", deck.source.token))
                else:
                    self._current = None
                    if not self._fading:
                        self.events.append(("idle",))
        acc *= master[:, None]
        np.clip(acc, -self._ceiling, self._ceiling, out=acc)
        out[:] = acc
        self.last_peak = float(np.abs(out).max()) if n else 0.0
        self.frames_rendered += n
        if self._pending and not self._transport.active and self._transport.value <= 0.0:
            if self._pending == "pause":
                self._paused = True
                self.events.append(("paused",))
            else:
                self._finish_stop()
            self._pending = None
        return out

    # -- helpers -----------------------------------------------------------------------------
    def release(self) -> None:
        """Close every source at once, silently (the player is shutting down)."""
        self._drop_all()
        self._paused = False
        self._pending = None
        self._transport.set(0.0, 0)

    def _close_next(self) -> None:
        if self._next is not None:
            self._next.close()
            self._next = None

    def _drop_all(self) -> None:
        for deck in self._fading:
            deck.source.close()
        self._fading.clear()
        if self._current is not None:
            self._current.source.close()
            self._current = None
        self._close_next()

    def _finish_stop(self) -> None:
        self._drop_all()
        self._paused = False
        self._pending = None
        self._transport.set(0.0, 0)
        self.events.append(("stopped",))

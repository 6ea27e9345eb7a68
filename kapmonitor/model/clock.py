"""Injectable clocks, so the same pipeline runs live, accelerated, on a recording's time, or in tests.

All clocks return seconds since the Unix epoch (UTC). They are thread-safe: `now()` may be
called from any thread.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """The pipeline's notion of time."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (a real clock waits; a manual clock returns)."""
        ...

    @property
    def speed(self) -> float:
        """How many clock seconds pass per real second (inf for as-fast-as-possible)."""
        ...


class RealClock:
    """Wall-clock time."""

    speed = 1.0

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class AcceleratedClock:
    """Runs `speed` times faster than real time from `start` (default: now).

    Built on the monotonic clock so a wall-clock adjustment never makes time jump.
    """

    def __init__(self, speed: float, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = float(speed)
        self._start = time.time() if start is None else start
        self._mono0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        return self._start + (time.monotonic() - self._mono0) * self._speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self._speed)


class ManualClock:
    """A clock that moves only when told: for tests and for replaying recordings.

    `advance_to` never moves time backwards (a recording with a repeated timestamp keeps time still).
    """

    speed = float("inf")

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    def advance_to(self, t: float) -> None:
        with self._lock:
            if t > self._now:
                self._now = t

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


class DataPacedClock:
    """The time of the newest data seen, for an accelerated source.

    At 600× a 20 ms pause in delivery is 12 simulated seconds, which would look like a lost link.
    This clock follows the data instead (like a replay follows its capture) and moves on by itself
    only when no data has come for `allowance_s` of real time, so a source that really falls silent
    is still noticed. Thread-safe; also a dispatcher listener (`on_items`).
    """

    def __init__(self, base: Clock, allowance_s: float = 0.5) -> None:
        self._base = base
        self._lag = allowance_s * base.speed
        self._lock = threading.Lock()
        self._last = base.now()

    @property
    def speed(self) -> float:
        return self._base.speed

    def observe(self, t: float) -> None:
        with self._lock:
            if t > self._last:
                self._last = t

    def restart(self) -> None:
        """Begin again at the base clock's present (when the session really starts)."""
        with self._lock:
            self._last = self._base.now()

    def now(self) -> float:
        with self._lock:
            return max(self._last, self._base.now() - self._lag)

    def sleep(self, seconds: float) -> None:
        self._base.sleep(seconds)

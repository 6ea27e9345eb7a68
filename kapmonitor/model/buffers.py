"""Fixed-size numpy ring buffers for trends and waveforms.

A gap is a NaN and is drawn as a gap, never bridged. Writers are the reader thread (through a
dispatcher listener); readers are the GUI timer, which takes copies (`snapshot`). Every method
takes the buffer's lock, so snapshots are consistent.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class TrendBuffer:
    """(time, value) pairs in arrival order, the oldest dropped when full."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self._t = np.full(capacity, np.nan)
        self._v = np.full(capacity, np.nan)
        self._capacity = capacity
        self._count = 0  # total ever appended
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return min(self._count, self._capacity)

    def append(self, t: float, value: float | None) -> None:
        with self._lock:
            i = self._count % self._capacity
            self._t[i] = t
            self._v[i] = np.nan if value is None else value
            self._count += 1

    def extend(self, t: FloatArray, values: FloatArray) -> None:
        n = len(t)
        if n == 0:
            return
        with self._lock:
            if n >= self._capacity:
                self._t[:] = t[-self._capacity :]
                self._v[:] = values[-self._capacity :]
                self._count = self._capacity * (self._count // self._capacity + 1)
                return
            start = self._count % self._capacity
            end = start + n
            if end <= self._capacity:
                self._t[start:end] = t
                self._v[start:end] = values
            else:
                k = self._capacity - start
                self._t[start:] = t[:k]
                self._v[start:] = values[:k]
                self._t[: n - k] = t[k:]
                self._v[: n - k] = values[k:]
            self._count += n

    def snapshot(self) -> tuple[FloatArray, FloatArray]:
        """Copies of (times, values), oldest first."""
        with self._lock:
            if self._count <= self._capacity:
                return self._t[: self._count].copy(), self._v[: self._count].copy()
            i = self._count % self._capacity
            return np.concatenate((self._t[i:], self._t[:i])), np.concatenate((self._v[i:], self._v[:i]))

    def last(self) -> tuple[float, float] | None:
        """The newest (time, value), or None when empty."""
        with self._lock:
            if self._count == 0:
                return None
            i = (self._count - 1) % self._capacity
            return float(self._t[i]), float(self._v[i])

    def clear(self) -> None:
        with self._lock:
            self._count = 0


class WaveBuffer:
    """The last `seconds` of a fixed-rate waveform, indexed by sample time.

    Samples are placed by their time, so a gap in the stream leaves NaNs in place instead of
    pulling later samples back.
    """

    def __init__(self, rate_hz: float, seconds: float) -> None:
        self.rate_hz = rate_hz
        self._n = round(rate_hz * seconds)
        self._v = np.full(self._n, np.nan, dtype=np.float32)
        self._end_index: int | None = None  # absolute sample index one past the newest sample
        self._lock = threading.Lock()

    def write(self, t0: float, values: npt.NDArray[np.float32]) -> None:
        n = len(values)
        if n == 0:
            return
        start = round(t0 * self.rate_hz)
        with self._lock:
            if self._end_index is not None and start > self._end_index:
                self._fill_nan(self._end_index, min(start, self._end_index + self._n))
            if n > self._n:
                values = values[-self._n :]
                start += n - self._n
                n = self._n
            idx = np.arange(start, start + n) % self._n
            self._v[idx] = values
            end = start + n
            if self._end_index is None or end > self._end_index:
                self._end_index = end

    def _fill_nan(self, a: int, b: int) -> None:
        if b <= a:
            return
        idx = np.arange(a, b) % self._n
        self._v[idx] = np.nan

    def mark_gap_until(self, t: float) -> None:
        """Mark everything from the newest sample up to `t` as missing (a silent link)."""
        end = round(t * self.rate_hz)
        with self._lock:
            if self._end_index is not None and end > self._end_index:
                self._fill_nan(self._end_index, min(end, self._end_index + self._n))
                self._end_index = end

    def snapshot(self) -> tuple[float, npt.NDArray[np.float32]]:
        """(time of the newest sample's end, values oldest first)."""
        with self._lock:
            if self._end_index is None:
                return 0.0, np.full(self._n, np.nan, dtype=np.float32)
            i = self._end_index % self._n
            data = np.concatenate((self._v[i:], self._v[:i]))
            return self._end_index / self.rate_hz, data

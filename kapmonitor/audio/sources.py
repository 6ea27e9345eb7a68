"""Audio sources for the renderer: decoded files (soundfile + soxr) and in-memory arrays.

A source yields float32 frames of shape (n, channels) at the renderer's rate. `read(n)` returns
fewer than n frames only at the end. Sources are used by one thread (the decoder thread).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Frames = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TrackSpec:
    """What the player should play: `token` identifies this play of the track in events."""

    token: int
    path: Path
    gain_db: float = 0.0
    title: str = ""


class Source(Protocol):
    token: int
    gain: float  # linear loudness gain for this track

    def read(self, frames: int) -> Frames: ...

    @property
    def position(self) -> float:
        """Seconds already read."""
        ...

    def close(self) -> None: ...


class SourceError(Exception):
    """A file cannot be opened or decoded."""


def _fit_channels(data: npt.NDArray[np.float32], channels: int) -> Frames:
    have = data.shape[1]
    if have == channels:
        return data
    if have == 1:
        return np.repeat(data, channels, axis=1)
    if channels == 1:
        mono: Frames = data.mean(axis=1, keepdims=True, dtype=np.float32)
        return mono
    if have > channels:
        return np.ascontiguousarray(data[:, :channels])
    return np.concatenate([data, np.repeat(data[:, -1:], channels - have, axis=1)], axis=1)


class _Buffered:
    """Common buffering: subclasses produce chunks; read(n) serves exact counts."""

    def __init__(self, token: int, gain: float, rate: int, channels: int) -> None:
        self.token = token
        self.gain = gain
        self._rate = rate
        self._channels = channels
        self._pending: list[Frames] = []
        self._pending_frames = 0
        self._done = False
        self._read = 0

    def _chunk(self) -> Frames | None:
        raise NotImplementedError

    def read(self, frames: int) -> Frames:
        while self._pending_frames < frames and not self._done:
            chunk = self._chunk()
            if chunk is None:
                self._done = True
                break
            if len(chunk):
                self._pending.append(chunk)
                self._pending_frames += len(chunk)
        if not self._pending:
            return np.zeros((0, self._channels), np.float32)
        joined = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        out, rest = joined[:frames], joined[frames:]
        self._pending = [rest] if len(rest) else []
        self._pending_frames = len(rest)
        self._read += len(out)
        return out

    @property
    def position(self) -> float:
        return self._read / self._rate

    def close(self) -> None:
        self._done = True
        self._pending = []


class ArraySource(_Buffered):
    """Frames from memory, already at the renderer's rate (tests, generated sounds)."""

    def __init__(self, data: npt.ArrayLike, rate: int, token: int = 0, gain: float = 1.0) -> None:
        arr = np.asarray(data, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[:, None]
        super().__init__(token, gain, rate, arr.shape[1])
        self._data = arr
        self._offset = 0

    def _chunk(self) -> Frames | None:
        if self._offset >= len(self._data):
            return None
        chunk = self._data[self._offset:self._offset + 8192]
        self._offset += len(chunk)
        return chunk


class FileSource(_Buffered):
    """A file decoded by soundfile and resampled by soxr's streaming resampler to `rate`."""

    CHUNK = 8192

    def __init__(self, spec: TrackSpec, rate: int, channels: int) -> None:
        super().__init__(spec.token, float(10 ** (spec.gain_db / 20.0)), rate, channels)
        from kapmonitor.audio.audiofile import open_audio

        try:
            self._file = open_audio(spec.path)
        except Exception as exc:  # libsndfile raises several types
            raise SourceError(f"cannot open {spec.path.name}: {exc}") from exc
        self._resampler = None
        if self._file.samplerate != rate:
            import soxr

            self._resampler = soxr.ResampleStream(self._file.samplerate, rate, self._file.channels,
                                                  dtype="float32", quality="HQ")
        self.path = spec.path
        self._eof = False

    def _chunk(self) -> Frames | None:
        if self._eof:
            return None
        try:
            data = self._file.read(self.CHUNK, dtype="float32", always_2d=True)
        except Exception as exc:  # noqa: BLE001 - a corrupt tail ends the track, never the player
            log.warning("decoding %s stopped early: %s", self.path, exc)
            data = np.zeros((0, self._file.channels), np.float32)
        last = len(data) < self.CHUNK
        if self._resampler is not None:
            data = self._resampler.resample_chunk(data, last=last)
        if last:
            self._eof = True
            self._file.close()
        return _fit_channels(np.asarray(data, dtype=np.float32), self._channels)

    def close(self) -> None:
        super().close()
        with contextlib.suppress(Exception):  # closing twice is fine
            self._file.close()
        self._resampler = None


def open_file_source(spec: TrackSpec, rate: int, channels: int) -> Source:
    return FileSource(spec, rate, channels)

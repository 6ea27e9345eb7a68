"""Replaying a capture (raw monitor bytes, or a session database's received raw frames) as a driver.

The capture is decoded once, up front, by the protocol's pure decoder (values are marked
`Source.REPLAY`). Items are then released in the order they were decoded, each at its *release
time*: the latest monitor time seen so far (a NIBP measurement dated back to its `nibp_time` is
released when the monitor reported it, as live). With a `ManualClock` the driver moves the clock
to each release time before returning the items, so everything downstream (alarm engine,
recorder) runs on the capture's clock and the same capture always yields the same session.
`speed` (options.extra["speed"]: a number or "max") paces the release in real time; "max"
releases one batch per `read` without waiting, stepping through silent stretches a second at a
time so a silence is seen as live. On a running clock (real or accelerated) instead of a manual
one, the replay is paced by the clock's speed and every time is shifted to start "now".

Used from one reader thread; `close()` may be called from another.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from kapmonitor.drivers.base import Decoder, Driver, DriverOptions
from kapmonitor.drivers.errors import PortOpenError
from kapmonitor.drivers.registry import create_decoder
from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import Item, RawFrame, Source, VitalSample, WaveChunk

log = logging.getLogger(__name__)

CHUNK = 4096
GAP_STEP = 1.0  # capture seconds per empty read while replaying a silent stretch at max speed
MAX_GAP_STEPS = 600  # longer silences are jumped over after ten minutes of steps
_SQLITE_MAGIC = b"SQLite format 3\x00"


class CaptureError(PortOpenError):
    """The capture cannot be read (missing, unreadable, not a capture).

    A PortOpenError, so a reader thread treats an unreadable capture like a port that cannot be
    opened (reported, retried with backoff) instead of dying.
    """


def load_capture(path: Path) -> list[bytes]:
    """The received bytes of a capture, in chunks: a raw byte file or a kapmonitor session database."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
            if head != _SQLITE_MAGIC:
                data = head + fh.read()
                return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
    except OSError as exc:
        raise CaptureError(f"cannot read capture {path}: {exc.strerror or exc}") from exc
    from kapmonitor.recording.database import SessionDatabaseError
    from kapmonitor.recording.reader import read_rx_frames

    try:  # read-only, leaving no -wal/-shm beside a closed record; a newer or foreign database refused
        return read_rx_frames(path)
    except SessionDatabaseError as exc:
        raise CaptureError(str(exc)) from None
    except sqlite3.Error as exc:
        raise CaptureError(f"cannot read raw frames from session {path}: {exc}") from exc


def _known_time(item: Item) -> float:
    return item.end_time if isinstance(item, WaveChunk) else item.time


def decode_capture(chunks: list[bytes], decoder: Decoder) -> list[tuple[float, list[Item]]]:
    """Decode every chunk; batches of (release time, items) in order, each with its raw frame first."""
    batches: list[tuple[float, list[Item]]] = []
    latest = -math.inf
    pending_raw: list[bytes] = []
    for i, chunk in enumerate(chunks):
        items = decoder.feed(chunk, latest if latest > -math.inf else 0.0)
        if i == len(chunks) - 1:
            items.extend(decoder.finish())
        pending_raw.append(chunk)
        if not items:
            continue
        groups: dict[float, list[Item]] = {}
        order: list[float] = []
        for item in items:
            latest = max(latest, _known_time(item))
            if isinstance(item, VitalSample | WaveChunk):
                item = replace(item, source=Source.REPLAY)  # provenance: this session is a replay
            if latest not in groups:
                groups[latest] = []
                order.append(latest)
            groups[latest].append(item)
        first = order[0]
        groups[first][0:0] = [RawFrame(first, "rx", b) for b in pending_raw]
        pending_raw = []
        for t in order:
            if batches and batches[-1][0] == t:
                batches[-1][1].extend(groups[t])
            else:
                batches.append((t, groups[t]))
    if pending_raw and batches:  # trailing bytes that completed nothing
        t = batches[-1][0]
        batches[-1][1].extend(RawFrame(t, "rx", b) for b in pending_raw)
    return batches


def _speed(options: DriverOptions, clock: Clock) -> float:
    value = options.extra.get("speed")
    if value is None:
        return clock.speed
    if isinstance(value, str):
        return math.inf if value == "max" else float(value)
    return float(value) if isinstance(value, int | float) else 1.0


class ReplayDriver(Driver):
    """A capture played back through a registered decoder (driver name of the capture's protocol)."""

    name: ClassVar[str] = "replay"
    description: ClassVar[str] = "replay of a recorded capture"
    source: ClassVar[Source] = Source.REPLAY
    serial_settings = None

    def __init__(self, capture_path: Path, decoder_name: str, options: DriverOptions, clock: Clock) -> None:
        super().__init__(options, clock)
        self.capture_path = Path(capture_path)
        self.decoder_name = decoder_name
        self.decoder = create_decoder(decoder_name)  # raises UnknownDriverError early
        self.stats = self.decoder.stats
        self.speed = _speed(options, clock)
        if not self.speed > 0:
            raise ValueError("replay speed must be positive")
        self._batches: list[tuple[float, list[Item]]] | None = None
        self._index = 0
        self._closed = threading.Event()
        self._anchor: tuple[float, float] | None = None  # (monotonic, capture time)
        self._stepped = 0
        self._shift: float | None = None  # set when replaying on a running clock
        self.on_advance: list[Callable[[float], None]] = []

    # -- capture ----------------------------------------------------------------------------------
    def _load(self) -> list[tuple[float, list[Item]]]:
        if self._batches is None:
            chunks = load_capture(self.capture_path)
            try:
                self._batches = decode_capture(chunks, self.decoder)
            except Exception as exc:  # a decoder bug: report it like an unreadable capture
                log.exception("decoding %s", self.capture_path)
                raise CaptureError(f"cannot decode capture {self.capture_path}: {exc}") from exc
            log.info("replay %s: %d batches, %s", self.capture_path, len(self._batches), self.stats)
        return self._batches

    @property
    def start_time(self) -> float | None:
        """Capture time of the first decoded item (None for a capture with nothing in it)."""
        batches = self._load()
        return batches[0][0] if batches else None

    @property
    def end_time(self) -> float | None:
        batches = self._load()
        return batches[-1][0] if batches else None

    @property
    def finished(self) -> bool:
        return self._batches is not None and self._index >= len(self._batches)

    # -- Driver -----------------------------------------------------------------------------------
    @property
    def manual_clock(self) -> bool:
        return callable(getattr(self.clock, "advance_to", None))

    def open(self) -> None:
        self._load()
        self._closed.clear()
        start = self.start_time
        if start is None:
            return
        if self.manual_clock:
            self._advance(start)
        elif self._shift is None:
            # a running clock (real or accelerated): replay "now", every time shifted alike
            self._shift = self.clock.now() - start

    def _advance(self, t: float) -> None:
        advance_to = getattr(self.clock, "advance_to", None)
        if callable(advance_to):
            advance_to(t)
        elif self._shift is not None:
            t += self._shift
        for callback in self.on_advance:
            callback(t)

    def read(self, timeout: float) -> list[Item]:
        batches = self._load()
        if self._index >= len(batches):
            self._closed.wait(timeout)
            return []
        release, items = batches[self._index]
        if math.isinf(self.speed):
            now = self.clock.now()
            if release - now > GAP_STEP and self._stepped < MAX_GAP_STEPS:
                # walk through a silent stretch second by second, as a live reader would see it
                self._stepped += 1
                self._advance(now + GAP_STEP)
                return []
            self._stepped = 0
            self._index += 1
            self._advance(release)
            return self._shifted(items)
        mono = time.monotonic()
        if self._anchor is None:
            self._anchor = (mono, release)
        target = self._anchor[1] + (mono - self._anchor[0]) * self.speed
        if release <= target:
            self._index += 1
            self._advance(release)
            return self._shifted(items)
        wait = min(timeout, (release - target) / self.speed)
        if self._closed.wait(max(0.0, wait)):
            return []
        self._advance(min(release, self._anchor[1] + (time.monotonic() - self._anchor[0]) * self.speed))
        return []

    def _shifted(self, items: list[Item]) -> list[Item]:
        shift = self._shift
        if not shift:
            return items
        return [replace(i, time=i.time + shift) for i in items]

    def close(self) -> None:
        self._closed.set()

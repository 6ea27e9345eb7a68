"""A serial driver for monitors that stream on their own (no requests): Masimo ASCII 1, Ivy ANSAR-B.

The monitor talks whenever it is on, so a session is: open the port, read, decode, close.
Link supervision as for the other drivers: the reader thread turns "no valid value for a while"
into NO_DATA; this class adds NOT_ANSWERING when bytes arrive but never a frame of the protocol
(wrong baud rate, wrong output format on the device), with the hint the subclass gives.

Used from one reader thread; `close()` may be called from another thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import ClassVar

import serial

from kapmonitor.drivers.base import Decoder, Driver, DriverOptions, SerialSettings
from kapmonitor.drivers.errors import LinkLostError, PortOpenError
from kapmonitor.drivers.transport import open_port, read_available
from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import Item, LinkEvent, LinkState, RawFrame

log = logging.getLogger(__name__)

NOISE_LIMIT = 4096  # bytes without a single frame before the link is called "not answering"


class PassiveSerialDriver(Driver):
    """Reads a monitor that streams without being asked; subclasses give the decoder and texts."""

    not_answering_hint: ClassVar[str] = "bytes arrive but no valid frame: check the baud rate and the cable"

    def __init__(self, options: DriverOptions, clock: Clock) -> None:
        super().__init__(options, clock)
        self.decoder = self.make_decoder()
        self.stats = self.decoder.stats
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()
        self._frames_seen = 0
        self._noise_bytes = 0
        self._not_answering = False

    def make_decoder(self) -> Decoder:
        raise NotImplementedError

    def reset_decoder(self) -> None:
        """Forget a partial frame after a re-open (default: a fresh decoder keeping the stats)."""

    def open(self) -> None:
        if not self.options.port:
            raise PortOpenError(f"{self.name} needs a serial port (--port)")
        port = open_port(self.options.port, self.serial_settings or SerialSettings(), self.options.baudrate)
        with self._lock:
            self._port = port
        self.reset_decoder()
        self._frames_seen = self.stats.frames
        self._noise_bytes = 0
        self._not_answering = False

    def read(self, timeout: float) -> list[Item]:
        port = self._port
        if port is None:
            raise LinkLostError("port closed")
        data = read_available(port, self.options.port)
        if not data:
            return []
        self.stats.bytes_in += len(data)
        now = self.clock.now()
        items: list[Item] = [RawFrame(now, "rx", bytes(data))]
        items.extend(self.decoder.feed(bytes(data), now))
        if self.stats.frames != self._frames_seen:
            self._frames_seen = self.stats.frames
            self._noise_bytes = 0
            self._not_answering = False
        elif not self._not_answering:
            self._noise_bytes += len(data)
            if self._noise_bytes > NOISE_LIMIT:
                self._not_answering = True
                items.append(LinkEvent(now, LinkState.NOT_ANSWERING, self.not_answering_hint))
        return items

    def close(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        if port is None:
            return
        try:
            port.close()
        except Exception:
            log.debug("%s: closing port", self.name, exc_info=True)


def run_stream_emulator(port_url: str, settings: SerialSettings, speed: float, stop: threading.Event,
                        next_second: Callable[[], bytes | None], what: str) -> None:
    """The monitor's side of a streaming protocol: write `next_second()` once per (emulated) second.

    Re-opens the port while it is gone (a cable pulled) and keeps its own emulated clock, so
    seconds missed while the port was away are skipped, not sent in a burst. Runs in the calling
    thread until `stop` is set; `next_second` returns None for a silent second.
    """
    speed = speed if speed > 0 else 1.0
    mono0 = time.monotonic()
    sent = 0
    port: serial.SerialBase | None = None
    warned = False
    while not stop.is_set():
        if port is None:
            try:
                port = open_port(port_url, settings, timeout=0.02)
            except Exception as exc:  # noqa: BLE001 - PortOpenError, or termios.error while the device vanishes
                if not warned:
                    log.warning("%s emulator: %s (retrying)", what, exc)
                    warned = True
                stop.wait(0.2)
                continue
            warned = False
            sent = int((time.monotonic() - mono0) * speed)  # no burst of the seconds the port was away
            log.info("%s emulator on %s", what, port_url)
        due = int((time.monotonic() - mono0) * speed)
        try:
            while sent < due and not stop.is_set():
                sent += 1
                data = next_second()
                if data:
                    port.write(data)
            port.read(max(1, port.in_waiting))  # whatever the PC sends is ignored (output-only protocols)
        except (serial.SerialException, OSError, TypeError) as exc:
            log.info("%s emulator: port %s lost (%s); waiting for it to return", what, port_url, exc)
            try:
                port.close()
            except Exception:
                log.debug("closing emulator port", exc_info=True)
            port = None
            stop.wait(0.2)
            continue
        stop.wait(min(0.2, 0.5 / speed))
    if port is not None:
        try:
            port.close()
        except Exception:
            log.debug("closing emulator port", exc_info=True)

"""The small base every monitor driver implements.

A driver turns a byte stream (or, for the simulator, a model) into `Item`s. It is used from one
reader thread only, so it needs no locking of its own; `close()` may be called from another
thread to stop a blocking read.

Real drivers split into a pure decoder (`feed(bytes, arrival_time) -> items`, no I/O, fuzzable,
used by `kapmonitor decode`) and the driver proper, which owns the transport, sends requests
and runs the protocol's session.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import Item, Source


@dataclass(frozen=True)
class SerialSettings:
    """Port settings a driver asks for; the nurse's README section documents the same."""

    baudrate: int = 19200
    bytesize: int = 8
    parity: str = "N"  # pyserial: "N", "E", "O"
    stopbits: float = 1
    rtscts: bool = False
    alternative_baudrates: tuple[int, ...] = ()


@dataclass
class DriverOptions:
    """Everything a driver may be configured with from the command line or the GUI."""

    port: str | None = None
    baudrate: int | None = None
    scenario: str = "normal"
    seed: int = 0
    waves: bool = True
    extra: dict[str, object] = field(default_factory=dict)

    def float_option(self, key: str, default: float) -> float:
        """A numeric driver option from `extra`, or `default` when absent or not a number."""
        value = self.extra.get(key, default)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


@dataclass
class DriverStats:
    """Counters a driver keeps; read from other threads (plain ints: atomic enough for display)."""

    frames: int = 0
    checksum_errors: int = 0
    length_errors: int = 0
    resyncs: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


class Driver(ABC):
    """One monitor connection.

    Lifecycle: `open()` → repeated `read(timeout)` → `close()`. `read` returns whatever items
    became available (possibly none) within about `timeout` seconds of real time and must not
    block much longer. It raises `LinkLostError` when the port went away; the reader thread
    then closes and re-opens the driver with backoff.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    source: ClassVar[Source] = Source.MONITOR
    serial_settings: ClassVar[SerialSettings | None] = None  # None: no serial port (simulator)
    # whether `request_nibp` can really start the cuff: the GUI offers "Measure NIBP now" only then
    can_start_nibp: ClassVar[bool] = False
    # whether the monitor measures NIBP at all (False: a pulse oximeter; the NIBP tile offers manual entry)
    has_nibp: ClassVar[bool] = True
    # a network driver (HL7 over TCP): its port is an address like `default_port`, not a serial device
    network_port: ClassVar[bool] = False
    default_port: ClassVar[str] = ""

    def __init__(self, options: DriverOptions, clock: Clock) -> None:
        self.options = options
        self.clock = clock
        self.stats = DriverStats()

    @property
    def is_simulated(self) -> bool:
        return self.source is Source.SIMULATED

    @abstractmethod
    def open(self) -> None:
        """Open the port and start the protocol session. Raises PortOpenError."""

    @abstractmethod
    def read(self, timeout: float) -> list[Item]:
        """Items available within about `timeout` seconds. Raises LinkLostError."""

    @abstractmethod
    def close(self) -> None:
        """End the protocol session politely if possible and release the port. Idempotent."""

    def request_nibp(self) -> bool:
        """Ask the monitor to start a NIBP measurement now. False when the device cannot
        (then `can_start_nibp` is False too)."""
        return False


class Decoder(ABC):
    """A protocol's pure byte-stream decoder: no I/O, no clock, safe to fuzz.

    `feed` takes bytes as they arrived and returns the items decoded so far; a broken frame is
    counted in `stats` and skipped, never raised. Item times come from the monitor's clock when
    the protocol carries one, otherwise from `arrival_time`.
    """

    name: ClassVar[str]

    def __init__(self) -> None:
        self.stats = DriverStats()

    @abstractmethod
    def feed(self, data: bytes, arrival_time: float) -> list[Item]:
        """Decode `data`; return every item completed by it."""

    def finish(self) -> list[Item]:
        """Items still held back at the end of a stream (default: none)."""
        return []

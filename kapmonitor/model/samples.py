"""What drivers produce and listeners consume.

All items are immutable and carry their own time (seconds since the Unix epoch, UTC), taken
from the monitor's clock where the protocol has one, otherwise from the pipeline's clock.
Items are safe to hand between threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import numpy.typing as npt

from kapmonitor.model.parameters import Parameter


class Status(str, Enum):
    """Why a value is (not) usable. `OK` is the only status whose value may be shown as valid."""

    OK = "ok"
    INVALID = "invalid"
    NOT_UPDATED = "not-updated"
    OLD = "old"
    MEASURING = "measuring"
    UNAVAILABLE = "unavailable"
    UNDER_RANGE = "under-range"
    OVER_RANGE = "over-range"
    NOT_CALIBRATED = "not-calibrated"
    DISCONTINUITY = "discontinuity"
    QUESTIONABLE = "questionable"
    CALIBRATING = "calibrating"
    DEMO = "demo"
    TEST = "test"
    SENSOR_OFF = "sensor-off"
    ARTIFACT = "artifact"
    IMPLAUSIBLE = "implausible"
    NO_SENSOR = "no-sensor"  # no sensor connected to the oximeter
    SENSOR_FAULT = "sensor-fault"  # sensor defective or not recognised by the monitor

    def __str__(self) -> str:
        return self.value


class Source(str, Enum):
    """Where a value came from; recorded with every sample."""

    MONITOR = "monitor"
    SIMULATED = "simulated"
    MANUAL = "manual"
    REPLAY = "replay"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class VitalSample:
    """One numeric value of one parameter.

    `value` is None when the monitor reported no usable number (then `status` says why).
    For NIBP, `time` is the measurement time, and `measurement_id` ties the sys/dia/mean/pulse
    values of one cuff measurement together (all four share it).
    """

    time: float
    parameter: Parameter
    value: float | None
    status: Status = Status.OK
    source: Source = Source.MONITOR
    measurement_id: str | None = None

    @property
    def valid(self) -> bool:
        return self.status is Status.OK and self.value is not None


@dataclass(frozen=True, slots=True, eq=False)
class WaveChunk:
    """Consecutive samples of a waveform at a fixed rate; NaN marks a sample with no valid value."""

    time: float  # time of values[0]
    parameter: Parameter
    rate_hz: float
    values: npt.NDArray[np.float32]
    source: Source = Source.MONITOR

    @property
    def end_time(self) -> float:
        return self.time + len(self.values) / self.rate_hz


class LinkState(str, Enum):
    """State of the link to a monitor, as the nurse sees it in the status bar."""

    CONNECTING = "connecting"
    CONNECTED = "connected"  # port open, valid data flowing
    NO_DATA = "no-data"  # port open, nothing valid received recently
    NOT_ANSWERING = "not-answering"  # port open, but what arrives is not a monitor talking
    DISCONNECTED = "disconnected"  # port gone; reconnecting with backoff
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """A change of the link state, with a human-readable detail."""

    time: float
    state: LinkState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RawFrame:
    """Bytes exactly as they crossed the wire, kept so that every session can be replayed."""

    time: float
    direction: str  # "rx" from the monitor, "tx" to it
    data: bytes


@dataclass(frozen=True, slots=True)
class DeviceNotice:
    """Something the driver wants the nurse (and the record) to know that is not a value."""

    time: float
    code: str  # stable id, e.g. "echo-detected", "checksum-errors"
    message: str
    details: dict[str, object] = field(default_factory=dict)


Item = VitalSample | WaveChunk | LinkEvent | RawFrame | DeviceNotice

"""A Masimo pulse oximeter's serial ASCII 1 output, driven by the simulator's physiology.

One Rad-8-style line a second (`MM/DD/YY HH:MM:SS SN=… SPO2=098% BPM=072 PI=… ALARM=0000
EXC=000800`, CR LF). `sensor` plays what the nurse meets at the bedside:
`on` (normal), `off` (sensor off the patient), `none` (no sensor connected) or `cycle`
(repeating: 30 s normal, 10 s sensor off, 30 s normal, 10 s no sensor; emulated seconds).

Runs in the calling thread until `stop` is set.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import UTC, datetime

from kapmonitor.drivers.masimo.decoder import EXC_NO_SENSOR, EXC_SENSOR_OFF, EXC_SET
from kapmonitor.drivers.masimo.driver import MasimoAscii1Driver
from kapmonitor.drivers.passive import run_stream_emulator
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, VitalSample

log = logging.getLogger(__name__)

SENSOR_MODES = ("on", "off", "none", "cycle")
SERIAL_NUMBER = "0000012345"
_CYCLE: tuple[tuple[int, int], ...] = ((30, 0), (10, EXC_SENSOR_OFF), (30, 0), (10, EXC_NO_SENSOR))


def exception_at(mode: str, second: int) -> int:
    """The EXC bits (besides SET) the emulated oximeter reports in its `second`-th line."""
    if mode == "off":
        return EXC_SENSOR_OFF
    if mode == "none":
        return EXC_NO_SENSOR
    if mode == "cycle":
        k = second % sum(n for n, _ in _CYCLE)
        for n, bits in _CYCLE:
            if k < n:
                return bits
            k -= n
    return 0


def format_line(t: float, spo2: float | None, bpm: float | None, pi: float | None, exc: int, alarm: int = 0) -> bytes:
    """One ASCII 1 line as a Rad-8 writes it (the device clock printed as MM/DD/YY HH:MM:SS)."""
    stamp = datetime.fromtimestamp(t, UTC).strftime("%m/%d/%y %H:%M:%S")
    spo2_s = f"{round(spo2):03d}" if spo2 is not None else "---"
    bpm_s = f"{round(bpm):03d}" if bpm is not None else "---"
    pi_s = f"{pi:05.2f}" if pi is not None else "--.--"
    line = (f"{stamp} SN={SERIAL_NUMBER} SPO2={spo2_s}% BPM={bpm_s} PI={pi_s}% SPCO=--.-% SPMET=--.-% "
            f"DESAT=-- PIDELTA=+-- ALARM={alarm:04X} EXC={exc:06X}\r\n")
    return line.encode("ascii")


class MasimoEmulatorState:
    """The emulated oximeter: the patient and the sensor sequence. Pure; one thread."""

    def __init__(self, patient: SimulatedPatient, sensor: str = "on") -> None:
        if sensor not in SENSOR_MODES:
            raise ValueError(f"unknown sensor mode {sensor!r} (known: {', '.join(SENSOR_MODES)})")
        self.patient = patient
        self.sensor = sensor
        self.second = 0

    def next_line(self) -> bytes | None:
        t = self.patient.next_second_time
        items = self.patient.next_second()
        n, self.second = self.second, self.second + 1
        if self.patient.is_silent(t):
            return None
        values: dict[Parameter, float | None] = {Parameter.SPO2: None, Parameter.PULSE_RATE: None}
        for item in items:
            if isinstance(item, VitalSample) and item.parameter in values:
                values[item.parameter] = item.value if item.valid else None
        exc = exception_at(self.sensor, n)
        if exc:
            return format_line(t, None, None, None, exc | EXC_SET)
        pi = 3.0 + 0.8 * math.sin(n / 7.0)
        return format_line(t, values[Parameter.SPO2], values[Parameter.PULSE_RATE], pi, EXC_SET)


def run_emulator(port_url: str, scenario: str = "normal", speed: float = 1.0, seed: int = 0,
                 stop: threading.Event | None = None, sensor: str = "on") -> None:
    """Play a Masimo oximeter on `port_url` until `stop` is set (Ctrl-C in the CLI)."""
    stop = stop or threading.Event()
    start = float(math.floor(time.time()))
    state = MasimoEmulatorState(SimulatedPatient(start, scenario, seed, source=Source.MONITOR), sensor)
    settings = MasimoAscii1Driver.serial_settings
    assert settings is not None
    run_stream_emulator(port_url, settings, speed, stop, state.next_line, "Masimo")

"""An Ivy 450C's serial ANSAR-B output, driven by the simulator's physiology.

One frame a second, laid out as in the recorded capture: `0xFF "ANSAR-B "`, 400 waveform bytes
(ECG, resp, pleth at baseline 86, P1, P2 with no transducer), the text lines (`HR=1;…`, `RR=…`,
`ETCO2=…`, `SPO2=1;98;PR=72 ;`, `NIBP=4;sys;dia;mean;pulse;;`, P1/P2/T1/T2 empty) and `0xFE`.
RR and EtCO2 are not in the simulated physiology: they are played as a calm breathing
patient (about 14 /min, EtCO2 about 38 mmHg). The last NIBP result stays in the frame until the
next one, as on the monitor.

Runs in the calling thread until `stop` is set.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import numpy as np

from kapmonitor.drivers.ivy.decoder import HEADER, PLETH_BASE
from kapmonitor.drivers.ivy.driver import Ivy450cDriver
from kapmonitor.drivers.passive import run_stream_emulator
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample, WaveChunk

log = logging.getLogger(__name__)


def _field(value: float | None) -> str:
    return "" if value is None else f"{round(value)}"


class IvyEmulatorState:
    """The emulated monitor: the patient and the NIBP shown. Pure; one thread."""

    def __init__(self, patient: SimulatedPatient) -> None:
        self.patient = patient
        self.nibp: dict[Parameter, float] = {}
        self.second = 0

    def next_frame(self) -> bytes | None:
        t = self.patient.next_second_time
        items = self.patient.next_second()
        n, self.second = self.second, self.second + 1
        if self.patient.is_silent(t):
            return None
        values: dict[Parameter, float | None] = {Parameter.HR: None, Parameter.SPO2: None,
                                                 Parameter.PULSE_RATE: None}
        pleth = np.zeros(50, dtype=np.float32)
        for item in items:
            if isinstance(item, VitalSample):
                if item.parameter in values:
                    values[item.parameter] = item.value if item.valid else None
                elif item.parameter.value.startswith("nibp") and item.status is Status.OK and item.value is not None:
                    self.nibp[item.parameter] = item.value
            elif isinstance(item, WaveChunk) and item.parameter is Parameter.PLETH:
                src = item.values
                pleth = src[np.linspace(0, len(src) - 1, 50).astype(int)]
        hr = values[Parameter.HR] or 75.0
        k = np.arange(200) / 200.0
        beat = (k * hr / 60.0) % 1.0
        ecg = 100 + 60 * np.exp(-(((beat - 0.3) / 0.015) ** 2)) - 8 * np.exp(-(((beat - 0.34) / 0.02) ** 2))
        resp = 100 + 40 * np.sin(2 * np.pi * (n + np.arange(50) / 50.0) / 4.3)
        pleth_b = PLETH_BASE + 60.0 * np.nan_to_num(pleth)
        p1 = np.full(50, 80.0)
        p2 = np.full(50, 251, dtype=np.uint8)  # no transducer, as in the capture
        wave = np.concatenate([np.concatenate([ecg, resp, pleth_b, p1]).clip(0, 250).astype(np.uint8), p2])
        rr = 14.0 + 1.5 * math.sin(n / 40.0)
        etco2 = 38.0 + 2.0 * math.sin(n / 90.0)
        nibp = [self.nibp.get(p) for p in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN,
                                           Parameter.NIBP_PULSE)]
        lines = [
            f"HR=1;{_field(values[Parameter.HR])};ECG-II-DIAG;",
            f"RR=1;{_field(rr)};APNEA: 20 SEC;",
            f"ETCO2=1;{_field(etco2)};;",
            f"SPO2=1;{_field(values[Parameter.SPO2])};PR={_field(values[Parameter.PULSE_RATE])} ;",
            "NIBP=4;" + ";".join(_field(v) for v in nibp) + ";;",
            "P1=3;;;;;",
            "P2=3;;;;NO TRANSDUCER;",
            "T1=1;;;",
            "T2=1;;;",
        ]
        text = "".join(line + "\r" for line in lines).encode("ascii")
        return HEADER + wave.tobytes() + text + b"\xfe"


def run_emulator(port_url: str, scenario: str = "normal", speed: float = 1.0, seed: int = 0,
                 stop: threading.Event | None = None) -> None:
    """Play an Ivy 450C on `port_url` until `stop` is set (Ctrl-C in the CLI)."""
    stop = stop or threading.Event()
    start = float(math.floor(time.time()))
    state = IvyEmulatorState(SimulatedPatient(start, scenario, seed, source=Source.MONITOR))
    settings = Ivy450cDriver.serial_settings
    assert settings is not None
    run_stream_emulator(port_url, settings, speed, stop, state.next_frame, "Ivy 450C")

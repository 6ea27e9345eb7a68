"""The built-in simulated monitor: plausible KAP physiology, deterministic for a seed.

`SimulatedPatient` is the physiology (no I/O, no clock): asked for the data of the next
simulated second, it returns the items of that second. Every second's randomness comes from
its own generator seeded with (seed, second), and state advances strictly second by second, so
the same seed gives the same data however the reads are timed. The monitor emulators reuse it.

`SimulatedMonitor` is the driver: it releases the patient's data as the (possibly accelerated)
clock passes it. Everything it produces is marked `Source.SIMULATED`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from kapmonitor.drivers.base import Driver, DriverOptions
from kapmonitor.model.clock import Clock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Source, Status, VitalSample, WaveChunk

log = logging.getLogger(__name__)

SCENARIOS: dict[str, str] = {
    "normal": "typical KAP response: BP +15/+10 mmHg and HR +10/min peaking near minute 40",
    "hypertensive": "severe rise: systolic crosses 180 mmHg around minute 35 of the infusion",
    "desaturation": "SpO2 falls below 88 % for about 4 minutes from minute 20",
    "bradycardia": "heart rate falls to about 42/min from minute 25 for about 5 minutes",
    "link-loss": "the monitor falls silent for 30 s at minute 15",
    "artifact": "motion artifact: bursts of implausible and invalid values, a noisy pleth",
}

PLETH_RATE_HZ = 100.0
NIBP_CYCLE_S = 30.0


@dataclass(frozen=True)
class ScenarioTimes:
    """Scenario events in seconds after the infusion starts."""

    link_loss_start: float = 15 * 60.0
    link_loss_duration: float = 30.0
    desat_start: float = 20 * 60.0
    desat_duration: float = 6 * 60.0
    brady_start: float = 25 * 60.0
    brady_duration: float = 5 * 60.0


def drug_effect(minutes_since_start: float, infusion_min: float = 40.0) -> float:
    """0..1: the haemodynamic effect of the infusion, rising to a peak near its end, settling over ~90 min."""
    x = minutes_since_start
    if x <= 0:
        return 0.0
    if x <= infusion_min:
        return float((x / infusion_min) ** 1.3)
    return float(math.exp(-(x - infusion_min) / 30.0))


class SimulatedPatient:
    """Second-by-second physiology of one simulated session.

    Not thread-safe on its own: one owner (the driver's reader thread or an emulator) calls
    `next_second()`; `set_infusion_start` and `request_nibp` are safe from other threads.
    """

    def __init__(
        self,
        start_time: float,
        scenario: str = "normal",
        seed: int = 0,
        nibp_interval_s: float = 300.0,
        infusion_start: float | None = None,
        source: Source = Source.SIMULATED,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r} (known: {', '.join(SCENARIOS)})")
        self.start_time = float(start_time)
        self.scenario = scenario
        self.seed = int(seed)
        self.nibp_interval_s = float(nibp_interval_s)
        self.source = source
        self.times = ScenarioTimes()
        self._lock = threading.Lock()
        self._infusion_start = self.start_time + 60.0 if infusion_start is None else infusion_start
        self._second = 0
        self._beat_phase = 0.0
        self._nibp_next = self.start_time  # first (baseline) measurement at once
        self._nibp_started: float | None = None
        self._nibp_count = 0
        self._nibp_on_demand = False

    # -- control (any thread) -------------------------------------------------------------
    @property
    def infusion_start(self) -> float:
        with self._lock:
            return self._infusion_start

    def set_infusion_start(self, t: float) -> None:
        """Align the drug effect with the infusion the nurse actually started."""
        with self._lock:
            self._infusion_start = t

    def request_nibp(self) -> None:
        with self._lock:
            self._nibp_on_demand = True

    @property
    def next_second_time(self) -> float:
        return self.start_time + self._second

    # -- physiology ----------------------------------------------------------------------------
    def _rng(self, n: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, n, stream])

    def is_silent(self, t: float) -> bool:
        """True while the link-loss scenario keeps the monitor silent."""
        if self.scenario != "link-loss":
            return False
        s = t - self.infusion_start - self.times.link_loss_start
        return 0.0 <= s < self.times.link_loss_duration

    def true_vitals(self, t: float) -> dict[str, float]:
        """Noise-free physiology at time t: sys, dia, hr, spo2."""
        minutes = (t - self.infusion_start) / 60.0
        e = drug_effect(minutes)
        drift = 2.0 * math.sin(2 * math.pi * (t - self.start_time) / 1800.0)
        sys_rise, dia_rise, hr_rise = 15.0, 10.0, 10.0
        if self.scenario == "hypertensive":
            sys_rise, dia_rise, hr_rise = 67.0, 32.0, 22.0
        sys_bp = 125.0 + sys_rise * e + drift
        dia_bp = 80.0 + dia_rise * e + 0.6 * drift
        hr = 75.0 + hr_rise * e + 0.8 * drift
        spo2 = 98.0 + 0.4 * math.sin(2 * math.pi * (t - self.start_time) / 600.0)
        since = t - self.infusion_start
        if self.scenario == "desaturation":
            s = since - self.times.desat_start
            if 0 <= s < self.times.desat_duration:
                ramp = min(1.0, s / 60.0, (self.times.desat_duration - s) / 60.0)
                spo2 -= 12.0 * ramp
        if self.scenario == "bradycardia":
            s = since - self.times.brady_start
            if 0 <= s < self.times.brady_duration:
                ramp = min(1.0, s / 45.0, (self.times.brady_duration - s) / 45.0)
                hr -= (hr - 42.0) * ramp
        return {"sys": sys_bp, "dia": dia_bp, "hr": hr, "spo2": spo2}

    def next_second(self) -> list[Item]:
        """All items of the next simulated second, in time order."""
        n = self._second
        t = self.start_time + n
        self._second += 1
        rng = self._rng(n, 1)
        truth = self.true_vitals(t)
        items: list[Item] = []
        hr = truth["hr"] + rng.normal(0.0, 1.2)
        spo2 = min(100.0, truth["spo2"] + rng.normal(0.0, 0.3))
        pleth = self._pleth_second(t, hr, n)
        silent = self.is_silent(t)
        artifact = self.scenario == "artifact" and (n % 240) < 12
        if not silent:
            if artifact and n % 3 == 0:
                items.append(VitalSample(t, Parameter.HR, float(rng.uniform(180, 260)), Status.OK, self.source))
                items.append(VitalSample(t, Parameter.SPO2, None, Status.ARTIFACT, self.source))
                items.append(VitalSample(t, Parameter.PULSE_RATE, None, Status.ARTIFACT, self.source))
                pleth = pleth + rng.normal(0.0, 0.8, pleth.shape).astype(np.float32)
            else:
                items.append(VitalSample(t, Parameter.HR, round(hr), Status.OK, self.source))
                items.append(VitalSample(t, Parameter.SPO2, round(spo2, 1), Status.OK, self.source))
                pulse = round(hr + rng.normal(0, 0.7))
                items.append(VitalSample(t, Parameter.PULSE_RATE, pulse, Status.OK, self.source))
            items.append(WaveChunk(t, Parameter.PLETH, PLETH_RATE_HZ, pleth, self.source))
        items.extend(self._nibp_step(t, silent))
        return items

    def _pleth_second(self, t: float, hr: float, n: int) -> npt.NDArray[np.float32]:
        """One second of a photoplethysmogram: systolic peak and dicrotic wave per beat."""
        rng = self._rng(n, 2)
        k = np.arange(int(PLETH_RATE_HZ)) / PLETH_RATE_HZ
        phase = self._beat_phase + k * (hr / 60.0)
        self._beat_phase = float((self._beat_phase + hr / 60.0) % 1.0)
        p = phase % 1.0
        wave = np.exp(-(((p - 0.18) / 0.07) ** 2)) + 0.35 * np.exp(-(((p - 0.45) / 0.09) ** 2))
        resp = 1.0 + 0.06 * np.sin(2 * np.pi * (t - self.start_time + k) / 4.0)
        values = wave * resp + rng.normal(0.0, 0.01, k.shape)
        return values.astype(np.float32)

    def _nibp_step(self, t: float, silent: bool) -> list[Item]:
        """Cuff cycles: start on schedule or on demand, result after NIBP_CYCLE_S."""
        out: list[Item] = []
        with self._lock:
            on_demand = self._nibp_on_demand
            self._nibp_on_demand = False
        if self._nibp_started is None and (t >= self._nibp_next or on_demand):
            self._nibp_started = t
            if t >= self._nibp_next:
                missed = math.floor((t - self._nibp_next) / self.nibp_interval_s)
                self._nibp_next += self.nibp_interval_s * max(1, missed + 1)
            if not silent:
                out.append(VitalSample(t, Parameter.NIBP_SYS, None, Status.MEASURING, self.source))
        elif self._nibp_started is not None and t - self._nibp_started >= NIBP_CYCLE_S:
            started = self._nibp_started
            self._nibp_started = None
            self._nibp_count += 1
            if silent:
                return out  # the result is lost with the link, as on a real monitor's data port
            rng = self._rng(int(started - self.start_time), 3)
            truth = self.true_vitals(started + NIBP_CYCLE_S / 2)
            sys_bp = round(truth["sys"] + rng.normal(0.0, 3.0))
            dia_bp = round(truth["dia"] + rng.normal(0.0, 2.0))
            mean_bp = round(dia_bp + (sys_bp - dia_bp) / 3.0)
            pulse = round(truth["hr"] + rng.normal(0.0, 1.0))
            mid = f"sim-{self.seed}-{self._nibp_count}"
            for parameter, value in (
                (Parameter.NIBP_SYS, sys_bp),
                (Parameter.NIBP_DIA, dia_bp),
                (Parameter.NIBP_MEAN, mean_bp),
                (Parameter.NIBP_PULSE, pulse),
            ):
                out.append(VitalSample(t, parameter, float(value), Status.OK, self.source, mid))
        return out


class SimulatedMonitor(Driver):
    """Driver `simulated`: a SimulatedPatient released on the pipeline's clock."""

    name: ClassVar[str] = "simulated"
    description: ClassVar[str] = "built-in simulated monitor (no patient connected)"
    source: ClassVar[Source] = Source.SIMULATED
    serial_settings = None
    can_start_nibp: ClassVar[bool] = True  # the simulated cuff cycles on demand

    def __init__(self, options: DriverOptions, clock: Clock) -> None:
        super().__init__(options, clock)
        if options.scenario not in SCENARIOS:
            from kapmonitor.drivers.errors import DriverError

            raise DriverError(f"unknown scenario {options.scenario!r} (known: {', '.join(SCENARIOS)})")
        self._nibp_interval = options.float_option("nibp_interval_s", 300.0)
        self.patient: SimulatedPatient | None = None
        self._pending: list[Item] = []
        self._closed = threading.Event()

    def open(self) -> None:
        start = float(math.floor(self.clock.now()))
        if self.patient is None:
            self.patient = SimulatedPatient(start, self.options.scenario, self.options.seed, self._nibp_interval)
        self._closed.clear()
        log.info("simulated monitor, scenario %s, seed %d", self.options.scenario, self.options.seed)

    def read(self, timeout: float) -> list[Item]:
        patient = self.patient
        if patient is None:
            return []
        now = self.clock.now()
        if patient.next_second_time > now and not self._pending:
            # nothing due yet: wait (in real time) until the next second or the timeout
            wait = min(timeout, (patient.next_second_time - now) / max(self.clock.speed, 1e-9))
            if wait > 0 and self._closed.wait(min(wait, timeout)):
                return []
            now = self.clock.now()
        while patient.next_second_time <= now:
            self._pending.extend(patient.next_second())
        due = [i for i in self._pending if _item_time(i) <= now]
        self._pending = [i for i in self._pending if _item_time(i) > now]
        return due

    def close(self) -> None:
        self._closed.set()

    def request_nibp(self) -> bool:
        if self.patient is not None:
            self.patient.request_nibp()
            return True
        return False

    def set_infusion_start(self, t: float) -> None:
        if self.patient is not None:
            self.patient.set_infusion_start(t)


def _item_time(item: Item) -> float:
    return item.time


def run_patient_for(patient: SimulatedPatient, seconds: float) -> list[Item]:
    """All items of the next `seconds` of `patient` (for tests and emulators)."""
    out: list[Item] = []
    end = patient.next_second_time + seconds
    while patient.next_second_time < end:
        out.extend(patient.next_second())
    return out


__all__ = ["SCENARIOS", "SimulatedMonitor", "SimulatedPatient", "drug_effect", "run_patient_for", "time"]

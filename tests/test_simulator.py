"""The simulated monitor: plausible KAP physiology, scenarios, NIBP as a measurement, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SCENARIOS, SimulatedMonitor, SimulatedPatient, run_patient_for
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Source, Status, VitalSample, WaveChunk

T0 = 1_800_000_000.0


def values(items: list[Item], parameter: Parameter) -> list[tuple[float, float]]:
    return [(i.time, i.value) for i in items if isinstance(i, VitalSample) and i.parameter is parameter and i.valid]


def mean_between(series: list[tuple[float, float]], a: float, b: float) -> float:
    return float(np.mean([v for t, v in series if a <= t < b]))


def test_normal_session_baseline_rise_and_settling() -> None:
    patient = SimulatedPatient(T0, "normal", seed=1)
    items = run_patient_for(patient, 3 * 3600)
    start = patient.infusion_start
    hr = values(items, Parameter.HR)
    spo2 = values(items, Parameter.SPO2)
    sys_bp = values(items, Parameter.NIBP_SYS)
    # baseline around 125/80, HR around 75, SpO2 97-99
    assert 70 <= mean_between(hr, T0, start) <= 80
    assert all(96.0 <= v <= 100.0 for _, v in spo2)
    baseline_sys = [v for t, v in sys_bp if t < start]
    assert baseline_sys and 115 <= baseline_sys[0] <= 135
    # rise peaking near minute 40 (about +15 mmHg, +10/min), then settling over the next 90 minutes
    peak_hr = mean_between(hr, start + 35 * 60, start + 42 * 60)
    assert peak_hr - mean_between(hr, T0, start) > 6
    late_hr = mean_between(hr, start + 130 * 60, start + 140 * 60)
    assert late_hr < peak_hr - 5
    peak_sys = [v for t, v in sys_bp if start + 30 * 60 <= t <= start + 45 * 60]
    assert max(peak_sys) - baseline_sys[0] > 8


def test_nibp_is_a_scheduled_measurement_taking_30_seconds() -> None:
    patient = SimulatedPatient(T0, "normal", seed=2, nibp_interval_s=300)
    items = run_patient_for(patient, 1800)
    measuring = [i.time for i in items if isinstance(i, VitalSample) and i.status is Status.MEASURING]
    results = [i for i in items if isinstance(i, VitalSample) and i.parameter is Parameter.NIBP_SYS and i.valid]
    assert measuring[:3] == [T0, T0 + 300, T0 + 600]
    assert [r.time - m for r, m in zip(results, measuring, strict=False)] == [30.0] * len(results)
    assert len(results) == 6
    # the four values of one measurement share an id and a time
    first = [i for i in items if isinstance(i, VitalSample) and i.measurement_id == results[0].measurement_id]
    assert {i.parameter for i in first} == {Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN,
                                            Parameter.NIBP_PULSE}
    assert len({i.time for i in first}) == 1


def test_on_demand_nibp() -> None:
    patient = SimulatedPatient(T0, "normal", seed=2)
    run_patient_for(patient, 100)
    patient.request_nibp()
    items = run_patient_for(patient, 40)
    assert any(isinstance(i, VitalSample) and i.status is Status.MEASURING for i in items)
    assert values(items, Parameter.NIBP_SYS)


def test_hr_spo2_every_second_and_pleth_at_100_hz() -> None:
    items = run_patient_for(SimulatedPatient(T0, "normal", seed=3), 60)
    assert len(values(items, Parameter.HR)) == 60
    assert len(values(items, Parameter.SPO2)) == 60
    waves = [i for i in items if isinstance(i, WaveChunk)]
    assert sum(len(w.values) for w in waves) == 6000
    assert all(w.rate_hz == 100.0 for w in waves)
    # a real pulse wave: the dominant frequency is the heart rate
    signal = np.concatenate([w.values for w in waves]).astype(float)
    spectrum = np.abs(np.fft.rfft(signal - signal.mean()))
    freq = np.fft.rfftfreq(len(signal), 1 / 100.0)[np.argmax(spectrum)]
    hr = np.mean([v for _, v in values(items, Parameter.HR)])
    assert abs(freq * 60 - hr) < 6


def test_hypertensive_crosses_180_around_minute_35() -> None:
    patient = SimulatedPatient(T0, "hypertensive", seed=4, nibp_interval_s=60)
    items = run_patient_for(patient, 60 * 60)
    start = patient.infusion_start
    sys_bp = values(items, Parameter.NIBP_SYS)
    first_over = min(t for t, v in sys_bp if v >= 180)
    assert 30 * 60 <= first_over - start <= 40 * 60


@pytest.mark.parametrize(
    ("scenario", "check"),
    [
        ("desaturation", lambda items, s: min(v for _, v in values(items, Parameter.SPO2)) < 88),
        ("bradycardia", lambda items, s: min(v for _, v in values(items, Parameter.HR)) < 47),
        ("artifact", lambda items, s: any(isinstance(i, VitalSample) and i.status is Status.ARTIFACT for i in items)),
    ],
)
def test_scenarios(scenario: str, check) -> None:  # type: ignore[no-untyped-def]
    patient = SimulatedPatient(T0, scenario, seed=5)
    items = run_patient_for(patient, 45 * 60)
    assert check(items, patient)


def test_link_loss_falls_silent_for_30_seconds() -> None:
    patient = SimulatedPatient(T0, "link-loss", seed=6)
    items = run_patient_for(patient, 20 * 60)
    hr_times = np.array([t for t, _ in values(items, Parameter.HR)])
    gaps = np.diff(hr_times)
    assert gaps.max() == 31.0  # 30 silent seconds between two values
    silent_from = hr_times[np.argmax(gaps)] + 1
    assert silent_from - patient.infusion_start == 15 * 60


def test_everything_is_labelled_simulated() -> None:
    items = run_patient_for(SimulatedPatient(T0, "normal", seed=7), 400)
    assert all(i.source is Source.SIMULATED for i in items if isinstance(i, VitalSample | WaveChunk))


def test_same_seed_same_data_however_it_is_read() -> None:
    def read_all(step: float) -> list[tuple[object, ...]]:
        clock = ManualClock(T0)
        drv = SimulatedMonitor(DriverOptions(scenario="artifact", seed=11), clock)
        drv.open()
        out: list[tuple[object, ...]] = []
        while clock.now() < T0 + 900:
            clock.advance(step)
            for item in drv.read(0.0):
                if isinstance(item, VitalSample):
                    out.append((item.time, item.parameter, item.value, item.status))
                elif isinstance(item, WaveChunk):
                    out.append((item.time, tuple(np.round(item.values, 5))))
        return out

    a = read_all(0.7)
    b = read_all(13.0)
    assert a[: len(b)] == b[: len(a)] and len(a) > 3000
    other = SimulatedPatient(T0, "artifact", seed=12)
    first_other = [(i.time, i.value) for i in run_patient_for(other, 60) if isinstance(i, VitalSample)]
    first_a = [(t, v) for (t, _p, v, _s) in [x for x in a if len(x) == 4][: len(first_other)]]
    assert first_other != first_a


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        SimulatedPatient(T0, "nonsense")
    assert set(SCENARIOS) == {"normal", "hypertensive", "desaturation", "bradycardia", "link-loss", "artifact"}

"""The GE S/5 emulator and the ge-s5 driver on the two ends of a real pseudo-terminal pair."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from ge_s5_support import EmulatorThread, PtyPair, wait_for

from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.driver import GeS5Driver
from kapmonitor.drivers.ge_s5.emulator import GeS5MonitorState, run_emulator
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, RawFrame, Status, VitalSample, WaveChunk


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path)
    yield pair
    pair.close()


def read_for(driver: GeS5Driver, seconds: float) -> list[Item]:
    items: list[Item] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        items.extend(driver.read(0.05))
    return items


def test_driver_gets_vitals_pleth_and_each_nibp_once(pty: PtyPair) -> None:
    emu = EmulatorThread(run_emulator, pty.monitor_end, speed=12.0)
    time.sleep(0.3)
    driver = GeS5Driver(DriverOptions(port=pty.pc_end), RealClock())
    driver.open()
    try:
        items = read_for(driver, 4.0)  # ~48 monitor seconds: one cuff cycle (30 s) completes
    finally:
        driver.close()
        emu.halt()
    vitals = [i for i in items if isinstance(i, VitalSample)]
    hr = [s for s in vitals if s.parameter is Parameter.HR and s.valid]
    spo2 = [s for s in vitals if s.parameter is Parameter.SPO2 and s.valid]
    assert len(hr) >= 25 and all(40 <= s.value <= 140 for s in hr if s.value is not None)
    assert spo2 and all(90 <= s.value <= 100 for s in spo2 if s.value is not None)
    assert [s for s in vitals if s.parameter is Parameter.PULSE_RATE and s.valid]
    nibp = [s for s in vitals if s.parameter is Parameter.NIBP_SYS]
    assert nibp[0].status is Status.MEASURING
    results = [s for s in nibp if s.valid]
    assert len(results) == 1  # shown in every record, emitted once
    mid = results[0].measurement_id
    assert {s.parameter for s in vitals if s.measurement_id == mid} == {
        Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN, Parameter.NIBP_PULSE}
    waves = [i for i in items if isinstance(i, WaveChunk)]
    assert len(waves) >= 25 and all(w.parameter is Parameter.PLETH and len(w.values) == 100 for w in waves)
    tx = [i for i in items if isinstance(i, RawFrame) and i.direction == "tx"]
    rx = [i for i in items if isinstance(i, RawFrame) and i.direction == "rx"]
    assert len(tx) == 3 and tx[0].data == p.frame(p.phdb_request(p.PH_DISPL, 5, p.CLASS_MASK_ALL))
    assert sum(len(r.data) for r in rx) == driver.stats.bytes_in
    assert driver.stats.checksum_errors == 0


def test_stop_requests_are_honoured(pty: PtyPair) -> None:
    emu = EmulatorThread(run_emulator, pty.monitor_end, speed=10.0)
    time.sleep(0.3)
    driver = GeS5Driver(DriverOptions(port=pty.pc_end, waves=False), RealClock())
    driver.open()
    try:
        items = read_for(driver, 1.0)
        assert any(isinstance(i, VitalSample) for i in items)
        assert not any(isinstance(i, WaveChunk) for i in items)  # not requested, not sent
    finally:
        driver.close()  # sends the stop requests
    try:
        with serial.Serial(pty.pc_end, 19200, parity="E", timeout=0.1) as port:
            time.sleep(0.5)
            port.reset_input_buffer()
            time.sleep(1.0)  # ten monitor seconds at speed 10
            assert port.read(4096) == b""
    finally:
        emu.halt()


def test_monitor_state_label_bits_follow_the_cuff() -> None:
    state = GeS5MonitorState(SimulatedPatient(1_700_000_000.0, "normal", 3))
    state.handle(p.phdb_request(p.PH_DISPL, 5))
    state.handle(p.phdb_request(p.PH_AUX_INFO, 5))
    state.handle(p.waveform_request([p.WF_PLETH, p.WF_ECG1]))
    assert state.displ_on and state.aux_on and state.waves == [p.WF_PLETH, p.WF_ECG1]
    labels = []
    for _ in range(120):
        t, _silent = state.advance()
        labels.append(state.nibp_label(t + 1))
    assert labels[0] & p.NIBP_MEASURING  # first cuff cycle at start
    assert not labels[40] & p.NIBP_MEASURING and not labels[40] & p.NIBP_OLDER_60S
    assert labels[110] & p.NIBP_OLDER_60S
    rec = state.displayed_record(1_700_000_121)
    hdr = p.parse_header(rec)
    assert [typ for _, typ in hdr.subrecords] == [p.PH_DISPL] * 4 + [p.PH_AUX_INFO]
    assert hdr.r_len == len(rec) == 40 + 4 * 278 + 114
    state.handle(p.waveform_request([], stop=True))
    assert state.wave_record(1_700_000_121) is None
    state.handle(p.phdb_request(p.PH_DISPL, 0, 0))
    assert not state.displ_on


def test_unplug_and_replug_mid_stream(pty: PtyPair) -> None:
    emu = EmulatorThread(run_emulator, pty.monitor_end, speed=10.0)
    time.sleep(0.3)
    driver = GeS5Driver(DriverOptions(port=pty.pc_end), RealClock())
    driver.open()
    from kapmonitor.drivers.errors import LinkLostError, PortOpenError

    try:
        assert any(isinstance(i, VitalSample) for i in read_for(driver, 0.8))
        pty.unplug()
        with pytest.raises(LinkLostError):
            read_for(driver, 2.0)
        driver.close()
        with pytest.raises(PortOpenError):
            driver.open()
        pty.replug()
        assert wait_for(lambda: _try_open(driver), 5.0)
        items = read_for(driver, 1.5)
        assert any(isinstance(i, VitalSample) and i.valid for i in items)
    finally:
        driver.close()
        emu.halt()


def _try_open(driver: GeS5Driver) -> bool:
    from kapmonitor.drivers.errors import PortOpenError

    try:
        driver.open()
    except PortOpenError:
        return False
    return True
